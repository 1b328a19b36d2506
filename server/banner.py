"""What `serve` says on a terminal before serving: what it is, where it looks for Ollama and
whether Ollama answered, and how to get a client configuration. On a pipe (an MCP client) it
says nothing: there the first bytes belong to the protocol's peer, and stderr noise is clutter."""

from __future__ import annotations

import sys
from importlib import metadata
from typing import TextIO

import anyio

from server.settings import Settings

DISTRIBUTION = "ollama-connector-mcp"


def should_show(stdin: TextIO | None = None) -> bool:
    stream = sys.stdin if stdin is None else stdin
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed stdin
        return False


def banner(settings: Settings) -> str:
    # Imported here: on a pipe (an MCP client) serving never needs them.
    from server.client_config import CLIENTS
    from server.doctor import START_HINT, choose_host, probe_ollama

    lines = [f"{DISTRIBUTION} {_version()}: an MCP server for Ollama, {_transport(settings)}"]
    host = choose_host(settings)
    if host.url is None:
        lines.append(f"Ollama: {host.error}")
    else:
        probe = anyio.run(probe_ollama, host.url)
        if probe.answered:
            models = "" if probe.models is None else f", {probe.models} model(s)"
            answer = f"answered (version {probe.version}{models})"
        else:
            answer = f"did not answer: {START_HINT}"
        lines.append(f"Ollama: {host.url} ({host.describe()}): {answer}")
    others = ", ".join(c.slug for c in CLIENTS[1:])
    lines.append(
        f"Client config: `ollama-mcp config {CLIENTS[0].slug}` (or {others}); "
        "`ollama-mcp doctor` checks the setup"
    )
    return "\n".join(lines) + "\n"


def show_banner(settings: Settings) -> None:
    """Print the banner to stderr when stdin is a terminal."""
    if should_show():
        sys.stderr.write(banner(settings))
        sys.stderr.flush()


def _transport(settings: Settings) -> str:
    if settings.transport == "stdio":
        return "on stdio: it waits for an MCP client on stdin (Ctrl-C to stop)"
    host = f"[{settings.http_host}]" if ":" in settings.http_host else settings.http_host
    gate = "bearer token required" if settings.auth_token else "no token"
    mode = ", stateless" if settings.stateless else ""
    return f"on http://{host}:{settings.http_port}/mcp ({gate}{mode}; Ctrl-C to stop)"


def _version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "(not installed)"
