"""`ollama-mcp config CLIENT`: each client's snippet parses in its format and starts this server;
the files in `client_configs/` are what the command generates."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.cli import main
from server.client_config import CLIENTS, installed_command, write_client_configs

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "client_configs"
SLUGS = [client.slug for client in CLIENTS]


def launch_in(slug: str, text: str) -> tuple[str, list[str], dict[str, str]]:
    """Parse a snippet the way its client would and return (command, args, env)."""
    if slug == "claude-code":
        words = shlex.split(text)
        assert words[:4] == ["claude", "mcp", "add", "ollama"]
        split = words.index("--")
        options, command = words[4:split], words[split + 1 :]
        assert options[:4] == ["--transport", "stdio", "--scope", "user"]
        env = dict(v.split("=", 1) for k, v in zip(options[4::2], options[5::2], strict=True))
        assert set(options[4::2]) == {"--env"}
        return command[0], command[1:], env
    if slug == "codex":
        entry: dict[str, Any] = tomllib.loads(text)["mcp_servers"]["ollama"]
    elif slug == "continue":
        block = yaml.safe_load(text)
        assert block["schema"] == "v1" and block["name"] and block["version"]
        (entry,) = block["mcpServers"]
        assert entry["name"] == "ollama" and entry["type"] == "stdio"
    else:
        document = json.loads(text)
        key = {"vscode": "servers", "zed": "context_servers"}.get(slug, "mcpServers")
        entry = document[key]["ollama"]
        if slug == "vscode":
            assert entry["type"] == "stdio"
        if slug == "cline":
            assert entry["disabled"] is False and entry["autoApprove"] == []
    return entry["command"], entry["args"], entry["env"]


def run_config(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["config", *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture(autouse=True)
def no_ollama_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("OLLAMA_MCP_ALLOW_DIRS", raising=False)


@pytest.mark.parametrize("slug", SLUGS)
def test_config_parses_and_names_an_executable_that_exists(
    slug: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_config(
        capsys, slug, "--allow-dir", str(tmp_path), "--ollama-host", "box.lan:11500"
    )
    assert code == 0
    command, args, env = launch_in(slug, out)
    assert Path(command).is_absolute()
    assert os.access(command, os.X_OK), command
    assert args[-2:] == ["--allow-dir", str(tmp_path.resolve())]
    assert env == {"OLLAMA_HOST": "http://box.lan:11500"}
    title = next(c.title for c in CLIENTS if c.slug == slug)
    assert err.startswith(f"# {title}: ")


def test_the_named_executable_is_this_installation(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_config(capsys, "cursor")
    command, args, _ = launch_in("cursor", out)
    assert Path(command).parent == Path(sys.executable).parent
    assert (command, *args) == installed_command()


def test_without_the_script_the_interpreter_runs_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = tmp_path / "bin" / "python3"
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert installed_command() == (str(python), "-m", "server")


def test_special_characters_survive_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / 'a "quoted" folder \\ with ünïcode'
    odd.mkdir()
    for slug in SLUGS:
        _, out, _ = run_config(capsys, slug, "--allow-dir", str(odd))
        assert launch_in(slug, out)[1][-1] == str(odd.resolve()), slug


@pytest.mark.parametrize("slug", SLUGS)
def test_the_shipped_file_is_what_the_command_generates(slug: str, tmp_path: Path) -> None:
    write_client_configs(tmp_path)
    client = next(c for c in CLIENTS if c.slug == slug)
    shipped = (REPO_CONFIGS / client.filename).read_text(encoding="utf-8")
    assert shipped == (tmp_path / client.filename).read_text(encoding="utf-8"), (
        "regenerate with: python -m server.client_config client_configs"
    )
    assert launch_in(slug, shipped) == ("ollama-mcp", [], {"OLLAMA_HOST": "http://127.0.0.1:11434"})


def test_client_configs_holds_only_generated_files() -> None:
    expected = {c.filename for c in CLIENTS} | {"README.md"}
    assert {p.name for p in REPO_CONFIGS.iterdir()} == expected


def test_aliases_name_the_same_client(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = {run_config(capsys, name)[1] for name in ("vscode", "VS Code", "code", "vs_code")}
    assert len(outputs) == 1


def test_an_unknown_client_lists_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_config(capsys, "notepad")
    assert code == 2
    assert out == ""
    assert err == (
        "ollama-mcp config: unknown client 'notepad'; choose one of: claude-desktop, claude-code, "
        "cursor, vscode, windsurf, zed, cline, continue, codex, gemini\n"
    )


def test_an_unusable_ollama_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_config(capsys, "cursor", "--ollama-host", "ftp://box")
    assert code == 2
    assert out == ""
    assert err == (
        "ollama-mcp config: --ollama-host: host 'ftp://box' is not a valid Ollama address: "
        "unsupported scheme 'ftp'; use http or https\n"
    )


def test_the_snippet_pipes_cleanly() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "config", "zed"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout)["context_servers"]["ollama"]["command"]
    assert done.stderr.startswith("# Zed: ")
