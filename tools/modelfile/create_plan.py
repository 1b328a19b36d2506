"""A Modelfile turned into Ollama's JSON create request, the way `ollama create` does it (5.5).

`to_create_request` reads the Modelfile's instructions and the local files they name, and returns
a `CreatePlan`: the request fields plus the files to upload as blobs. Hashing and uploading are
someone else's job (`tools.packaging.blobs`); once every file has a digest,
`plan.request_body(digests)` is the exact JSON body of contract 5.1 (without `model`, `stream`
or `quantize`).

The rules, as the CLI applies them:

* FROM: a path (absolute; `~` or `~user`; else relative to `base_dir`) that does not exist is a
  model name, sent as `from`; when the value cannot be a model name (`/etc/x`, `../x`), the gate
  sees it first, so a FROM outside the roots is refused whether or not it exists. A file is
  uploaded into `files`; a folder contributes the files of `folder_rules`. Several FROM
  lines add up (split GGUFs, projectors).
* ADAPTER must exist: a GGUF LoRA file, a `.safetensors` file with `adapter_config.json` beside
  it, or an adapter folder (PEFT's layout is found, unlike the current CLI). Only one ADAPTER.
* DRAFT must exist, and must not be a FROM path; its files go to `draft_files`.
* Upload keys are relative names: the base name of a lone file, else the path below the files'
  common folder, with forward slashes.
* TEMPLATE, SYSTEM, RENDERER, PARSER: the last wins. LICENSE: always a list. MESSAGE: messages.
* REQUIRES must be semver (`requires must be a valid semver (e.g. 0.14.0)`); a `v` is dropped.
* PARAMETER: typed and checked by `parameters` (deprecated names dropped with a warning).

Which files may be read is the caller's decision: `readable(path)` returns the real path of a file
that may be read and raises otherwise (whatever it raises propagates); it sees every file before
it is opened. `listable(path)`, if given, does the same for folders before they are listed
(without it, folders are resolved here and only their files pass `readable`). Whether a path
exists, and whether it is a file or a folder, is checked with `os.stat` first, as Ollama does:
for FROM that is what tells a model name from a path. A missing ADAPTER or DRAFT goes to
`readable` before it is reported missing, so a refused path reads the same whether it exists.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from tools.api.names import is_valid_model_name
from tools.errors import (
    AdapterFormatError,
    CreatePlanError,
    PathNotFound,
)
from tools.local.adapter_files import ADAPTER_CONFIG_NAME
from tools.local.path_gate import PathGate, checked_stat, open_regular
from tools.modelfile.document import Instruction, Modelfile, ModelfileMessage, Parameter, parse
from tools.modelfile.folder_rules import (
    FoundFile,
    adapter_folder_files,
    model_folder_files,
)
from tools.modelfile.parameters import ParameterValue, typed_parameters

UploadSection: TypeAlias = Literal["files", "adapters", "draft_files"]

REQUIRES_NOT_SEMVER: Final = "requires must be a valid semver (e.g. 0.14.0)"
ONLY_ONE_ADAPTER: Final = "only one adapter is currently supported"
_GGUF_MAGIC: Final = b"GGUF"

# golang.org/x/mod/semver: vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]], no leading zeros.
_NUMBER = r"(?:0|[1-9][0-9]*)"
_PRERELEASE_PART = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_GO_SEMVER: Final = re.compile(
    rf"v{_NUMBER}(?:\.{_NUMBER}|\.{_NUMBER}\.{_NUMBER}"
    rf"(?:-{_PRERELEASE_PART}(?:\.{_PRERELEASE_PART})*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class PlannedUpload:
    """A local file to upload as a blob: `key` in the request's `section`, read from `path`
    (the real path the gate returned)."""

    key: str
    path: Path
    section: UploadSection
    checked: os.stat_result | None = field(default=None, compare=False)
    """The file's `os.stat` when it was checked: the upload must read that very file."""


