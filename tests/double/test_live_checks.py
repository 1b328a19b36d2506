"""The live checks (tests/live, for users' own Ollama) run here against the double, so they stay
runnable: a subprocess pytest pointed at the double as if it were a real Ollama."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.ollama_double import OllamaDouble

ROOT = Path(__file__).resolve().parents[2]


def test_live_checks_pass_against_the_double(ollama_double: OllamaDouble) -> None:
    env = {
        **os.environ,
        "OLLAMA_LIVE_HOST": ollama_double.url,
        "OLLAMA_MODELS": str(ollama_double.models_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/live"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
