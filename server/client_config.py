"""`ollama-mcp config CLIENT`: the snippet that starts this server, in that client's own format.

Every client gets the same launch (the absolute path of the installed command, `--allow-dir`
folders, `OLLAMA_HOST`), rendered as the client documents it: JSON with `mcpServers` (Claude
Desktop, Cursor, Windsurf, Cline, Gemini CLI), `servers` (VS Code), `context_servers` (Zed), a
YAML block (Continue), TOML (Codex CLI), or a `claude mcp add` line (Claude Code).

`python -m server.client_config DIR` writes the same snippets, with the bare command name, as the
files in `client_configs/`.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.doctor import choose_host
from server.settings import Settings
from server.tools_api import host_specs

SERVER_KEY = "ollama"  # the name each client shows for this server
COMMAND_NAME = "ollama-mcp"


class UnknownClient(ValueError):
    """`config` was asked for a client it has no format for."""


@dataclass(frozen=True)
class Launch:
    """How a client starts the server: a command, its arguments, its environment."""

    command: str
    args: tuple[str, ...]
    env: dict[str, str]

    def server_entry(self, **extra: Any) -> dict[str, Any]:
        return {"command": self.command, "args": list(self.args), "env": self.env, **extra}


@dataclass(frozen=True)
class ClientFormat:
    slug: str
    title: str
    filename: str  # in client_configs/
    where: str  # where the snippet goes
    render: Callable[[Launch], str]
    aliases: tuple[str, ...] = ()


def installed_command() -> tuple[str, ...]:
    """The absolute path of this installation's `ollama-mcp`: beside the running interpreter
    (a venv, pipx or uv tool environment), else on PATH, else this interpreter with `-m server`."""
    beside = shutil.which(COMMAND_NAME, path=str(Path(sys.executable).parent))
    found = beside or shutil.which(COMMAND_NAME)
    if found:
        return (str(Path(found).absolute()),)
    return (str(Path(sys.executable).absolute()), "-m", "server")


def launch_for(settings: Settings, command: tuple[str, ...] | None = None) -> Launch:
    """The launch for these settings; raises ValueError for an unusable --ollama-host."""
    program, *prefix = command or installed_command()
    host = choose_host(settings)
    if host.url is None:
        raise ValueError(f"--ollama-host: {host.error}")
    args = list(prefix)
    for folder in settings.allow_dirs:
        args += ["--allow-dir", str(folder.resolve())]
    if settings.ollama_hosts:  # several hosts (checked by the settings), named as given
        specs = ",".join(f"{h.name}={h.url}" for h in host_specs(settings.ollama_hosts))
        return Launch(program, tuple(args), {"OLLAMA_MCP_HOSTS": specs})
    return Launch(program, tuple(args), {"OLLAMA_HOST": host.url})


# --- renderers -------------------------------------------------------------------------------


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _mcp_servers(launch: Launch) -> str:
    return _json({"mcpServers": {SERVER_KEY: launch.server_entry()}})


def _vscode(launch: Launch) -> str:
    return _json({"servers": {SERVER_KEY: {"type": "stdio", **launch.server_entry()}}})


def _zed(launch: Launch) -> str:
    return _json({"context_servers": {SERVER_KEY: launch.server_entry()}})


def _cline(launch: Launch) -> str:
    entry = launch.server_entry(disabled=False, autoApprove=[])
    return _json({"mcpServers": {SERVER_KEY: entry}})


def _quoted(text: str) -> str:
    """A double-quoted string valid in TOML and YAML alike (JSON's escapes, DEL escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _codex(launch: Launch) -> str:
    args = ", ".join(_quoted(a) for a in launch.args)
    lines = [
        f"[mcp_servers.{SERVER_KEY}]",
        f"command = {_quoted(launch.command)}",
        f"args = [{args}]",
        "",
        f"[mcp_servers.{SERVER_KEY}.env]",
        *(f"{name} = {_quoted(value)}" for name, value in launch.env.items()),
    ]
    return "\n".join(lines) + "\n"


def _continue(launch: Launch) -> str:
    args = "".join(f"\n      - {_quoted(a)}" for a in launch.args) if launch.args else " []"
    env = "".join(f"\n      {name}: {_quoted(value)}" for name, value in launch.env.items())
    return (
        "name: Ollama MCP server\n"
        "version: 0.1.0\n"
        "schema: v1\n"
        "mcpServers:\n"
        f"  - name: {SERVER_KEY}\n"
        "    type: stdio\n"
        f"    command: {_quoted(launch.command)}\n"
        f"    args:{args}\n"
        f"    env:{env or ' {}'}\n"
    )


def _claude_code(launch: Launch) -> str:
    words = ["claude", "mcp", "add", SERVER_KEY, "--transport", "stdio", "--scope", "user"]
    for name, value in launch.env.items():
        words += ["--env", f"{name}={value}"]
    words += ["--", launch.command, *launch.args]
    return shlex.join(words) + "\n"


CLIENTS: tuple[ClientFormat, ...] = (
    ClientFormat(
        "claude-desktop",
        "Claude Desktop",
        "claude_desktop_config.json",
        "merge into claude_desktop_config.json (Claude > Settings > Developer > Edit Config), "
        "then restart Claude Desktop",
        _mcp_servers,
        ("claude",),
    ),
    ClientFormat(
        "claude-code",
        "Claude Code",
        "claude_code.sh",
        "run this line in a terminal (leave out `--scope user` to add it to this project only)",
        _claude_code,
    ),
    ClientFormat(
        "cursor",
        "Cursor",
        "cursor_mcp.json",
        "~/.cursor/mcp.json for every project, or .cursor/mcp.json in one project",
        _mcp_servers,
    ),
    ClientFormat(
        "vscode",
        "VS Code",
        "vscode_mcp.json",
        ".vscode/mcp.json in a workspace, or the user mcp.json (MCP: Open User Configuration)",
        _vscode,
        ("vs-code", "code"),
    ),
    ClientFormat(
        "windsurf",
        "Windsurf",
        "windsurf_mcp_config.json",
        "~/.codeium/windsurf/mcp_config.json (Cascade > MCP servers > Configure)",
        _mcp_servers,
    ),
    ClientFormat(
        "zed",
        "Zed",
        "zed_settings.json",
        "merge into Zed's settings.json (zed: open settings)",
        _zed,
    ),
    ClientFormat(
        "cline",
        "Cline",
        "cline_mcp_settings.json",
        "cline_mcp_settings.json (MCP Servers > Configure > Configure MCP Servers)",
        _cline,
    ),
    ClientFormat(
        "continue",
        "Continue",
        "continue_ollama.yaml",
        ".continue/mcpServers/ollama.yaml in a workspace",
        _continue,
    ),
    ClientFormat(
        "codex",
        "Codex CLI",
        "codex_config.toml",
        "append to ~/.codex/config.toml (or .codex/config.toml in a trusted project)",
        _codex,
        ("codex-cli",),
    ),
    ClientFormat(
        "gemini",
        "Gemini CLI",
        "gemini_settings.json",
        "merge into ~/.gemini/settings.json (or .gemini/settings.json in a project)",
        _mcp_servers,
        ("gemini-cli",),
    ),
)


def find_client(name: str) -> ClientFormat:
    wanted = name.strip().lower().replace("_", "-").replace(" ", "-")
    for client in CLIENTS:
        if wanted == client.slug or wanted in client.aliases:
            return client
    choices = ", ".join(c.slug for c in CLIENTS)
    raise UnknownClient(f"unknown client {name!r}; choose one of: {choices}")


def snippet(settings: Settings, client_name: str) -> tuple[str, str]:
    """The snippet for `client_name` and a note on where it goes."""
    client = find_client(client_name)
    return client.render(launch_for(settings)), f"{client.title}: {client.where}"


def write_client_configs(folder: Path) -> list[Path]:
    """The shipped files: the bare command name (found on PATH) and Ollama's default address."""
    launch = launch_for(Settings(), command=(COMMAND_NAME,))
    written = []
    for client in CLIENTS:
        path = folder / client.filename
        path.write_text(client.render(launch), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "client_configs")
    for path in write_client_configs(target):
        sys.stderr.write(f"wrote {path}\n")
