"""The README's Layout table names every package folder and top-level module of `server/` and
`tools/`, so the table cannot drift from the tree unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def parts_of(package: str) -> list[str]:
    """The folders (as `name/`) and modules (as `name.py`) directly under a package."""
    found = []
    for entry in sorted((ROOT / package).iterdir()):
        if entry.is_dir() and entry.name != "__pycache__":
            found.append(f"{entry.name}/")
        elif entry.suffix == ".py" and not entry.name.startswith("__"):
            found.append(entry.name)
    return found


def test_the_layout_table_names_every_part_of_server_and_tools() -> None:
    named = set(re.findall(r"`([\w./]+)`", layout_section()))
    missing = [
        f"{package}/{part}"
        for package in ("server", "tools")
        for part in parts_of(package)
        if part not in named and f"{package}/{part}" not in named
    ]
    assert missing == [], f"add these to the README's Layout table: {missing}"
