"""Hosts from configuration: `--ollama-host [name=]URL` repeated, `OLLAMA_MCP_HOSTS`, and
`OLLAMA_HOST` alone as before."""

from __future__ import annotations

import pytest

from server.settings import parse_args
from tools.errors import InvalidHost
from tools.fleet.config import HostSpec, host_specs, parse_host_spec


def test_named_and_bare_hosts() -> None:
    assert parse_host_spec("gpu=http://10.0.0.5:11434") == HostSpec("gpu", "http://10.0.0.5:11434")
    assert parse_host_spec("10.0.0.5") == HostSpec("10.0.0.5", "http://10.0.0.5:11434")
    assert parse_host_spec("https://box.lan") == HostSpec("box.lan", "https://box.lan:443")


def test_the_flag_repeats_and_the_first_is_the_default() -> None:
    settings = parse_args(
        ["--ollama-host", "gpu=http://10.0.0.5:11434", "--ollama-host", "laptop=127.0.0.1"], env={}
    )
    assert settings.ollama_hosts == ("gpu=http://10.0.0.5:11434", "laptop=127.0.0.1")
    assert [h.name for h in host_specs(settings.ollama_hosts)] == ["gpu", "laptop"]


def test_the_environment_list_and_the_flag_over_it() -> None:
    env = {"OLLAMA_MCP_HOSTS": "gpu=10.0.0.5, laptop=127.0.0.1", "OLLAMA_HOST": "elsewhere"}
    assert parse_args([], env=env).ollama_hosts == ("gpu=10.0.0.5", "laptop=127.0.0.1")
    flagged = parse_args(["--ollama-host", "127.0.0.1:9"], env=env)
    assert flagged.ollama_hosts == () and flagged.ollama_host == "127.0.0.1:9"


def test_ollama_host_alone_is_one_host_as_before() -> None:
    settings = parse_args([], env={"OLLAMA_HOST": "box:1234"})
    assert settings.ollama_hosts == () and settings.ollama_host == "box:1234"
    assert host_specs((), "box:1234") == (HostSpec("box", "http://box:1234"),)


def test_two_hosts_of_one_name_are_refused() -> None:
    with pytest.raises(InvalidHost) as refused:
        host_specs(["127.0.0.1:1", "127.0.0.1:2"])
    assert str(refused.value) == (
        "two hosts are named '127.0.0.1' (http://127.0.0.1:1 and http://127.0.0.1:2): name each "
        "one, e.g. laptop=http://127.0.0.1:11434"
    )


def test_a_bad_host_list_stops_the_server_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parse_args([], env={"OLLAMA_MCP_HOSTS": "gpu=ftp://x,b=1.2.3.4"})
    assert capsys.readouterr().err.endswith(
        "error: --ollama-host / OLLAMA_MCP_HOSTS: host 'ftp://x' is not a valid Ollama address: "
        "unsupported scheme 'ftp'; use http or https\n"
    )
    with pytest.raises(SystemExit):
        parse_args(["--ollama-host", "g pu=1.2.3.4", "--ollama-host", "x=1.2.3.5"], env={})
    assert "host name 'g pu' in 'g pu=1.2.3.4': use letters, digits" in capsys.readouterr().err
