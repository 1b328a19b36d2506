"""`ollama-mcp`: run the MCP server over stdio (default) or streamable HTTP."""

from __future__ import annotations

import logging
import sys

from server.app import build_server
from server.settings import parse_args


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    # stdout is the protocol on stdio: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=settings.log_level)
    server = build_server(settings)
    if settings.transport == "stdio":
        server.run()
    else:
        server.run("streamable-http", host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
