"""`python -m bench.profile_summary DIR`: where each profiled server spent its time.

`python -m bench --profile DIR` runs every MCP server under cProfile. For each profile this
prints: the time spent importing the server, idle (waiting in `epoll`), and busy otherwise; the
cumulative time of the SDK's request handling (`serve_one`) and of its stdio reader and writer
(each line read and each write goes through a worker thread); then the own time (`tottime`)
grouped by who owns the code. cProfile slows Python code down several times, so compare the
shares, not the seconds; and it does not follow `async for` into an async generator, so the
owner table (own time, which needs no call tree) is the one to trust for "whose code".
"""

from __future__ import annotations

import pstats
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (owner, what a profiled function's file name contains), first match wins
OWNERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("idle (epoll)", ("method 'poll' of 'select.epoll'",)),
    ("imports", ("importlib", "marshal", "builtins.exec", "builtins.compile", "io.open_code")),
    # The SDK first: its files live under `mcp/server/` and `mcp/server/mcpserver/tools/` too.
    ("MCP SDK", ("/mcp/", "/mcp_types/")),
    ("ours: server/", (f"{REPO}/server/",)),
    ("ours: tools/", (f"{REPO}/tools/",)),
    ("HTTP: httpx2, httpcore2, h11", ("/httpx2/", "/httpcore2/", "/h11/")),
    ("pydantic", ("/pydantic", "pydantic_core")),
    ("anyio", ("/anyio/",)),
    ("threads (worker hand-offs)", ("_thread.lock", "threading.py")),
    ("asyncio and selectors", ("/asyncio/", "selectors.py", "_asyncio")),
    ("json", ("/json/",)),
)


def owner(function: tuple[str, int, str]) -> str:
    filename, _, name = function
    text = f"{filename}:{name}"
    for label, needles in OWNERS:
        if any(needle in text for needle in needles):
            return label
    return "other"


ENTRY_POINTS = (
    ("SDK request handling (serve_one)", "mcp/server/runner.py", "serve_one"),
    (
        "SDK stdio reader (parsing each line; threads only off pipes)",
        "mcp/server/stdio.py",
        "stdin_reader",
    ),
    (
        "SDK stdio writer (serialising and writing each message)",
        "mcp/server/stdio.py",
        "stdout_writer",
    ),
)


def summary(path: Path) -> str:
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    spent: dict[str, float] = {}
    for function, (_, _, tottime, _, _) in stats.items():
        label = owner(function)
        spent[label] = spent.get(label, 0.0) + tottime
    idle = spent.pop("idle (epoll)", 0.0)
    spent.pop("imports", 0.0)
    # Importing the server (the SDK, pydantic models, our modules) is start-up, not serving.
    start_up = sum(
        row[3]
        for (file, _, function), row in stats.items()
        if file.endswith("server/cli.py") and function == "<module>"
    )
    busy = sum(spent.values()) - start_up
    lines = [
        f"{path.stem}: {busy:.2f} s busy serving ({start_up:.2f} s importing, {idle:.2f} s idle)"
    ]
    for label, filename, name in ENTRY_POINTS:
        cumulative = sum(
            row[3]
            for (file, _, function), row in stats.items()
            if file.endswith(filename) and function == name
        )
        lines.append(f"  {label:<40} {cumulative:6.2f} s  {100 * cumulative / busy:5.1f} %")
    lines.append("  own time by owner (start-up included; % of all own time):")
    owned = sum(spent.values())
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        lines.append(f"    {label:<38} {seconds:6.2f} s  {100 * seconds / owned:5.1f} %")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        sys.stderr.write(
            "usage: python -m bench.profile_summary DIR (from python -m bench --profile DIR)\n"
        )
        return 2
    for path in sorted(Path(argv[0]).glob("*.prof")):
        sys.stdout.write(summary(path) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
