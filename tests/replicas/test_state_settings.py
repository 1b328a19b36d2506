"""`--state-url`, `--state-prefix` and their environment twins: off by default, checked at parse
time, the password never in a repr."""

from __future__ import annotations

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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--state-url", "http://user:pw@cache.lan:6379"],
         "state URL 'cache.lan:6379': use redis://HOST:PORT/DB, or rediss:// for TLS"),
        (["--state-prefix", "team a"],
         "state prefix 'team a': use a word without spaces, e.g. team-a:"),
        (["--state-lock-seconds", "soon"], "state lock seconds 'soon' is not a number"),
    ],
)  # fmt: skip
def test_a_bad_value_is_refused_with_what_to_use(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv, env={})
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"ollama-mcp: error: {message}"
