"""`python -m bench` still runs and reports every figure. No timing is asserted here: the figures
are measured, not judged, by the bench itself."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIGURES = {
    "hashing_speed",
    "loop_max_gap",
    "loop_median_gap",
    "digest_cache",
    "upload_memory",
    "metadata_cache",
}


def test_the_quick_bench_reports_every_figure_as_a_ratio(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--size-mib", "8", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a speed limit
    )
    assert done.returncode == 0, done.stderr

    document = json.loads(out.read_text())
    figures = document["figures"]
    assert set(figures) == FIGURES
    for key, figure in figures.items():
        for field in ("ratio", "numerator", "denominator"):
            value = figure[field]
            assert isinstance(value, int | float) and math.isfinite(value), (key, field, value)
        assert figure["title"] in done.stdout  # the table shows it
    assert document["file_bytes"] > 0

    # Counts, not times: a second packaging sends and hashes nothing, cached lookups ask nothing.
    cache = figures["digest_cache"]["details"]
    assert cache["second_files_hashed"] == 0
    assert cache["second_bytes_uploaded"] == 0
    assert cache["second_body_bytes_read_by_double"] == 0
    assert figures["metadata_cache"]["details"]["show_requests_during_cached_calls"] == 0
