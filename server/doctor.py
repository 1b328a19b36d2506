"""`ollama-mcp doctor`: whether everything the server needs is in place, and what to fix if not.

One check per line, in the order a user would fix things: where Ollama is and how that address
was chosen, whether it answers, its version, its models, the cache folder, the allowed folders,
the Redis replicas share (with --state-url), the effective flags. The TTY banner and
`config --ollama-host` take the same facts from here (`choose_host`, `probe_ollama`), so all
three agree on where Ollama is.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import anyio

from server.settings import Settings
from server.tools_api import (
    DEFAULT_BASE_URL,
    HOST_ENV,
    INSTALL_HINT,
    JSON_CREATE_VERSION,
    START_OLLAMA_HINT,
    OllamaClient,
    OllamaError,
    SharedStateUnavailable,
    default_cache_dir,
    host_specs,
    redacted,
    resolve_base_url,
    sync_ping,
)

Status = Literal["ok", "warn", "fail", "skip", "info"]
START_HINT = START_OLLAMA_HINT  # the connector's words for a stopped Ollama, for the banner too
PROBE_TIMEOUT = 3.0  # seconds: a doctor that hangs on a firewalled host helps no one
STATE_FIX = (
    "start Redis there, or fix --state-url / OLLAMA_MCP_STATE_URL (the password: in the URL or "
    "OLLAMA_MCP_STATE_PASSWORD; for rediss://, --state-ca-file), or leave --state-url out"
)
HOST_FIX = (
    f"set {HOST_ENV} (or --ollama-host) to host:port or http://host:port, e.g. 127.0.0.1:11434"
)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        fix = f" -- fix: {self.fix}" if self.fix else ""
        return f"{self.status.upper():<4}  {self.name:<12} {self.detail}{fix}"


@dataclass(frozen=True)
class HostChoice:
    """Ollama's address and how it was chosen; `url` is None when the value is unusable."""

    url: str | None
    source: str  # "--ollama-host", "OLLAMA_HOST" or "default"
    value: str | None
    error: str | None = None

    def describe(self) -> str:
        if self.source == "default":
            return "default, neither --ollama-host nor OLLAMA_HOST set"
        return f"from {self.source}={self.value!r}"


@dataclass(frozen=True)
class OllamaProbe:
    answered: bool
    version: str | None = None
    supports_create: bool | None = None
    models: int | None = None
    error: str | None = None


def choose_host(settings: Settings, env: Mapping[str, str] | None = None) -> HostChoice:
    """The effective Ollama URL. Settings hold the flag or, failing that, `OLLAMA_HOST`; the
    environment tells which of the two it was."""
    environ = os.environ if env is None else env
    value = settings.ollama_host
    if value is None:
        return HostChoice(DEFAULT_BASE_URL, "default", None)
    source = HOST_ENV if environ.get(HOST_ENV, "").strip() == value else "--ollama-host"
    try:
        return HostChoice(resolve_base_url(value), source, value)
    except ValueError as exc:
        return HostChoice(None, source, value, str(exc))


async def probe_ollama(url: str, wait: float = PROBE_TIMEOUT) -> OllamaProbe:
    """Ask Ollama its version and models, without retries: a stopped Ollama answers at once."""
    client = OllamaClient(url, connect_timeout=wait, metadata_timeout=wait, max_retries=0)
    async with client:
        try:
            version = await client.version()
        except OllamaError as exc:
            return OllamaProbe(answered=False, error=str(exc))
        supports_create = await client.server_supports_json_create()
        try:
            models = len((await client.list()).models)
        except OllamaError as exc:
            return OllamaProbe(True, version, supports_create, None, str(exc))
    return OllamaProbe(True, version, supports_create, models)


@dataclass(frozen=True)
class Report:
    checks: list[Check]

    @property
    def ollama_answered(self) -> bool:
        return any(c.name == "ollama" and c.status == "ok" for c in self.checks)

    @property
    def ok(self) -> bool:
        """Exit 0 only when Ollama answers and nothing else failed."""
        return self.ollama_answered and all(c.status != "fail" for c in self.checks)

    def text(self) -> str:
        verdict = "everything is in place" if self.ok else "something needs fixing (see FAIL)"
        return "\n".join([*(c.line() for c in self.checks), f"doctor: {verdict}"]) + "\n"

    def json(self) -> str:
        return json.dumps({"ok": self.ok, "checks": [asdict(c) for c in self.checks]}) + "\n"


