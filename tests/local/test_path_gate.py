"""The path gate: only regular files whose real location is inside an allowed root are read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.errors import ALLOW_MORE_HINT, NotARegularFile, OutsideAllowedRoots, PathNotAllowed
from tools.local.path_gate import AllowedRoots, open_regular


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """An allowed folder with one file, and a folder beside it that is not allowed."""
    allowed = tmp_path / "allowed"
    outside = tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "adapter.gguf").write_bytes(b"GGUF")
    (outside / "secret.txt").write_text("secret")
    return allowed.resolve(), outside.resolve()


def test_a_file_inside_a_root_is_returned_as_its_real_path(layout: tuple[Path, Path]) -> None:
    allowed, _ = layout
    gate = AllowedRoots([allowed])
    assert gate(allowed / "adapter.gguf") == allowed / "adapter.gguf"


def test_relative_paths_start_at_base_dir_and_tilde_is_home(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed, _ = layout
    monkeypatch.setenv("HOME", str(allowed))
    gate = AllowedRoots(["~"], base_dir=allowed)
    assert gate.roots == (allowed,)
    assert gate("adapter.gguf") == allowed / "adapter.gguf"
    assert gate("~/adapter.gguf") == allowed / "adapter.gguf"


def test_a_path_outside_the_roots_is_refused_with_roots_and_hint(
    layout: tuple[Path, Path],
) -> None:
    allowed, outside = layout
    gate = AllowedRoots([allowed])
    target = outside / "secret.txt"
    with pytest.raises(OutsideAllowedRoots) as caught:
        gate(target)
    assert str(caught.value) == (
        f"refusing to read {str(target)!r}: it is outside the allowed folders: {allowed}; "
        "to allow another folder, start the server with --allow-dir DIR "
        "or pass it in the connector's allowed_roots"
    )
    assert isinstance(caught.value, PermissionError)
    assert caught.value.filename == str(target)
    assert caught.value.roots == (allowed,)


def test_dot_dot_cannot_climb_out_of_a_root(layout: tuple[Path, Path]) -> None:
    allowed, _ = layout
    with pytest.raises(OutsideAllowedRoots):
        AllowedRoots([allowed])(allowed / ".." / "outside" / "secret.txt")


def test_a_root_is_not_a_string_prefix(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "f").write_text("x")
    with pytest.raises(OutsideAllowedRoots):
        AllowedRoots([tmp_path / "a"])(tmp_path / "ab" / "f")


def test_a_symlink_that_escapes_the_roots_is_refused(layout: tuple[Path, Path]) -> None:
    allowed, outside = layout
    link = allowed / "innocent.gguf"
    link.symlink_to(outside / "secret.txt")
    with pytest.raises(OutsideAllowedRoots) as caught:
        AllowedRoots([allowed])(link)
    assert str(caught.value) == (
        f"refusing to read {str(link)!r}: it is outside the allowed folders "
        f"(it resolves to {str(outside / 'secret.txt')!r}): {allowed}; {ALLOW_MORE_HINT}"
    )


def test_a_symlinked_directory_that_escapes_is_refused(layout: tuple[Path, Path]) -> None:
    allowed, outside = layout
    (allowed / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutsideAllowedRoots):
        AllowedRoots([allowed])(allowed / "sub" / "secret.txt")


def test_a_symlink_from_outside_into_a_root_is_judged_by_its_target(
    layout: tuple[Path, Path],
) -> None:
    allowed, outside = layout
    link = outside / "link.gguf"
    link.symlink_to(allowed / "adapter.gguf")
    assert AllowedRoots([allowed])(link) == allowed / "adapter.gguf"


def test_a_root_given_through_a_symlink_matches_real_paths(
    layout: tuple[Path, Path], tmp_path: Path
) -> None:
    allowed, _ = layout
    alias = tmp_path / "alias"
    alias.symlink_to(allowed, target_is_directory=True)
    gate = AllowedRoots([alias])
    assert gate(alias / "adapter.gguf") == allowed / "adapter.gguf"


def test_dev_zero_is_refused_without_being_read() -> None:
    with pytest.raises(NotARegularFile) as caught:
        AllowedRoots(["/dev"])("/dev/zero")
    assert str(caught.value) == (
        "refusing to read '/dev/zero': it is a character device, not a regular file; "
        "only regular files are read"
    )
    with pytest.raises(OutsideAllowedRoots):
        AllowedRoots([Path.home()])("/dev/zero")


def test_a_fifo_is_refused_without_being_opened(layout: tuple[Path, Path]) -> None:
    allowed, _ = layout
    fifo = allowed / "pipe.gguf"
    os.mkfifo(fifo)
    # Opening a FIFO for reading blocks until a writer appears: finishing at all shows it was not.
    with pytest.raises(NotARegularFile) as caught:
        AllowedRoots([allowed])(fifo)
    assert str(caught.value) == (
        f"refusing to read {str(fifo)!r}: it is a FIFO (named pipe), not a regular file; "
        "only regular files are read"
    )
    with pytest.raises(NotARegularFile):
        open_regular(fifo)


def test_a_directory_is_not_a_file(layout: tuple[Path, Path]) -> None:
    allowed, _ = layout
    with pytest.raises(NotARegularFile, match="it is a directory, not a regular file"):
        AllowedRoots([allowed])(allowed)
    assert AllowedRoots([allowed]).directory(allowed) == allowed


def test_missing_inside_is_file_not_found_but_outside_is_refused_first(
    layout: tuple[Path, Path],
) -> None:
    allowed, outside = layout
    gate = AllowedRoots([allowed])
    with pytest.raises(FileNotFoundError, match="No such file or directory"):
        gate(allowed / "missing.gguf")
    # Outside the roots the gate does not even say whether the file exists.
    with pytest.raises(OutsideAllowedRoots):
        gate(outside / "missing.gguf")


def test_no_roots_refuses_everything_and_says_how_to_allow(layout: tuple[Path, Path]) -> None:
    allowed, _ = layout
    with pytest.raises(PathNotAllowed, match=r"none \(no folder is allowed yet\); to allow"):
        AllowedRoots([])(allowed / "adapter.gguf")


def test_open_regular_refuses_a_file_replaced_after_the_check(layout: tuple[Path, Path]) -> None:
    allowed, _ = layout
    target = allowed / "adapter.gguf"
    checked = os.stat(target)
    target.rename(allowed / "kept-aside")  # kept, so the new file cannot reuse its inode
    target.write_bytes(b"other")
    with pytest.raises(NotARegularFile, match="replaced"):
        open_regular(target, checked)


def test_open_regular_refuses_a_symlink_swapped_in_at_the_end(layout: tuple[Path, Path]) -> None:
    allowed, outside = layout
    link = allowed / "swapped"
    link.symlink_to(outside / "secret.txt")
    with pytest.raises(NotARegularFile, match="symbolic link"):
        open_regular(link)
