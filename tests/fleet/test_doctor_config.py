"""`doctor` and `config` with several hosts: each host checked, the hosts carried to the client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.cli import main
from tests.fleet.conftest import Hosts


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return int(exit_info.value.code or 0), capsys.readouterr().out


def test_doctor_checks_every_host(
    hosts: Hosts, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hosts["b"].faults.refuse_connections()
    flags = [arg for name in ("a", "b") for arg in ("--ollama-host", f"{name}={hosts[name].url}")]
    code, out = run(capsys, "doctor", *flags, "--cache-dir", str(tmp_path / "cache"))
    lines = out.splitlines()
    assert f"OK    ollama       [a] answered at {hosts['a'].url}" in lines
    assert "OK    models       [a] 2 installed" in lines
    assert any(
        ln.startswith(f"FAIL  ollama       [b] no answer at {hosts['b'].url}") for ln in lines
    )
    assert code == 1  # a host that does not answer needs fixing


def test_config_carries_the_hosts(hosts: Hosts, capsys: pytest.CaptureFixture[str]) -> None:
    flags = [arg for name in ("a", "b") for arg in ("--ollama-host", f"{name}={hosts[name].url}")]
    code, out = run(capsys, "config", "cursor", *flags)
    assert code == 0
    server = json.loads(out)["mcpServers"]["ollama"]
    assert server["env"] == {"OLLAMA_MCP_HOSTS": f"a={hosts['a'].url},b={hosts['b'].url}"}
