"""`python -m bench` still runs and reports every figure, the connector's and the MCP server's.
No timing is asserted here: the figures are measured, not judged, by the bench itself."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CONNECTOR_FIGURES = {
    "hashing_speed",
    "loop_max_gap",
    "loop_median_gap",
    "digest_cache",
    "upload_memory",
    "metadata_cache",
    "fleet_routing",
    "fleet_list",
}
MCP_FIGURES = {
    "mcp_call_overhead",
    "mcp_generate",
    "mcp_chat",
    "mcp_generate_sdk",
    "mcp_cached_show",
    "mcp_offline_list",
    "mcp_startup",
    "mcp_startup_memory",
    "mcp_progress_rate",
    "mcp_progress_cpu",
    "mcp_concurrency",
    "mcp_packaging",
    "mcp_packaging_again",
    "mcp_packaging_memory",
    "mcp_replicas_list",
    "mcp_replicas_record",
    "mcp_replicas_tasks_get",
    "mcp_tasks_get",
}


def run_bench(tmp_path: Path, *options: str) -> tuple[dict[str, Any], str]:
    """`python -m bench OPTIONS --json ...`: the JSON document and the printed table."""
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", *options, "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a speed limit
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text()), done.stdout


def assert_ratios(figures: dict[str, Any], table: str) -> None:
    for key, figure in figures.items():
        for field in ("ratio", "numerator", "denominator"):
            value = figure[field]
            assert isinstance(value, int | float) and math.isfinite(value), (key, field, value)
            assert value > 0, (key, field, value)
        assert figure["title"] in table  # the table shows it


def test_the_quick_bench_reports_every_connector_figure_as_a_ratio(tmp_path: Path) -> None:
    document, table = run_bench(tmp_path, "--quick", "--only", "connector", "--size-mib", "8")
    figures = document["figures"]
    assert set(figures) == CONNECTOR_FIGURES
    assert_ratios(figures, table)
    assert document["file_bytes"] > 0

    # Counts, not times: a second packaging sends and hashes nothing, cached lookups ask nothing.
    cache = figures["digest_cache"]["details"]
    assert cache["second_files_hashed"] == 0
    assert cache["second_bytes_uploaded"] == 0
    assert cache["second_body_bytes_read_by_double"] == 0
    assert figures["metadata_cache"]["details"]["show_requests_during_cached_calls"] == 0


def test_the_mcp_figures_run_through_the_real_server_at_a_tiny_size(tmp_path: Path) -> None:
    """The quick mode's MCP figures, smallest settings (`--smoke`): every figure still comes
    from the server on stdio, and the counts behind them are what the figures claim."""
    document, table = run_bench(tmp_path, "--smoke", "--only", "mcp", "--size-mib", "4")
    figures = document["figures"]
    assert set(figures) == MCP_FIGURES
    assert_ratios(figures, table)

    details = {key: figure["details"] for key, figure in figures.items()}
    # The cached calls answered from the server's cache: at most one list refresh each way.
    assert details["mcp_call_overhead"]["tags_requests_from_the_server"] <= 2
    assert details["mcp_offline_list"]["offline_source"] == "stale"
    # The flood really was a flood, and it reached the client as a trickle.
    progress = details["mcp_progress_rate"]
    assert progress["ollama_lines"] >= 2_000
    assert 1 <= progress["notifications"] < progress["ollama_lines"] / 100
    assert details["mcp_concurrency"]["calls"] == 32
    assert details["mcp_tasks_get"]["live_tasks"] == 100
    # Packaging sent the file once, then nothing; the large adapter is twice the big file.
    again = details["mcp_packaging_again"]
    assert again["second_bytes_uploaded"] == 0 and again["second_files_hashed"] == 0
    big = details["mcp_packaging"]["file_mib"]
    assert details["mcp_packaging_memory"]["file_mib"] > 1.5 * big


def test_the_app_figures_come_from_headless_chromium(tmp_path: Path) -> None:
    """The App's paint with 200 models and its size (tests/browser's host; Chromium from
    .ci/browser-deps): figures, and the 200 rows all drawn after the paint (the bench checks
    that the table has them)."""
    from tests.browser.app_host import require_browser

    require_browser()
    document, table = run_bench(tmp_path, "--smoke", "--only", "app", "--size-mib", "1")
    figures = document["figures"]
    assert set(figures) == {"app_first_paint", "app_html_size"}
    assert_ratios(figures, table)
    details = figures["app_first_paint"]["details"]
    assert details["all_rows_ms"] >= details["paint_ms"] > 0
