"""python -m bench [--quick] [--size-mib N] [--only connector|mcp|app] [--json PATH] [--profile DIR]

Writes one big GGUF LoRA adapter in a temporary folder, measures every figure against it, prints
the table on stdout (progress goes to stderr) and, with --json, writes the results as JSON. The
`mcp` figures drive the real server (`python -m server`) over stdio with the SDK's client.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from bench import (
    app_paint,
    fleet,
    hashing,
    mcp_calls,
    mcp_concurrency,
    mcp_generate,
    mcp_packaging,
    mcp_progress,
    mcp_startup,
    mcp_tasks,
    metadata_cache,
    packaging,
    replicas,
    upload_memory,
)
from bench.common import BigFile, Figure, MiB, Settings, Workspace, write_big_adapter
from bench.mcp_server import PROFILE_ENV

DEFAULT_SIZE_MIB = 1024  # the 1 GiB adapter; the memory figure packages twice this
QUICK_SIZE_MIB = 256
GROUPS = ("connector", "mcp", "app")

Step = Callable[[Workspace], list[Figure]]
STEPS: tuple[tuple[str, str, Step], ...] = (
    ("connector", "hashing", hashing.run),
    ("connector", "packaging twice with the digest cache", packaging.run),
    ("connector", "uploading under tracemalloc", upload_memory.run),
    ("connector", "metadata lookups", metadata_cache.run),
    ("connector", "several hosts: routing and the merged list", fleet.run),
    ("mcp", "MCP calls against direct requests, and offline", mcp_calls.run),
    ("mcp", "generate and chat against direct streaming requests, and the peer", mcp_generate.run),
    ("mcp", "MCP server start-up", mcp_startup.run),
    ("mcp", "a pull that floods progress, through MCP", mcp_progress.run),
    ("mcp", "32 held generate calls on one session", mcp_concurrency.run),
    ("mcp", "tasks/get with 100 live tasks", mcp_tasks.run),
    ("mcp", "package_adapter through MCP, and its peak memory", mcp_packaging.run),
    ("mcp", "three replicas sharing Redis against one on its own", replicas.run),
    ("app", "the model library App's first paint in headless Chromium", app_paint.run),
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    size_mib = args.size_mib or (QUICK_SIZE_MIB if args.quick or args.smoke else DEFAULT_SIZE_MIB)
    settings = Settings(size_mib=size_mib, quick=args.quick, smoke=args.smoke)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        os.environ[PROFILE_ENV] = str(args.profile.resolve())  # read by bench.mcp_server
        _say(f"servers run under cProfile; profiles go to {args.profile}")
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="ollama-bench-", dir=args.tmp_dir) as tmp:
        root = Path(tmp).resolve()
        _say(f"writing a {settings.size_mib} MiB GGUF LoRA adapter in {root}")
        big = write_big_adapter(root / "adapter.gguf", settings.size_mib)
        workspace = Workspace(root, big, settings)
        for group, name, step in STEPS:
            if args.only in (None, group):
                _say(name)
                figures += step(workspace)
    seconds = time.perf_counter() - started

    print(_table(figures, big, seconds))
    if args.json is not None:
        document = {
            "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
            "size_mib": settings.size_mib,
            "quick": settings.quick,
            "smoke": settings.smoke,
            "only": args.only,
            "load_average": os.getloadavg(),
            "file_bytes": big.size,
            "seconds": round(seconds, 2),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "figures": {figure.key: asdict(figure) for figure in figures},
        }
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        _say(f"results written to {args.json}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="The connector's speed and memory figures, each a ratio measured in one run.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer repeats and calls, a {QUICK_SIZE_MIB} MiB file (about a minute in all)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the smallest run that reaches every figure (for the test; the numbers mean little)",
    )
    parser.add_argument(
        "--size-mib",
        type=_positive,
        default=None,
        metavar="N",
        help=f"size of the big file in MiB (default {DEFAULT_SIZE_MIB}, quick {QUICK_SIZE_MIB})",
    )
    parser.add_argument(
        "--only", choices=GROUPS, help="only the connector's, the MCP server's or the App's figures"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run every MCP server under cProfile and write its profile into DIR",
    )
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        metavar="DIR",
        help="where the temporary folder goes (it needs about 9 x the file size free)",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _table(figures: list[Figure], big: BigFile, seconds: float) -> str:
    header = (
        f"Big file: {big.size / MiB:.1f} MiB GGUF LoRA adapter "
        f"({big.tensors} tensors, rank {big.rank}); whole run {seconds:.1f} s"
    )
    rows = [("figure", "ratio", "numerator / denominator", "healthy")]
    for figure in figures:
        measured = f"{_number(figure.numerator)} / {_number(figure.denominator)} {figure.unit}"
        rows.append((figure.title, _number(figure.ratio), measured, figure.healthy))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [header, ""]
    for index, (title, ratio, measured, healthy) in enumerate(rows):
        lines.append(
            f"{title:<{widths[0]}}  {ratio:>{widths[1]}}  {measured:<{widths[2]}}  {healthy}"
        )
        if index == 0:
            lines.append("-" * (sum(widths) + 6 + len("healthy")))
    lines += ["", "Ratios:"]
    for figure in figures:
        lines.append(f"  {figure.key}: {figure.ratio_of}")
        for key, value in figure.details.items():
            lines.append(f"      {key} = {value}")
    return "\n".join(lines)


def _number(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


if __name__ == "__main__":
    sys.exit(main())
