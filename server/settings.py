"""Server settings: every flag, its environment twin and its default, each written once.

Precedence: a flag on the command line, else its environment variable, else the default.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from server.tools_api import host_specs, split_hosts

Transport = Literal["stdio", "streamable-http"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
Command = Literal["serve", "doctor", "config"]

TOOLSETS = ("models", "registry", "modelfile", "packaging", "inference", "library", "web")
# `web` sends queries and URLs to ollama.com (through the user's Ollama): only when asked for.
DEFAULT_TOOLSETS = tuple(name for name in TOOLSETS if name != "web")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_CACHE_TTL = 24 * 3600.0
DEFAULT_PULL_HISTORY = 3600.0
DEFAULT_STATE_PREFIX = "ollama-mcp:"
DEFAULT_STATE_LOCK_SECONDS = 15.0
STATE_SCHEMES = ("redis://", "rediss://")

# flag destination -> environment twin
ENV_TWINS: Mapping[str, str] = {
    "ollama_host": "OLLAMA_HOST",
    "ollama_hosts": "OLLAMA_MCP_HOSTS",
    "allow_dirs": "OLLAMA_MCP_ALLOW_DIRS",
    "read_only": "OLLAMA_MCP_READ_ONLY",
    "toolsets": "OLLAMA_MCP_TOOLSETS",
    "allow_push": "OLLAMA_MCP_ALLOW_PUSH",
    "no_confirm": "OLLAMA_MCP_NO_CONFIRM",
    "cache_dir": "OLLAMA_MCP_CACHE_DIR",
    "cache_ttl": "OLLAMA_MCP_CACHE_TTL",
    "pull_history": "OLLAMA_MCP_TASK_HISTORY",  # OLLAMA_MCP_PULL_HISTORY, its old name, too
    "log_level": "OLLAMA_MCP_LOG_LEVEL",
    "transport": "OLLAMA_MCP_TRANSPORT",
    "http_host": "OLLAMA_MCP_HTTP_HOST",
    "http_port": "OLLAMA_MCP_HTTP_PORT",
    "stateless": "OLLAMA_MCP_STATELESS",
    "auth_token": "OLLAMA_MCP_AUTH_TOKEN",
    "state_url": "OLLAMA_MCP_STATE_URL",
    "state_password": "OLLAMA_MCP_STATE_PASSWORD",
    "state_prefix": "OLLAMA_MCP_STATE_PREFIX",
    "state_lock_seconds": "OLLAMA_MCP_STATE_LOCK_SECONDS",
    "state_ca_file": "OLLAMA_MCP_STATE_CA_FILE",
}


OLD_PULL_HISTORY_ENV = "OLLAMA_MCP_PULL_HISTORY"  # before pulls became tasks


class SettingsError(ValueError):
    """A flag or environment variable has a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    command: Command = "serve"
    ollama_host: str | None = None  # None: the connector's own OLLAMA_HOST/default rule
    # Several hosts, or one named: `[name=]URL` specs, default first (empty: ollama_host alone).
    ollama_hosts: tuple[str, ...] = ()
    allow_dirs: tuple[Path, ...] = ()
    read_only: bool = False
    toolsets: tuple[str, ...] = DEFAULT_TOOLSETS
    allow_push: bool = False
    # Never ask the person before a delete or an overwrite (unattended agents); see confirm.py.
    no_confirm: bool = False
    cache_dir: Path | None = None  # None: the connector's default cache folder
    cache_ttl: float = DEFAULT_CACHE_TTL
    pull_history: float = DEFAULT_PULL_HISTORY  # seconds a finished pull's record is kept
    log_level: LogLevel = "WARNING"
    transport: Transport = "stdio"
    http_host: str = "127.0.0.1"  # loopback unless asked otherwise
    http_port: int = 8000
    stateless: bool = False
    auth_token: str | None = field(default=None, repr=False)  # never in logs or reprs
    # Shared state for replicas (Redis); None: sqlite and files on this machine, as always.
    state_url: str | None = field(default=None, repr=False)  # may hold a password
    state_password: str | None = field(default=None, repr=False)
    state_prefix: str = DEFAULT_STATE_PREFIX
    state_lock_seconds: float = DEFAULT_STATE_LOCK_SECONDS  # how long a dead replica's lock lasts
    state_ca_file: Path | None = None  # rediss://: the CA that signed Redis's certificate
    # subcommand arguments
    json_output: bool = False  # doctor --json
    client: str | None = None  # config CLIENT