def run_doctor(settings: Settings, env: Mapping[str, str] | None = None) -> Report:
    return anyio.run(diagnose, settings, env)


async def diagnose(settings: Settings, env: Mapping[str, str] | None = None) -> Report:
    host = choose_host(settings, env)
    if settings.ollama_hosts:
        checks = await _hosts_checks(settings)
    elif host.url is None:
        checks = [_host_check(host)]
        checks.append(Check("ollama", "fail", "not asked: the address is unusable", HOST_FIX))
        checks += [_skipped("version"), _skipped("models")]
    else:
        checks = [_host_check(host), *_ollama_checks(host.url, await probe_ollama(host.url))]
    checks.append(_cache_check(settings.cache_dir or default_cache_dir()))
    checks += _allow_dir_checks(settings.allow_dirs)
    if settings.state_url is not None:
        checks.append(await _state_check(settings, settings.state_url))
    checks.append(_flags_check(settings))
    return Report(checks)


async def _state_check(settings: Settings, url: str) -> Check:
    """--state-url: whether that Redis answers a PING, as the server's start-up check asks it."""
    where = redacted(url)
    data: dict[str, Any] = {"url": where, "prefix": settings.state_prefix}
    try:
        await anyio.to_thread.run_sync(
            sync_ping, url, settings.state_password, settings.state_ca_file
        )
    except SharedStateUnavailable as exc:
        fix = INSTALL_HINT if "redis package is missing" in exc.detail else STATE_FIX
        detail = f"Redis at {where} did not answer ({exc.detail}): the server will not start"
        return Check("shared state", "fail", detail, fix, data | {"answered": False})
    detail = f"Redis at {where} answered (keys under {settings.state_prefix})"
    return Check("shared state", "ok", detail, data=data | {"answered": True})


async def _hosts_checks(settings: Settings) -> list[Check]:
    """Several hosts (or one named): each one's address, answer, version and models, asked at
    once; each line names its host."""
    specs = host_specs(settings.ollama_hosts)
    probes: dict[str, OllamaProbe] = {}

    async def probe(name: str, url: str) -> None:
        probes[name] = await probe_ollama(url)

    async with anyio.create_task_group() as group:
        for spec in specs:
            group.start_soon(probe, spec.name, spec.url)
    checks: list[Check] = []
    for spec in specs:
        choice = HostChoice(spec.url, "--ollama-host/OLLAMA_MCP_HOSTS", f"{spec.name}={spec.url}")
        for check in [_host_check(choice), *_ollama_checks(spec.url, probes[spec.name])]:
            checks.append(replace(check, detail=f"[{spec.name}] {check.detail}"))
    return checks


def _host_check(host: HostChoice) -> Check:
    data = {"url": host.url, "source": host.source, "value": host.value}
    if host.url is None:
        return Check("ollama host", "fail", str(host.error), HOST_FIX, data)
    return Check("ollama host", "ok", f"{host.url} ({host.describe()})", data=data)


def _skipped(name: str) -> Check:
    return Check(name, "skip", "not checked: Ollama did not answer")


