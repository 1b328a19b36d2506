"""`ollama-mcp`: `serve` (the default) runs the MCP server; `doctor` and `config` help set it up."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from server.app import build_server
from server.banner import show_banner
from server.entry import resume_collector
from server.http_security import InsecureBind, check_bind, serve_http
from server.settings import Settings, parse_args
from server.stdio import serve_stdio
from server.tools_api import SharedStateUnavailable, sync_ping, unavailable_at_start

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from server.state import AppState


def main(argv: Sequence[str] | None = None) -> None:
    settings = parse_args(argv)
    # stdout is the protocol on stdio: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=settings.log_level)
    if settings.command != "serve":
        resume_collector()
    if settings.command == "doctor":
        sys.exit(doctor(settings))
    if settings.command == "config":
        sys.exit(config(settings))
    serve(settings)


def doctor(settings: Settings) -> int:
    from server.doctor import run_doctor  # imported here: serving never needs it

    report = run_doctor(settings)
    sys.stdout.write(report.json() if settings.json_output else report.text())
    return 0 if report.ok else 1


def config(settings: Settings) -> int:
    """The snippet goes to stdout (to paste or to pipe); where it goes, to stderr."""
    from server.client_config import snippet  # imported here: serving never needs it

    try:
        text, where = snippet(settings, settings.client or "")
    except ValueError as exc:
        sys.stderr.write(f"ollama-mcp config: {exc}\n")
        return 2
    sys.stdout.write(text)
    sys.stderr.write(f"# {where}\n")
    return 0


def serve(settings: Settings) -> None:
    check_shared_state(settings)
    if settings.transport == "stdio":
        show_banner(settings)
        anyio.run(serve_stdio, built(settings))
        return
    try:
        check_bind(settings)  # before anything is built or bound
    except InsecureBind as exc:
        sys.exit(f"ollama-mcp: {exc}")
    show_banner(settings)
    serve_http(built(settings), settings)


def built(settings: Settings) -> MCPServer[AppState]:
    server = build_server(settings)
    resume_collector()  # start-up is over: what it made lives as long as the process
    return server


def check_shared_state(settings: Settings) -> None:
    """With --state-url, Redis must answer before anything starts: a replica that went on with
    state of its own would split the replicas."""
    if settings.state_url is None:
        return
    try:
        sync_ping(settings.state_url, settings.state_password, settings.state_ca_file)
    except SharedStateUnavailable as exc:
        sys.exit(f"ollama-mcp: {unavailable_at_start(exc)}")


if __name__ == "__main__":
    main()