def parse_args(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `argv` (default `sys.argv[1:]`) over `env` (default `os.environ`)."""
    environ = os.environ if env is None else env
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _settings(vars(args), environ)
    except SettingsError as exc:
        parser.error(str(exc))


def _settings(given: Mapping[str, object], env: Mapping[str, str]) -> Settings:
    def value(name: str) -> str | None:
        flag = given.get(name)
        if flag is not None:
            return str(flag) if not isinstance(flag, list) else None
        raw = env.get(ENV_TWINS[name], "").strip()
        return raw or None

    dirs = given.get("allow_dirs")
    if isinstance(dirs, list) and dirs:
        allow = tuple(Path(d).expanduser() for d in dirs)
    else:
        raw_dirs = env.get(ENV_TWINS["allow_dirs"], "")
        allow = tuple(Path(d).expanduser() for d in raw_dirs.split(os.pathsep) if d.strip())
    cache_dir = value("cache_dir")
    single, hosts = _ollama_hosts(given.get("ollama_host"), env)
    return Settings(
        command=str(given.get("command") or "serve"),  # type: ignore[arg-type]
        ollama_host=single if single is not None else value("ollama_host"),
        ollama_hosts=hosts,
        allow_dirs=allow,
        read_only=_flag(given.get("read_only"), env, "read_only"),
        toolsets=_toolsets(value("toolsets")),
        allow_push=_flag(given.get("allow_push"), env, "allow_push"),
        no_confirm=_flag(given.get("no_confirm"), env, "no_confirm"),
        cache_dir=Path(cache_dir).expanduser() if cache_dir else None,
        cache_ttl=_number(value("cache_ttl"), "cache TTL", DEFAULT_CACHE_TTL),
        pull_history=_number(
            value("pull_history") or env.get(OLD_PULL_HISTORY_ENV, "").strip() or None,
            "task history",
            DEFAULT_PULL_HISTORY,
        ),
        log_level=_log_level(value("log_level")),
        transport=_transport(value("transport")),
        http_host=value("http_host") or "127.0.0.1",
        http_port=int(_number(value("http_port"), "port", 8000)),
        stateless=_flag(given.get("stateless"), env, "stateless"),
        auth_token=value("auth_token"),
        state_url=_state_url(value("state_url")),
        state_password=value("state_password"),
        state_prefix=_state_prefix(value("state_prefix")),
        state_lock_seconds=_number(
            value("state_lock_seconds"), "state lock seconds", DEFAULT_STATE_LOCK_SECONDS
        ),
        state_ca_file=_state_ca_file(value("state_ca_file"), value("state_url")),
        json_output=bool(given.get("json_output")),
        client=str(given["client"]) if given.get("client") else None,
    )


def _ollama_hosts(given: object, env: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    """`--ollama-host` (repeatable) over `OLLAMA_MCP_HOSTS`. One bare URL is today's single
    host (checked where it is used, as always); several, or a named one, are checked here."""
    specs = list(given) if isinstance(given, list) else []
    specs = specs or split_hosts(env.get(ENV_TWINS["ollama_hosts"], ""))
    if not specs:
        return None, ()
    if len(specs) == 1 and "=" not in specs[0]:
        return specs[0], ()
    try:
        host_specs(specs)
    except ValueError as exc:
        raise SettingsError(f"--ollama-host / {ENV_TWINS['ollama_hosts']}: {exc}") from None
    return None, tuple(specs)


def _flag(given: object, env: Mapping[str, str], name: str) -> bool:
    if given:
        return True
    raw = env.get(ENV_TWINS[name], "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{ENV_TWINS[name]}={raw!r}: use 1/true/yes/on or 0/false/no/off")


def _toolsets(raw: str | None) -> tuple[str, ...]:
    """Comma-separated toolset names; `default` stands for every toolset but `web`, `all` for
    every toolset (`web` included), so `default,web` adds web search and fetch."""
    if raw is None:
        return DEFAULT_TOOLSETS
    chosen: list[str] = []
    for part in (part.strip().lower() for part in raw.split(",")):
        expanded = {"all": TOOLSETS, "default": DEFAULT_TOOLSETS}.get(part, (part,) if part else ())
        chosen.extend(expanded)
    unique = tuple(dict.fromkeys(chosen))
    unknown = [name for name in unique if name not in TOOLSETS]
    if unknown or not unique:
        raise SettingsError(
            f"unknown toolset(s) {', '.join(unknown) or repr(raw)}; choose from "
            f"{', '.join(TOOLSETS)} (comma-separated), 'default' (all but web) or 'all'"
        )
    return unique


def _number(raw: str | None, what: str, default: float) -> float:
    if raw is None:
        return default
    try:
        number = float(raw)
    except ValueError:
        raise SettingsError(f"{what} {raw!r} is not a number") from None
    if number < 0:
        raise SettingsError(f"{what} {raw!r} must not be negative")
    return number


def _state_url(raw: str | None) -> str | None:
    if raw is not None and not raw.startswith(STATE_SCHEMES):
        raise SettingsError(
            f"state URL {raw.split('@')[-1]!r}: use redis://HOST:PORT/DB, or rediss:// for TLS"
        )
    return raw


def _state_ca_file(raw: str | None, url: str | None) -> Path | None:
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if url is None or not url.startswith("rediss://"):
        raise SettingsError(
            f"state CA file {raw!r}: it is for TLS, so use it with --state-url rediss://HOST:PORT/DB"
        )
    if not path.is_file():
        raise SettingsError(f"state CA file {raw!r} is not a file: give the CA's PEM file")
    return path


def _state_prefix(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_STATE_PREFIX
    if not raw.strip() or any(c.isspace() for c in raw):
        raise SettingsError(f"state prefix {raw!r}: use a word without spaces, e.g. team-a:")
    return raw


def _log_level(raw: str | None) -> LogLevel:
    level = (raw or "WARNING").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"log level {raw!r}: choose from {', '.join(LOG_LEVELS)}")
    return level  # type: ignore[return-value]


def _transport(raw: str | None) -> Transport:
    transport = raw or "stdio"
    if transport not in ("stdio", "streamable-http"):
        raise SettingsError(f"transport {raw!r}: choose stdio or streamable-http")
    return transport  # type: ignore[return-value]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ollama-mcp",
        description="MCP server for a local Ollama: models, Modelfiles, adapters, inference.",
    )
    _add_common(parser, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="run the MCP server (the default)")
    doctor = commands.add_parser("doctor", help="check Ollama, the cache and the allowed folders")
    doctor.add_argument("--json", dest="json_output", action="store_true", help="one JSON object")
    config = commands.add_parser("config", help="print the configuration snippet for a client")
    config.add_argument("client", help="the MCP client, e.g. claude-desktop, cursor, vscode")
    for sub in (commands.choices["serve"], doctor, config):
        _add_common(sub, argparse.SUPPRESS)
    return parser


def _add_common(parser: argparse.ArgumentParser, default: object) -> None:
    """The flags every command takes; SUPPRESS keeps a subcommand from resetting a flag given
    before it (`ollama-mcp --read-only serve`)."""
    add = parser.add_argument
    add(
        "--ollama-host",
        action="append",
        default=default,
        metavar="[NAME=]URL",
        help="Ollama's address (env OLLAMA_HOST); repeat for several hosts, the first the "
        "default (env OLLAMA_MCP_HOSTS, comma-separated)",
    )
    add(
        "--allow-dir",
        dest="allow_dirs",
        action="append",
        default=default,
        metavar="DIR",
        help="a folder whose files tools may read; repeatable (env OLLAMA_MCP_ALLOW_DIRS, "
        "path-separated)",
    )
    add(
        "--read-only",
        action="store_true",
        default=default,
        help="leave out every tool that changes state",
    )
    add(
        "--toolsets",
        default=default,
        help=f"comma-separated groups: {', '.join(TOOLSETS)}; 'default' is all but web "
        "(the default), 'all' includes web; e.g. default,web",
    )
    add(
        "--allow-push",
        action="store_true",
        default=default,
        help="offer push_model (off by default)",
    )
    add(
        "--no-confirm",
        action="store_true",
        default=default,
        help="never ask the person before deleting or replacing a model, for unattended "
        "agents (env OLLAMA_MCP_NO_CONFIRM)",
    )
    add("--cache-dir", default=default, help="metadata cache folder (env OLLAMA_MCP_CACHE_DIR)")
    add(
        "--cache-ttl",
        default=default,
        metavar="SECONDS",
        help="metadata cache lifetime (default 86400)",
    )
    add(
        "--task-history",
        "--pull-history",  # its name before pulls became tasks
        dest="pull_history",
        default=default,
        metavar="SECONDS",
        help="how long ended tasks and pulls are remembered (default 3600)",
    )
    add("--log-level", default=default, type=str.upper, help="stderr log level (default WARNING)")
    add("--transport", default=default, help="stdio (default) or streamable-http")
    add(
        "--host",
        dest="http_host",
        default=default,
        help="bind address for streamable-http (default 127.0.0.1)",
    )
    add("--port", dest="http_port", default=default, help="port for streamable-http (default 8000)")
    add(
        "--stateless",
        action="store_true",
        default=default,
        help="stateless streamable-http (2026-07-28)",
    )
    add(
        "--auth-token",
        default=default,
        help="bearer token for streamable-http (env OLLAMA_MCP_AUTH_TOKEN)",
    )
    add(
        "--state-url",
        default=default,
        metavar="URL",
        help="share state between replicas in Redis: redis://HOST:PORT/DB or rediss:// "
        "(env OLLAMA_MCP_STATE_URL; password in it or in OLLAMA_MCP_STATE_PASSWORD)",
    )
    add(
        "--state-ca-file",
        default=default,
        metavar="PEM",
        help="rediss://: the CA certificate Redis's is checked against "
        "(env OLLAMA_MCP_STATE_CA_FILE; default: the system's CAs)",
    )
    add(
        "--state-prefix",
        default=default,
        help=f"prefix of every Redis key (default {DEFAULT_STATE_PREFIX})",
    )
    add(
        "--state-lock-seconds",
        default=default,
        metavar="SECONDS",
        help="how soon a dead replica's pulls are declared lost (default 15)",
    )
