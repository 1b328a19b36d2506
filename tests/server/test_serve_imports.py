"""Start-up: the serve path does not import what only the other commands need, and the collector
is paused while the server is built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# What serving loads on first use: the other commands, the adapter readers, the name suggester.
LAZY = (
    "server.doctor",
    "server.client_config",
    "tools.local.adapters",
    "tools.local.safetensors_reader",
    "difflib",
)


def test_the_serve_path_leaves_what_it_does_not_need_yet_unimported() -> None:
    probe = (
        "import sys, server.cli, server.app; "
        f"print(','.join(m for m in {LAZY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _probe(code: str, tmp_path: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    return out.stdout.strip()


BUILD = (
    "from server.cli import built; from server.settings import parse_args; "
    "built(parse_args(['--cache-dir', 'cache', '--ollama-host', 'http://127.0.0.1:9'])); "
)


def test_the_entry_point_pauses_the_collector_before_it_imports_the_server(
    tmp_path: Path,
) -> None:
    # Were server.cli imported with server.entry, the pause would come after the import it saves.
    probe = "import sys, server.entry; print('server.cli' in sys.modules, 'mcp' in sys.modules)"
    assert _probe(probe, tmp_path) == "False False"


def test_a_built_server_resumes_the_paused_collector_with_start_up_frozen(
    tmp_path: Path,
) -> None:
    probe = f"import gc; gc.disable(); {BUILD}print(gc.isenabled(), gc.get_freeze_count() > 0)"
    assert _probe(probe, tmp_path) == "True True"


def test_a_server_built_inside_another_program_leaves_its_collector_alone(
    tmp_path: Path,
) -> None:
    probe = f"import gc; {BUILD}print(gc.isenabled(), gc.get_freeze_count())"
    assert _probe(probe, tmp_path) == "True 0"