@dataclass(frozen=True, slots=True)
class CreatePlan:
    """The create request a Modelfile stands for, before its files have digests."""

    from_model: str | None = None
    uploads: tuple[PlannedUpload, ...] = ()
    template: str | None = None
    system: str | None = None
    license: tuple[str, ...] = ()
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)
    messages: tuple[ModelfileMessage, ...] = ()
    renderer: str | None = None
    parser: str | None = None
    requires: str | None = None
    warnings: tuple[str, ...] = ()
    """What `ollama create` prints as warnings (deprecated parameters dropped)."""

    def request_body(self, digests: Mapping[Path, str]) -> dict[str, Any]:
        """The JSON body of `/api/create` (contract 5.1), empty fields left out as Go leaves
        them out; `digests` maps each upload's `path` to its `sha256:...` digest."""
        body: dict[str, Any] = {}
        if self.from_model:
            body["from"] = self.from_model
        for section in ("files", "adapters", "draft_files"):
            blobs = {u.key: _digest(digests, u.path) for u in self.uploads if u.section == section}
            if blobs:
                body[section] = blobs
        for key, text in (("template", self.template), ("system", self.system)):
            if text:
                body[key] = text
        if self.license:
            body["license"] = list(self.license)
        if self.parameters:
            body["parameters"] = {
                name: list(value) if isinstance(value, list) else value
                for name, value in self.parameters.items()
            }
        if self.messages:
            body["messages"] = [{"role": m.role, "content": m.content} for m in self.messages]
        for key, text in (
            ("renderer", self.renderer),
            ("parser", self.parser),
            ("requires", self.requires),
        ):
            if text:
                body[key] = text
        return body


def _digest(digests: Mapping[Path, str], path: Path) -> str:
    try:
        return digests[path]
    except KeyError:
        raise KeyError(f"no digest given for {str(path)!r}") from None


def to_create_request(
    modelfile: Modelfile | str | bytes,
    base_dir: str | os.PathLike[str],
    *,
    readable: PathGate,
    listable: PathGate | None = None,
    from_is_model_name: bool = False,
) -> CreatePlan:
    """The create request for `modelfile` (parsed first if it is text) and the files to upload.

    `base_dir` is the Modelfile's folder: relative paths start there. Raises `ModelfileError`,
    `ParameterError`, `CreatePlanError` and the errors of `folder_rules` (all `ValueError`s),
    `FileNotFoundError` for a missing ADAPTER or DRAFT, and whatever `readable` or `listable`
    raise. With `from_is_model_name`, FROM is taken as a model name without looking for a file
    of that name (for callers that were given a model name, not a Modelfile).
    """
    if not isinstance(modelfile, Modelfile):
        modelfile = parse(modelfile)
    base = Path(os.path.abspath(Path(base_dir).expanduser()))
    builder = _Builder(base, readable, listable, from_is_model_name=from_is_model_name)
    for command in modelfile.commands:
        builder.add(command)
    return builder.plan()


