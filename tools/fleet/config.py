"""Which Ollama hosts the server talks to, from `--ollama-host [name=]URL` (repeatable) or
`OLLAMA_MCP_HOSTS` (comma-separated, the same syntax).

A bare URL is named after its host name (`http://10.0.0.5:11434` is `10.0.0.5`); the first host
is the default. With neither given, the one host is `OLLAMA_HOST` (or Ollama's default), as a
single-host server always had it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from tools.api.host import resolve_base_url
from tools.errors import InvalidHost

HOSTS_ENV = "OLLAMA_MCP_HOSTS"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@dataclass(frozen=True)
class HostSpec:
    name: str
    url: str  # a resolved base URL, e.g. http://10.0.0.5:11434


def parse_host_spec(spec: str) -> HostSpec:
    """`gpu=http://10.0.0.5:11434`, or a bare address named after its host name."""
    text = spec.strip()
    name, sep, address = text.partition("=")
    if not sep:
        url = resolve_base_url(text) if text else ""
        if not url:
            raise InvalidHost("an empty host: give [name=]URL, e.g. gpu=http://10.0.0.5:11434")
        return HostSpec(urlsplit(url).hostname or url, url)
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise InvalidHost(
            f"host name {name!r} in {text!r}: use letters, digits, '.', '_' or '-' "
            "(e.g. gpu=http://10.0.0.5:11434)"
        )
    if not address.strip():
        raise InvalidHost(f"host {name!r} has no address: give {name}=URL")
    return HostSpec(name, resolve_base_url(address.strip()))


def host_specs(specs: Sequence[str], single: str | None = None) -> tuple[HostSpec, ...]:
    """The configured hosts, default first: `specs` when given, else the one host `single`
    (None: `OLLAMA_HOST` or Ollama's default address). Two hosts of one name are refused."""
    if not specs:
        url = resolve_base_url(single)
        return (HostSpec(urlsplit(url).hostname or url, url),)
    hosts = tuple(parse_host_spec(spec) for spec in specs)
    seen: dict[str, HostSpec] = {}
    for host in hosts:
        if host.name in seen:
            raise InvalidHost(
                f"two hosts are named {host.name!r} ({seen[host.name].url} and {host.url}): "
                "name each one, e.g. laptop=http://127.0.0.1:11434"
            )
        seen[host.name] = host
    return hosts


def split_hosts(raw: str) -> list[str]:
    """`OLLAMA_MCP_HOSTS`: comma-separated specs, blanks ignored."""
    return [part.strip() for part in raw.split(",") if part.strip()]
