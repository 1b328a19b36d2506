"""Server settings: command-line flags, with environment fallbacks where Ollama defines one."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Transport = Literal["stdio", "streamable-http"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


@dataclass(frozen=True)
class Settings:
    ollama_host: str | None = None  # None: OLLAMA_HOST, else http://127.0.0.1:11434
    transport: Transport = "stdio"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    allow_dirs: tuple[Path, ...] = field(default_factory=tuple)
    read_only: bool = False
    enable_push: bool = False
    log_level: LogLevel = "WARNING"


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="ollama-mcp",
        description="MCP server for a local Ollama: models, Modelfiles, adapters, inference.",
    )
    parser.add_argument(
        "--ollama-host",
        default=os.environ.get("OLLAMA_HOST") or None,
        help="Ollama base URL or host[:port] (default: $OLLAMA_HOST, else 127.0.0.1:11434)",
    )
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="bind address for streamable-http")
    parser.add_argument("--port", type=int, default=8000, help="port for streamable-http")
    parser.add_argument(
        "--allow-dir",
        action="append",
        default=[],
        type=Path,
        help="a folder whose files the server may read (repeatable)",
    )
    parser.add_argument("--read-only", action="store_true", help="register no tool that writes")
    parser.add_argument("--enable-push", action="store_true", help="allow pushing to a registry")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        help="stderr log level",
    )
    args = parser.parse_args(argv)
    return Settings(
        ollama_host=args.ollama_host,
        transport=args.transport,
        http_host=args.host,
        http_port=args.port,
        allow_dirs=tuple(p.expanduser().resolve() for p in args.allow_dir),
        read_only=args.read_only,
        enable_push=args.enable_push,
        log_level=args.log_level,
    )