def _ollama_checks(url: str, probe: OllamaProbe) -> list[Check]:
    if not probe.answered:
        detail = f"no answer at {url}"
        fix = f"{START_HINT} (then run `ollama-mcp doctor` again)"
        data = {"answered": False, "error": probe.error}
        return [Check("ollama", "fail", detail, fix, data), _skipped("version"), _skipped("models")]
    checks = [Check("ollama", "ok", f"answered at {url}", data={"answered": True})]
    version_data = {
        "version": probe.version,
        "minimum_for_create": JSON_CREATE_VERSION,
        "supports_create": probe.supports_create,
    }
    if probe.supports_create:
        detail = f"{probe.version} ({JSON_CREATE_VERSION} or newer: create and packaging work)"
        checks.append(Check("version", "ok", detail, data=version_data))
    else:
        detail = f"{probe.version} is older than {JSON_CREATE_VERSION}: create and packaging refuse"
        fix = "upgrade Ollama (https://ollama.com/download)"
        checks.append(Check("version", "warn", detail, fix, version_data))
    if probe.models is None:
        fix = "check Ollama's log; `ollama list` should answer"
        checks.append(Check("models", "fail", f"cannot list models: {probe.error}", fix))
    elif probe.models == 0:
        fix = "pull one, e.g. `ollama pull llama3.2`"
        checks.append(Check("models", "warn", "none installed", fix, {"count": 0}))
    else:
        checks.append(
            Check("models", "ok", f"{probe.models} installed", data={"count": probe.models})
        )
    return checks


def _cache_check(folder: Path) -> Check:
    fix = "set --cache-dir or OLLAMA_MCP_CACHE_DIR to a folder you can write"
    data: dict[str, Any] = {"path": str(folder), "exists": folder.is_dir()}
    if folder.exists() and not folder.is_dir():
        return Check("cache", "fail", f"{folder} exists but is not a folder", fix, data)
    if not folder.exists():
        parent = _nearest_existing(folder)
        data["writable"] = _writable(parent)
        if not data["writable"]:
            detail = f"{folder} does not exist and {parent} is not writable"
            return Check("cache", "fail", detail, fix, data)
        return Check("cache", "ok", f"{folder} (created on first use)", data=data)
    data["writable"] = _writable(folder)
    files = [p for p in folder.rglob("*") if p.is_file()]
    data["entries"] = len(files)
    data["size_bytes"] = sum(p.stat().st_size for p in files)
    summary = f"{folder} ({_entries(data['entries'])}, {_size(data['size_bytes'])})"
    if not data["writable"]:
        return Check("cache", "fail", f"{summary} is not writable", fix, data)
    return Check("cache", "ok", f"{summary}, writable", data=data)


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(folder: Path) -> bool:
    """Really write, as `os.access` is wrong for root and for some network filesystems."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _allow_dir_checks(dirs: tuple[Path, ...]) -> list[Check]:
    if not dirs:
        detail = "none: tools read local files only inside the client's roots"
        return [Check("allow-dir", "info", detail, data={"paths": []})]
    fix = "create it, or remove it from --allow-dir / OLLAMA_MCP_ALLOW_DIRS"
    checks = []
    for folder in dirs:
        path = folder.resolve()
        data = {"path": str(path), "exists": path.is_dir()}
        if not path.is_dir():
            what = "is not a folder" if path.exists() else "does not exist"
            checks.append(Check("allow-dir", "fail", f"{path} {what}", fix, data))
            continue
        data["readable"] = os.access(path, os.R_OK | os.X_OK)
        if not data["readable"]:
            fix_read = f"give this user read access (chmod u+rx {path}) or remove it"
            checks.append(Check("allow-dir", "fail", f"{path} is not readable", fix_read, data))
        else:
            checks.append(Check("allow-dir", "ok", f"{path} (readable)", data=data))
    return checks


def effective_flags(settings: Settings) -> dict[str, Any]:
    """The flags as the server will use them; the token only as set or unset."""
    flags: dict[str, Any] = {
        "transport": settings.transport,
        "read_only": settings.read_only,
        "toolsets": list(settings.toolsets),
        "allow_push": settings.allow_push,
        "no_confirm": settings.no_confirm,
        "cache_ttl": settings.cache_ttl,
        "log_level": settings.log_level,
    }
    if settings.transport == "streamable-http":
        flags |= {
            "host": settings.http_host,
            "port": settings.http_port,
            "stateless": settings.stateless,
            "auth_token": "set" if settings.auth_token else "unset",
        }
    return flags


def _flags_check(settings: Settings) -> Check:
    flags = effective_flags(settings)
    shown = " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in flags.items())
    return Check("flags", "info", shown, data=flags)


def _entries(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'}"
