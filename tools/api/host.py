"""Where Ollama runs: the base URL from an argument or `OLLAMA_HOST` (contract section 8.1).

Every form ollama-python accepts gives the same URL here, with one deliberate difference: the
unspecified addresses `0.0.0.0` and `::` are what a server *binds* to mean "every interface"; a
client cannot connect to them everywhere (Windows refuses), so they become loopback.
"""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit

from tools.errors import InvalidHost

HOST_ENV = "OLLAMA_HOST"
LOOPBACK_HOST = "127.0.0.1"
DEFAULT_PORT = 11434
DEFAULT_BASE_URL = f"http://{LOOPBACK_HOST}:{DEFAULT_PORT}"

_SCHEME_PORTS = {"http": 80, "https": 443}
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?")
_UNSPECIFIED = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def resolve_base_url(host: str | None = None) -> str:
    """The base URL for `host`, else `$OLLAMA_HOST`, else `http://127.0.0.1:11434`.

    Raises `ValueError`, quoting the value, when it cannot be a URL of an Ollama server.
    """
    value = host if host else os.environ.get(HOST_ENV, "")
    value = value.strip()
    if not value:
        return DEFAULT_BASE_URL
    try:
        return _parse(value)
    except ValueError as exc:
        source = "host" if host else HOST_ENV
        raise InvalidHost(f"{source} {value!r} is not a valid Ollama address: {exc}") from None


def _parse(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if sep:
        scheme = scheme.lower()
        if scheme not in _SCHEME_PORTS:
            raise InvalidHost(f"unsupported scheme {scheme!r}; use http or https")
        default_port = _SCHEME_PORTS[scheme]
    else:
        scheme, rest, default_port = "http", value, DEFAULT_PORT
    if any(char in rest for char in "?#@ \t"):
        raise InvalidHost("expected [scheme://]host[:port][/path]")
    hostport, slash, path = rest.partition("/")
    hostname, port = _split_hostport(hostport, default_port)
    path = (slash + path).rstrip("/")
    return f"{scheme}://{_bracketed(hostname)}:{port}{path}"


def _split_hostport(hostport: str, default_port: int) -> tuple[str, int]:
    if hostport.startswith("["):
        inside, bracket, after = hostport[1:].partition("]")
        if not bracket:
            raise InvalidHost("an IPv6 address needs a closing ']'")
        hostname = _ipv6(inside)
        if after and not after.startswith(":"):
            raise InvalidHost(f"unexpected {after!r} after the IPv6 address")
        port_text = after[1:] if after else None
    elif hostport.count(":") > 1:
        # A bare IPv6 address such as `::1` or `::`; it cannot carry a port without brackets.
        hostname, port_text = _ipv6(hostport), None
    else:
        hostname, colon, port_text_raw = hostport.partition(":")
        port_text = port_text_raw if colon else None
        hostname = hostname or LOOPBACK_HOST
        if not _HOSTNAME.fullmatch(hostname):
            raise InvalidHost(f"{hostname!r} is not a host name or IPv4 address")
    if hostname in _UNSPECIFIED:
        hostname = _UNSPECIFIED[hostname]
    return hostname, _port(port_text, default_port)


def _ipv6(text: str) -> str:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        raise InvalidHost(f"{text!r} is not an IPv6 address") from None


def _port(text: str | None, default_port: int) -> int:
    if text is None or text == "":
        return default_port
    if not text.isascii() or not text.isdigit():
        raise InvalidHost(f"the port {text!r} is not a number")
    port = int(text)
    if not 0 < port < 65536:
        raise InvalidHost(f"the port {port} is outside 1-65535")
    return port


def _bracketed(hostname: str) -> str:
    return f"[{hostname}]" if ":" in hostname else hostname


def is_loopback(base_url: str) -> bool:
    """Whether the URL's host is loopback: `localhost`, `*.localhost`, 127.0.0.0/8 or ::1."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
