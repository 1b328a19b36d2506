"""The one error tree: every exception the connector raises lives in `tools.errors`, derives from
`OllamaError`, is drawn in the module's docstring, and keeps the builtin base callers catch."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import tools
from tools import errors
from tools.errors import OllamaError

TOOLS_DIR = Path(tools.__file__).parent

# Builtins that say what went wrong, and so belong in the tree when the connector raises them.
# TypeError and KeyError stay builtin: they report a caller's programming error, not a failure.
MEANINGFUL_BUILTINS = {
    "ConnectionError",
    "Exception",
    "FileNotFoundError",
    "LookupError",
    "NotADirectoryError",
    "OSError",
    "PermissionError",
    "RuntimeError",
    "TimeoutError",
    "ValueError",
}


def _modules() -> list[str]:
    found = ["tools"]
    for info in pkgutil.walk_packages([str(TOOLS_DIR)], prefix="tools."):
        found.append(info.name)
    return found


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined under tools/, by qualified name. Warnings are left out:
    they are issued with `warnings.warn`, never raised."""
    classes: dict[str, type[BaseException]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and not issubclass(value, Warning)
                and value.__module__ == name
            ):
                classes[f"{name}.{value.__qualname__}"] = value
    return classes


def test_the_walk_sees_every_subpackage() -> None:
    modules = set(_modules())
    for package in ("api", "modelfile", "local", "packaging", "catalog", "shared"):
        assert f"tools.{package}" in modules
    assert "tools.api.client" in modules


def test_every_exception_class_under_tools_is_in_the_tree() -> None:
    classes = _exception_classes()
    assert len(classes) > 30  # the walk found the tree, not an empty package
    outside = sorted(name for name, cls in classes.items() if not issubclass(cls, OllamaError))
    assert outside == []
    elsewhere = sorted(name for name in classes if not name.startswith("tools.errors."))
    assert elsewhere == []


def test_the_docstring_draws_every_class_of_the_tree() -> None:
    drawn = set(re.findall(r"[├└]── (\w+)", errors.__doc__ or ""))
    drawn.add("OllamaError")
    defined = {cls.__name__ for cls in _exception_classes().values()}
    assert drawn == defined


def _bare_raises(root: Path = TOOLS_DIR) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id in MEANINGFUL_BUILTINS:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {raised.id}")
    return found


def test_no_builtin_error_is_raised_bare_where_a_tree_class_belongs() -> None:
    assert _bare_raises() == []


def test_the_scan_for_bare_raises_finds_one(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f():\n    raise ValueError('bare')\n", encoding="utf-8")
    assert _bare_raises(tmp_path) == ["bad.py:2: ValueError"]


@pytest.mark.parametrize(
    ("branch", "builtin"),
    [
        (errors.OllamaUnavailable, ConnectionError),
        (errors.OllamaTimeout, TimeoutError),
        (errors.InvalidInput, ValueError),
        (errors.GoLiteralError, ValueError),
        (errors.LocalPathError, OSError),
        (errors.PathNotAllowed, PermissionError),
        (errors.PathNotFound, FileNotFoundError),
        (errors.NotADirectory, NotADirectoryError),
        (errors.OllamaAPIError, RuntimeError),
        (errors.ModelNotFound, LookupError),
        (errors.BaseModelNotInstalled, ValueError),
        (errors.FileChangedDuringUpload, RuntimeError),
        (errors.PushFailed, RuntimeError),
    ],
)
def test_each_branch_keeps_the_builtin_base_callers_catch(
    branch: type[OllamaError], builtin: type[Exception]
) -> None:
    assert issubclass(branch, builtin)


def test_a_path_error_keeps_the_oserror_fields() -> None:
    missing = errors.PathNotFound(2, "No such file or directory", "/nowhere")
    assert (missing.errno, missing.filename) == (2, "/nowhere")
    assert str(missing) == "[Errno 2] No such file or directory: '/nowhere'"
