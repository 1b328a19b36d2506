"""The wire layer stands on nothing above it: `tools/api/` never reaches the layers built on it.

Read from the source with `ast` (not by importing), following imports transitively through the
`tools` package, so an upward import through a helper module is caught too. Imports under
`if TYPE_CHECKING:` are left out: they name a type for the checker and load nothing
(`tools.errors` names a packaging report that way).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
ABOVE_THE_WIRE = ("tools.modelfile", "tools.packaging", "tools.catalog")


def _module_name(path: Path) -> str:
    parts = path.relative_to(TOOLS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(path: Path) -> str:
    return _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)


def _imports(path: Path, package: str) -> set[str]:
    """Every module `path` (in `package`) imports at run time, relative imports resolved."""
    names: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    nodes: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        nodes.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def _source(module: str) -> Path | None:
    relative = Path(*module.split("."))
    for candidate in (
        TOOLS.parent / relative.with_suffix(".py"),
        TOOLS.parent / relative / "__init__.py",
    ):
        if candidate.is_file():
            return candidate
    return None


def _reached_from(start: Path) -> dict[str, str]:
    """Each `tools` module reachable from `start`, with the module that imports it."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        path = todo.pop()
        importer = _module_name(path)
        for name in _imports(path, _package(path)):
            if not name.startswith("tools") or name in seen:
                continue
            seen[name] = importer
            found = _source(name)
            if found is not None:
                todo.append(found)
    return seen


WIRE_MODULES = sorted(TOOLS.glob("api/*.py"))


def test_the_wire_layer_has_modules_to_check() -> None:
    assert {p.name for p in WIRE_MODULES} >= {"client.py", "options.py", "parameter_table.py"}


@pytest.mark.parametrize("path", WIRE_MODULES, ids=lambda p: p.name)
def test_no_wire_module_reaches_a_layer_above_it(path: Path) -> None:
    upward = {
        name: importer
        for name, importer in _reached_from(path).items()
        if name.startswith(ABOVE_THE_WIRE)
    }
    assert upward == {}, f"{path.name} reaches {upward}"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    # The check must be able to fail: the import options.py had before the table moved.
    module = tmp_path / "probe.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from tools.modelfile.parameters import PARAMETER_TYPES\n"
        "if TYPE_CHECKING:\n    from tools.catalog.store import ModelStore\n"
    )
    assert "tools.modelfile.parameters" in _imports(module, "tools.api")
    assert not any(name.startswith("tools.catalog") for name in _imports(module, "tools.api"))
    assert _source("tools.modelfile.parameters") is not None
