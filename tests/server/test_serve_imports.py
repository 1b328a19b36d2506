"""The serve path does not import what only the other commands need (start-up time)."""

from __future__ import annotations

import subprocess
import sys

LAZY = ("server.doctor", "server.client_config")


def test_the_serve_path_leaves_doctor_and_client_configs_unimported() -> None:
    probe = (
        "import sys, server.cli, server.app; "
        f"print(','.join(m for m in {LAZY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
