"""Server settings, from the command line."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Literal

Transport = Literal["stdio", "streamable-http"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


@dataclass(frozen=True)
class Settings:
    transport: Transport = "stdio"
    http_host: str = "127.0.0.1"  # loopback unless asked otherwise
    http_port: int = 8000
    log_level: LogLevel = "WARNING"


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="ollama-mcp",
        description="MCP server for a local Ollama: models, Modelfiles, adapters, inference.",
    )
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="bind address for streamable-http")
    parser.add_argument("--port", type=int, default=8000, help="port for streamable-http")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        help="stderr log level",
    )
    args = parser.parse_args(argv)
    return Settings(
        transport=args.transport,
        http_host=args.host,
        http_port=args.port,
        log_level=args.log_level,
    )
