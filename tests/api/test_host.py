"""Host resolution: every row of contract 8.1, plus the loopback rule for unspecified addresses."""

from __future__ import annotations

import pytest

from tools.api.client import OllamaClient
from tools.api.host import is_loopback, resolve_base_url

# Rows of contract 8.1 where this client agrees with ollama-python.
CONTRACT_ROWS = [
    (None, "http://127.0.0.1:11434"),
    ("", "http://127.0.0.1:11434"),
    (":11434", "http://127.0.0.1:11434"),
    ("localhost:8080", "http://localhost:8080"),
    ("1.2.3.4:56789", "http://1.2.3.4:56789"),
    ("example.com", "http://example.com:11434"),
    ("http://example.com", "http://example.com:80"),
    ("https://example.com", "https://example.com:443"),
    ("https://example.com:56789/path/", "https://example.com:56789/path"),
    ("[::1]", "http://[::1]:11434"),
]

# Where this client deliberately differs: a bind-everything address means this machine.
LOOPBACK_ROWS = [
    ("0.0.0.0", "http://127.0.0.1:11434"),
    ("0.0.0.0:9999", "http://127.0.0.1:9999"),
    ("http://0.0.0.0", "http://127.0.0.1:80"),
    ("::", "http://[::1]:11434"),
    ("[::]", "http://[::1]:11434"),
    ("[::]:8080", "http://[::1]:8080"),
    ("https://[::]:8443/ollama", "https://[::1]:8443/ollama"),
]

MORE_ROWS = [
    ("::1", "http://[::1]:11434"),
    ("[::1]:8080", "http://[::1]:8080"),
    ("[2001:db8::7]:1234/x", "http://[2001:db8::7]:1234/x"),
    ("  localhost  ", "http://localhost:11434"),
    ("HTTP://Example.com:1/a/b/", "http://Example.com:1/a/b"),
    ("localhost:", "http://localhost:11434"),
    ("ollama.internal/prefix", "http://ollama.internal:11434/prefix"),
]


@pytest.mark.parametrize(("value", "base_url"), CONTRACT_ROWS + LOOPBACK_ROWS + MORE_ROWS)
def test_host_argument(value: str | None, base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert resolve_base_url(value) == base_url


@pytest.mark.parametrize(("value", "base_url"), CONTRACT_ROWS[2:] + LOOPBACK_ROWS)
def test_ollama_host_variable(value: str, base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", value)
    assert resolve_base_url(None) == base_url
    assert resolve_base_url("") == base_url


def test_argument_wins_over_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "elsewhere:1")
    assert resolve_base_url("here:2") == "http://here:2"


def test_blank_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "   ")
    assert resolve_base_url(None) == "http://127.0.0.1:11434"


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("host:port", "the port 'port' is not a number"),
        ("localhost:0", "outside 1-65535"),
        ("localhost:65536", "outside 1-65535"),
        ("ftp://example.com", "unsupported scheme 'ftp'"),
        ("[::1", "closing ']'"),
        ("[nope]", "not an IPv6 address"),
        ("[::1]x", "unexpected"),
        ("exa mple.com", "expected [scheme://]host"),
        ("example.com?q=1", "expected [scheme://]host"),
        ("user@example.com", "expected [scheme://]host"),
        ("exa,mple", "not a host name"),
        ("1:2:3", "not an IPv6 address"),
    ],
)
def test_malformed_values_raise_value_error_quoting_them(
    value: str, complaint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    with pytest.raises(ValueError) as caught:
        resolve_base_url(value)
    assert repr(value) in str(caught.value)
    assert complaint in str(caught.value)


def test_malformed_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "host:port")
    with pytest.raises(ValueError, match=r"OLLAMA_HOST 'host:port'"):
        resolve_base_url(None)


async def test_client_uses_the_resolved_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:4321")
    async with OllamaClient() as client:
        assert client.base_url == "http://127.0.0.1:4321"
    with pytest.raises(ValueError, match="'x:y'"):
        OllamaClient("x:y")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:11434", True),
        ("http://127.9.9.9:11434", True),
        ("http://[::1]:11434", True),
        ("http://localhost:11434", True),
        ("http://ollama.localhost:11434", True),
        ("http://192.168.1.100:11434", False),
        ("http://gpu-box:11434", False),
        ("https://example.com:443", False),
    ],
)
def test_is_loopback(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback
