"""The gate for every local path the connector reads.

Paths come from an AI assistant, so none is trusted: a path is read only when its *real* location
(after `~`, relative paths and every symlink are resolved) lies inside one of the allowed roots the
caller gave, and only when it is a regular file. FIFOs, devices and sockets are refused from
`os.stat`, before anything is opened: `/dev/zero` would otherwise be read forever and opening a FIFO
blocks until a writer appears.

Refusals are `PermissionError`s (so `except PermissionError` and `except OSError` both catch them),
drawn with the rest in `tools.errors`:

    PathNotAllowed            PermissionError: the gate will not read this path
    ├── OutsideAllowedRoots   its real location is outside every allowed root (symlinks included)
    └── NotARegularFile       a directory, FIFO, device or socket where a file is needed

A path inside the roots that does not exist raises `PathNotFound`, a `FileNotFoundError`. A path
outside the roots is refused *before* its existence is checked, so the gate never reveals what
exists there.
Each refusal names the path, the allowed roots and how to allow more: `--allow-dir DIR` on the
server, or the `allowed_roots` argument of the connector.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from tools.errors import (
    NotADirectory,
    NotARegularFile,
    OutsideAllowedRoots,
    PathNotFound,
    PathUnresolvable,
)

PathGate = Callable[[Path], Path]
"""Takes a path as written, returns the real path of a regular file it may read, or raises."""


def file_kind(mode: int) -> str:
    """A human name for what `mode` describes, e.g. 'a FIFO (named pipe)'."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


class AllowedRoots:
    """The folders a caller allows; everything else is refused.

    `base_dir` is where relative paths start (default: the current directory at call time).
    The roots themselves are resolved once, so a root given through a symlink still matches real
    paths.
    Calling the object is the `PathGate` form: it returns the real path of an allowed regular file.
    """

    def __init__(
        self,
        roots: Iterable[str | os.PathLike[str]],
        *,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.base_dir = Path(base_dir).expanduser() if base_dir is not None else None
        self.roots: tuple[Path, ...] = tuple(
            dict.fromkeys(self.absolute(Path(r)).resolve() for r in roots)
        )

    def __repr__(self) -> str:
        return f"AllowedRoots({[str(r) for r in self.roots]!r})"

    def __call__(self, path: str | os.PathLike[str]) -> Path:
        return self.regular_file(path)

    def absolute(self, path: str | os.PathLike[str]) -> Path:
        """`path` with `~` expanded and made absolute against `base_dir`; symlinks not resolved."""
        path = Path(path).expanduser()
        if path.is_absolute():
            return path
        return (self.base_dir or Path.cwd()) / path

    def contains(self, real: Path) -> bool:
        return any(real == root or real.is_relative_to(root) for root in self.roots)

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real path, checked against the roots; it need not exist yet."""
        try:
            real = self.absolute(Path(path)).resolve()
        except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError on Python 3.11)
            raise PathUnresolvable(
                errno.ELOOP, f"cannot resolve {str(path)!r}: {exc}", str(path)
            ) from None
        if not self.contains(real):
            raise OutsideAllowedRoots(path, real, self.roots)
        return real

    def stat(self, path: str | os.PathLike[str]) -> tuple[Path, os.stat_result]:
        """The real path and its `os.stat`; `FileNotFoundError` if it does not exist."""
        real = self.resolve(path)
        try:
            return real, os.stat(real)
        except FileNotFoundError:
            raise PathNotFound(errno.ENOENT, os.strerror(errno.ENOENT), str(path)) from None

    def regular_file(self, path: str | os.PathLike[str]) -> Path:
        """The real path of an allowed regular file; refuses anything else without opening it."""
        return self.regular_file_stat(path)[0]

    def regular_file_stat(self, path: str | os.PathLike[str]) -> tuple[Path, os.stat_result]:
        """`regular_file` with the `os.stat` it checked, for `open_regular(real, expected)` to
        make sure the file it opens is that one."""
        real, st = self.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(path, file_kind(st.st_mode), self.roots)
        return real, st

    def directory(self, path: str | os.PathLike[str]) -> Path:
        """The real path of an allowed directory (its files still pass the gate one by one)."""
        real, st = self.stat(path)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectory(errno.ENOTDIR, f"not a directory: {str(path)!r}", str(path))
        return real


def deny_all() -> AllowedRoots:
    """The default gate: no folder allowed, so every local file is refused with the hint."""
    return AllowedRoots(())


def open_regular(real: Path, expected: os.stat_result | None = None) -> io.FileIO:
    """Open a path the gate returned, and check that what was opened is still that regular file.

    The real path is walked one folder at a time without following symlinks, so a folder swapped
    for a symlink after the check is refused rather than followed out of the roots; `expected`
    (the `os.stat` the gate checked) must then match the opened file's device and inode.
    `O_NONBLOCK` keeps a FIFO swapped in after the check from blocking the open.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = _open_without_following(real, flags)
    except NotARegularFile:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotARegularFile(
                real, "a symbolic link (it changed after it was checked)", ()
            ) from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(real, file_kind(st.st_mode), ())
        if expected is not None and (st.st_dev, st.st_ino) != (expected.st_dev, expected.st_ino):
            raise NotARegularFile(
                real, "a different file from the one checked (it was replaced)", ()
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def checked_stat(real: Path) -> os.stat_result:
    """The `os.stat` of the regular file at `real`, taken from a descriptor opened as
    `open_regular` opens it, so that it describes the file at that very path."""
    with open_regular(real) as stream:
        return os.fstat(stream.fileno())


_CAN_WALK = (
    os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY") and hasattr(os, "O_NOFOLLOW")
)


def _open_without_following(real: Path, flags: int) -> int:
    """`os.open(real, flags)`, each folder on the way opened relative to the one before with
    `O_NOFOLLOW`, so that a symlink anywhere on the path is refused (`NotARegularFile`), never
    followed."""
    if not _CAN_WALK or not real.is_absolute():
        return os.open(real, flags)
    *folders, name = real.parts
    cloexec = getattr(os, "O_CLOEXEC", 0)
    current = os.open(folders[0], os.O_RDONLY | os.O_DIRECTORY | cloexec)
    try:
        for part in folders[1:]:
            try:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | cloexec,
                                dir_fd=current)  # fmt: skip
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise NotARegularFile(
                        real,
                        "under a folder that was replaced (it changed after it was checked)",
                        (),
                    ) from exc
                exc.filename = str(real)  # the whole path, not the one folder that failed
                raise
            os.close(current)
            current = inner
        try:
            return os.open(name, flags, dir_fd=current)
        except OSError as exc:
            exc.filename = str(real)
            raise
    finally:
        os.close(current)
