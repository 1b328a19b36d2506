"""`ollama-mcp`: `serve` (the default) runs the MCP server; `doctor` and `config` help set it up."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from server.app import build_server
from server.settings import Settings, parse_args


def main(argv: Sequence[str] | None = None) -> None:
    settings = parse_args(argv)
    # stdout is the protocol on stdio: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=settings.log_level)
    if settings.command == "serve":
        serve(settings)
    else:
        sys.exit(f"ollama-mcp {settings.command}: not built yet")


def serve(settings: Settings) -> None:
    server = build_server(settings)
    if settings.transport == "stdio":
        server.run()
    else:
        server.run(
            "streamable-http",
            host=settings.http_host,
            port=settings.http_port,
            stateless_http=settings.stateless,
        )


if __name__ == "__main__":
    main()
