"""`ollama-mcp doctor` against the Ollama double, against nothing, and each OLLAMA_HOST form."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import main
from tests.ollama_double import running_double
from tests.ollama_double.server import OllamaDouble

START_FIX = (
    "start Ollama with `ollama serve`, or set OLLAMA_HOST to where it runs "
    "(then run `ollama-mcp doctor` again)"
)


def run_doctor(
    capsys: pytest.CaptureFixture[str], *args: str, cache: Path | None = None
) -> tuple[int, list[str]]:
    argv = ["doctor", *args]
    if cache is not None:
        argv += ["--cache-dir", str(cache)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0), capsys.readouterr().out.splitlines()


def line(lines: list[str], name: str) -> str:
    found = [ln for ln in lines if ln[6:].startswith(f"{name:<12} ")]
    assert len(found) == 1, lines
    return found[0]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def no_ollama_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OLLAMA_HOST", "OLLAMA_MCP_ALLOW_DIRS", "OLLAMA_MCP_CACHE_DIR", "OLLAMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_doctor_on_the_double_passes_every_line(
    ollama_double: OllamaDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roots = tmp_path / "adapters"
    roots.mkdir()
    cache = tmp_path / "cache"
    code, lines = run_doctor(
        capsys, "--ollama-host", ollama_double.url, "--allow-dir", str(roots), cache=cache
    )
    assert code == 0
    assert [ln[:4].strip() for ln in lines[:-1]] == ["OK"] * 6 + ["INFO"]
    assert line(lines, "ollama host").endswith(
        f"{ollama_double.url} (from --ollama-host={ollama_double.url!r})"
    )
    assert line(lines, "ollama").endswith(f"answered at {ollama_double.url}")
    assert line(lines, "version").endswith(
        f"{ollama_double.faults.version} (0.5.5 or newer: create and packaging work)"
    )
    assert line(lines, "models").endswith("4 installed")
    assert line(lines, "cache").endswith(f"{cache} (created on first use)")
    assert line(lines, "allow-dir").endswith(f"{roots.resolve()} (readable)")
    assert "read_only=False" in line(lines, "flags")
    assert "no_confirm=False" in line(lines, "flags")
    assert lines[-1] == "doctor: everything is in place"


def test_doctor_shows_no_confirm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, lines = run_doctor(capsys, "--no-confirm", cache=tmp_path)
    assert "allow_push=False no_confirm=True cache_ttl=" in line(lines, "flags")


def test_doctor_against_nothing_fails_and_names_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, lines = run_doctor(capsys, "--ollama-host", url, cache=tmp_path)
    assert code == 1
    assert line(lines, "ollama") == f"FAIL  ollama       no answer at {url} -- fix: {START_FIX}"
    assert line(lines, "version") == "SKIP  version      not checked: Ollama did not answer"
    assert line(lines, "models") == "SKIP  models       not checked: Ollama did not answer"
    assert lines[-1] == "doctor: something needs fixing (see FAIL)"


@pytest.mark.parametrize(
    "form",
    [
        "127.0.0.1:{port}",
        "localhost:{port}",
        "0.0.0.0:{port}",
        ":{port}",
        "http://127.0.0.1:{port}/",
        "http://localhost:{port}",
    ],
)
def test_every_ollama_host_form_reaches_the_double(
    form: str,
    ollama_double: OllamaDouble,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = form.format(port=ollama_double.port)
    monkeypatch.setenv("OLLAMA_HOST", value)
    code, lines = run_doctor(capsys, cache=tmp_path)
    assert code == 0, lines
    assert line(lines, "ollama host").endswith(f"(from OLLAMA_HOST={value!r})")
    assert line(lines, "ollama").startswith("OK")


@pytest.mark.parametrize("form", ["[::1]:{port}", "http://[::1]:{port}/"])
def test_ipv6_ollama_host_forms(
    form: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_double(tmp_path / "models", host="::1") as double:
        value = form.format(port=double.port)
        monkeypatch.setenv("OLLAMA_HOST", value)
        code, lines = run_doctor(capsys, cache=tmp_path / "cache")
    assert code == 0, lines
    assert line(lines, "ollama").endswith(f"answered at http://[::1]:{double.port}")


def test_unspecified_ipv6_means_this_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "::")
    _, lines = run_doctor(capsys, cache=tmp_path)
    assert "OK    ollama host  http://[::1]:11434 (from OLLAMA_HOST='::')" in lines


def test_an_unusable_ollama_host_is_named_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "ftp://box:11434")
    code, lines = run_doctor(capsys, cache=tmp_path)
    assert code == 1
    assert line(lines, "ollama host") == (
        "FAIL  ollama host  host 'ftp://box:11434' is not a valid Ollama address: unsupported "
        "scheme 'ftp'; use http or https -- fix: set OLLAMA_HOST (or --ollama-host) to host:port "
        "or http://host:port, e.g. 127.0.0.1:11434"
    )


def test_an_old_ollama_is_a_warning_with_the_upgrade(
    ollama_double: OllamaDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ollama_double.faults.version = "0.5.4"
    code, lines = run_doctor(capsys, "--ollama-host", ollama_double.url, cache=tmp_path)
    assert code == 0
    assert line(lines, "version") == (
        "WARN  version      0.5.4 is older than 0.5.5: create and packaging refuse "
        "-- fix: upgrade Ollama (https://ollama.com/download)"
    )


def test_no_models_is_a_warning_with_a_pull(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_double(tmp_path / "models", seed=False) as double:
        code, lines = run_doctor(capsys, "--ollama-host", double.url, cache=tmp_path / "c")
    assert code == 0
    assert line(lines, "models") == (
        "WARN  models       none installed -- fix: pull one, e.g. `ollama pull llama3.2`"
    )


def test_cache_and_allowed_folders_that_cannot_work_fail(
    ollama_double: OllamaDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    missing = tmp_path / "missing"
    code, lines = run_doctor(
        capsys,
        "--ollama-host",
        ollama_double.url,
        "--allow-dir",
        str(missing),
        "--allow-dir",
        str(a_file),
        cache=a_file,
    )
    assert code == 1
    cache_fix = "set --cache-dir or OLLAMA_MCP_CACHE_DIR to a folder you can write"
    assert (
        line(lines, "cache")
        == f"FAIL  cache        {a_file} exists but is not a folder -- fix: {cache_fix}"
    )
    dir_fix = "create it, or remove it from --allow-dir / OLLAMA_MCP_ALLOW_DIRS"
    assert f"FAIL  allow-dir    {missing} does not exist -- fix: {dir_fix}" in lines
    assert f"FAIL  allow-dir    {a_file} is not a folder -- fix: {dir_fix}" in lines


def test_a_cache_folder_under_a_file_cannot_be_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    _, lines = run_doctor(capsys, cache=a_file / "cache")
    assert line(lines, "cache").startswith(
        f"FAIL  cache        {a_file / 'cache'} does not exist and {a_file} is not writable"
    )


def test_an_existing_cache_reports_size_and_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "metadata.sqlite").write_bytes(b"x" * 2048)
    _, lines = run_doctor(capsys, cache=tmp_path)
    assert line(lines, "cache") == f"OK    cache        {tmp_path} (1 entry, 2.0 KiB), writable"


def test_json_is_the_same_report_as_one_object(
    ollama_double: OllamaDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run_doctor(capsys, "--json", "--ollama-host", ollama_double.url, cache=tmp_path)
    assert code == 0
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["ok"] is True
    names = [check["name"] for check in report["checks"]]
    assert names == ["ollama host", "ollama", "version", "models", "cache", "allow-dir", "flags"]
    models = next(c for c in report["checks"] if c["name"] == "models")
    assert models["data"] == {"count": 4}


def test_the_token_never_shows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = "s3cret-token-value"
    _, lines = run_doctor(
        capsys, "--transport", "streamable-http", "--auth-token", secret, cache=tmp_path
    )
    assert "auth_token=set" in line(lines, "flags")
    assert secret not in "\n".join(lines)


def test_the_installed_command_runs_doctor(ollama_double: OllamaDouble, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "doctor", "--ollama-host", ollama_double.url],
        capture_output=True,
        text=True,
        env={"OLLAMA_MCP_CACHE_DIR": str(tmp_path), "PATH": ""},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "doctor: everything is in place"
