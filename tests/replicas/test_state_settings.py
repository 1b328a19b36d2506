"""`--state-url`, `--state-prefix`, `--state-ca-file` and their environment twins: off by
default, checked at parse time, the password never in a repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import DEFAULT_STATE_PREFIX, parse_args


def test_without_a_state_url_nothing_is_shared() -> None:
    settings = parse_args([], env={})
    assert settings.state_url is None
    assert settings.state_prefix == DEFAULT_STATE_PREFIX == "ollama-mcp:"


def test_the_url_and_password_come_from_flags_or_the_environment() -> None:
    env = {"OLLAMA_MCP_STATE_URL": "rediss://cache.lan:6380/2",
           "OLLAMA_MCP_STATE_PASSWORD": "s3cret", "OLLAMA_MCP_STATE_PREFIX": "team-a:"}  # fmt: skip
    settings = parse_args([], env=env)
    assert (settings.state_url, settings.state_password, settings.state_prefix) == (
        "rediss://cache.lan:6380/2", "s3cret", "team-a:"
    )  # fmt: skip
    flagged = parse_args(["--state-url", "redis://:pw@10.0.0.5:6379/0"], env=env)
    assert flagged.state_url == "redis://:pw@10.0.0.5:6379/0"
    assert "pw" not in repr(flagged) and "s3cret" not in repr(flagged)


def test_the_ca_file_comes_from_the_flag_or_the_environment(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {"OLLAMA_MCP_STATE_URL": "rediss://cache.lan:6380/0",
           "OLLAMA_MCP_STATE_CA_FILE": str(ca)}  # fmt: skip
    assert parse_args([], env=env).state_ca_file == ca
    assert parse_args(["--state-ca-file", str(ca)], env=env).state_ca_file == ca
    assert parse_args([], env={}).state_ca_file is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--state-url", "http://user:pw@cache.lan:6379"],
         "state URL 'cache.lan:6379': use redis://HOST:PORT/DB, or rediss:// for TLS"),
        (["--state-prefix", "team a"],
         "state prefix 'team a': use a word without spaces, e.g. team-a:"),
        (["--state-lock-seconds", "soon"], "state lock seconds 'soon' is not a number"),
        (["--state-url", "redis://cache.lan:6379/0", "--state-ca-file", "/etc/hostname"],
         "state CA file '/etc/hostname': it is for TLS, so use it with --state-url "
         "rediss://HOST:PORT/DB"),
        (["--state-url", "rediss://cache.lan:6380/0", "--state-ca-file", "/nonexistent/ca.pem"],
         "state CA file '/nonexistent/ca.pem' is not a file: give the CA's PEM file"),
    ],
)  # fmt: skip
def test_a_bad_value_is_refused_with_what_to_use(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv, env={})
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"ollama-mcp: error: {message}"
