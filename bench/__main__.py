"""python -m bench [--quick] [--size-mib N] [--json PATH]

Writes one big GGUF LoRA adapter in a temporary folder, measures every figure against it, prints
the table on stdout (progress goes to stderr) and, with --json, writes the results as JSON.
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

from bench import hashing, metadata_cache, packaging, upload_memory
from bench.common import BigFile, Figure, MiB, Settings, Workspace, write_big_adapter

DEFAULT_SIZE_MIB = 512

STEPS: tuple[tuple[str, Callable[[Workspace], list[Figure]]], ...] = (
    ("hashing", hashing.run),
    ("packaging twice with the digest cache", packaging.run),
    ("uploading under tracemalloc", upload_memory.run),
    ("metadata lookups", metadata_cache.run),
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings(size_mib=args.size_mib, quick=args.quick)
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="ollama-bench-") as tmp:
        root = Path(tmp).resolve()
        _say(f"writing a {settings.size_mib} MiB GGUF LoRA adapter in {root}")
        big = write_big_adapter(root / "adapter.gguf", settings.size_mib)
        workspace = Workspace(root, big, settings)
        for name, step in STEPS:
            _say(name)
            figures += step(workspace)
    seconds = time.perf_counter() - started

    print(_table(figures, big, seconds))
    if args.json is not None:
        document = {
            "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
            "size_mib": settings.size_mib,
            "quick": settings.quick,
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
        "--quick", action="store_true", help="fewer repeats and calls (about 10 s in all)"
    )
    parser.add_argument(
        "--size-mib",
        type=_positive,
        default=DEFAULT_SIZE_MIB,
        metavar="N",
        help=f"size of the big file in MiB (default {DEFAULT_SIZE_MIB})",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
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