class _Builder:
    def __init__(
        self,
        base: Path,
        readable: PathGate,
        listable: PathGate | None,
        *,
        from_is_model_name: bool = False,
    ) -> None:
        self.base = base
        self.from_is_model_name = from_is_model_name
        self.readable = readable
        self.listable = listable
        self.from_model: str | None = None
        self.found: dict[UploadSection, dict[Path, Path]] = {
            "files": {},
            "adapters": {},
            "draft_files": {},
        }
        self.checked: dict[Path, os.stat_result] = {}
        self.from_paths: list[Path] = []
        self.draft_paths: list[Path] = []
        self.texts: dict[str, str] = {}
        self.licenses: list[str] = []
        self.messages: list[ModelfileMessage] = []
        self.parameters: list[tuple[str, str]] = []

    def add(self, command: Instruction | Parameter | ModelfileMessage) -> None:
        if isinstance(command, Parameter):
            self.parameters.append((command.name, command.value))
        elif isinstance(command, ModelfileMessage):
            self.messages.append(command)
        elif command.keyword == "from":
            self._add_from(command.value)
        elif command.keyword in ("adapter", "draft"):
            self._add_required_path(command.keyword, command.value)
        elif command.keyword == "license":
            self.licenses.append(command.value)
        elif command.keyword == "requires":
            self.texts["requires"] = _semver(command.value)
        else:
            self.texts[command.keyword] = command.value

    def _add_from(self, value: str) -> None:
        if self.from_is_model_name:
            self.from_model = value
            return
        path = expand_path(value, self.base)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            if not is_valid_model_name(value):
                # Only a path: ask the gate, so that a refused path reads the same whether or
                # not it exists (it would otherwise be sent to Ollama as a name only if missing).
                with contextlib.suppress(FileNotFoundError):
                    self.readable(path)
            self.from_model = value  # not a file: a model name (Ollama's rule, ollama#4538)
            return
        self._reject_same_path("DRAFT", path, self.draft_paths)
        self.from_paths.append(path)
        self._keep("files", self._local_files(path, info, model_folder_files))

    def _add_required_path(self, keyword: Literal["adapter", "draft"], value: str) -> None:
        path = expand_path(value, self.base)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            # Ask the gate first, so that a path it refuses is refused the same way whether or
            # not it exists.
            self.readable(path)
            raise PathNotFound(
                errno.ENOENT, f"{keyword.upper()} path does not exist", str(path)
            ) from None
        if keyword == "draft":
            self._reject_same_path("DRAFT", path, self.from_paths)
            self.draft_paths.append(path)
            self._keep("draft_files", self._local_files(path, info, model_folder_files))
            return
        if self.found["adapters"]:
            raise CreatePlanError(ONLY_ONE_ADAPTER)
        if stat.S_ISDIR(info.st_mode):
            self._keep("adapters", self._local_files(path, info, adapter_folder_files))
        else:
            self._keep("adapters", self._adapter_file(path))

    def _local_files(
        self,
        path: Path,
        info: os.stat_result,
        folder_rules: Callable[[Path, PathGate], list[FoundFile]],
    ) -> list[FoundFile]:
        if stat.S_ISDIR(info.st_mode):
            real_dir = self.listable(path) if self.listable else Path(os.path.realpath(path))
            return folder_rules(real_dir, self.readable)
        return [(path, self._readable_file(path))]

    def _readable_file(self, path: Path) -> Path:
        real = self.readable(path)
        # The gate decides first; a FIFO or a device would never finish uploading.
        if not stat.S_ISREG(os.stat(real).st_mode):
            raise CreatePlanError(f"{str(path)!r} is neither a regular file nor a folder")
        return real

    def _adapter_file(self, path: Path) -> list[FoundFile]:
        real = self._readable_file(path)
        if path.name.endswith(".safetensors"):
            # Ollama converts a safetensors adapter with the config that sits beside it.
            config = path.parent / ADAPTER_CONFIG_NAME
            try:
                real_config = self._readable_file(config)
            except FileNotFoundError as missing:
                raise PathNotFound(
                    errno.ENOENT,
                    f"a safetensors ADAPTER needs {ADAPTER_CONFIG_NAME} beside it",
                    str(config),
                ) from missing
            return [(path, real), (config, real_config)]
        with open_regular(real) as stream:
            magic = stream.read(len(_GGUF_MAGIC))
        if magic != _GGUF_MAGIC:
            raise AdapterFormatError(
                f"ADAPTER {str(path)!r} is neither a GGUF file nor a .safetensors adapter "
                "(nor a folder holding one)"
            )
        return [(path, real)]

    def _keep(self, section: UploadSection, files: list[FoundFile]) -> None:
        for named, real in files:
            self.found[section][named] = real
            # Taken through a descriptor opened without following symlinks, so it is the file
            # at the checked real path, inside the roots.
            self.checked[real] = checked_stat(real)

    @staticmethod
    def _reject_same_path(name: str, path: Path, others: list[Path]) -> None:
        real = os.path.realpath(path)
        if any(os.path.realpath(other) == real for other in others):
            raise CreatePlanError(f"{name} must not reference the same local path as FROM: {path}")

    def plan(self) -> CreatePlan:
        typed = typed_parameters(self.parameters)
        uploads = [
            PlannedUpload(key, real, section, self.checked.get(real))
            for section, files in self.found.items()
            for key, real in zip(_relative_names(list(files)), files.values(), strict=True)
        ]
        return CreatePlan(
            from_model=self.from_model,
            uploads=tuple(uploads),
            template=self.texts.get("template"),
            system=self.texts.get("system"),
            license=tuple(self.licenses),
            parameters=typed.values,
            messages=tuple(self.messages),
            renderer=self.texts.get("renderer"),
            parser=self.texts.get("parser"),
            requires=self.texts.get("requires"),
            warnings=tuple(f"parameter {name} is deprecated" for name in typed.deprecated),
        )


def expand_path(value: str, base: Path) -> Path:
    """A Modelfile path made absolute as `ollama create` does: `~` and `~user` expand, other
    relative paths start at `base`; `..` is resolved by name, symlinks are not."""
    if value.startswith("~"):
        expanded = os.path.expanduser(value)
        if expanded == value:
            user = value[1:].split("/", 1)[0]
            raise CreatePlanError(f"failed to find user '{user}'")
        value = expanded
    return Path(os.path.abspath(os.path.join(base, value)))


def _semver(value: str) -> str:
    version = value if value.startswith("v") else f"v{value}"
    if not _GO_SEMVER.fullmatch(version):
        raise CreatePlanError(REQUIRES_NOT_SEMVER)
    return version[1:]


def _relative_names(paths: list[Path]) -> list[str]:
    """Upload keys: the base name of a lone file, else the path below the common folder."""
    if len(paths) < 2:
        return [path.name for path in paths]
    root = os.path.commonpath([os.fspath(path.parent) for path in paths])
    return [posixpath.normpath(os.path.relpath(path, root).replace(os.sep, "/")) for path in paths]
