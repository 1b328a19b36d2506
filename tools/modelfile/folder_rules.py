"""Which files of a folder `ollama create` uploads for FROM, DRAFT and ADAPTER (contract 5.5).

A model folder follows Ollama's rules (parser.filesForModel), the first that matches wins:

    model*.safetensors (and */model*.safetensors) · consolidated*.safetensors ·
    pytorch_model*.bin (zip) · consolidated*.pth (zip) · *.gguf (binary) · *.bin (binary)

plus `*.json`, `*/*.json`, `chat_template.jinja` (text) and `tokenizer.model` (binary; else
`*/tokenizer.model` as text). "zip", "binary" and "text" are Go's content sniffing
(`content_sniff`); a weight pattern whose files are not all of that kind does not match.
Nothing found is `no Modelfile or safetensors files found`.

An adapter folder with `adapter_config.json` (the PEFT layout, or MLX-LM's) uploads that file and
its top-level `*.safetensors`, which the current Ollama CLI misses (ollama#13314); any other
adapter folder follows the model rules.

Every file passes the caller's gate (`readable`) before it is opened, and must really lie inside
the folder (a symlink out of it is `insecure path: ...`, as in Ollama). A subfolder that is a
symlink out of the folder is refused the same way *before* it is listed, so the rules never list a
folder outside the allowed roots. Files are opened with `tools.local.path_gate.open_regular`: a
FIFO swapped in after the gate's check cannot block the content sniffing.
Each file comes back as (`named`, `real`): `named` is the folder's real path joined with the name
found in it (upload keys are made from it), `real` is what the gate returned (what is read).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Final, TypeAlias

from tools.errors import AdapterFormatError, ContentTypeError, InsecurePathError, NoModelFilesError
from tools.local.adapter_files import ADAPTER_CONFIG_NAME, PICKLE_WEIGHTS_NAME
from tools.local.path_gate import PathGate, open_regular
from tools.modelfile.content_sniff import OCTET_STREAM, SNIFF_LENGTH, detect_content_type

FoundFile: TypeAlias = tuple[Path, Path]  # (named, real)


_ZIP: Final = "application/zip"
_TEXT: Final = "text/plain"
# (pattern, required content type or None); the first pattern with files gives the weights.
_WEIGHT_PATTERNS: Final[tuple[tuple[str, str | None], ...]] = (
    ("model*.safetensors", None),
    ("consolidated*.safetensors", None),
    ("pytorch_model*.bin", _ZIP),
    ("consolidated*.pth", _ZIP),
    ("*.gguf", OCTET_STREAM),
    ("*.bin", OCTET_STREAM),
)


class _Folder:
    """One folder, read through the gate."""

    def __init__(self, real_dir: Path, readable: PathGate) -> None:
        self.real_dir = real_dir
        self.readable = readable

    def matches(self, pattern: str, nested: bool = False) -> list[Path]:
        """Regular files matching `pattern` (case-sensitive, dot files too, as Go's Glob), or
        matching it inside a subfolder when `nested`."""
        folders = [self.real_dir]
        if nested:
            folders = [self.real_dir / name for name in _names(self.real_dir)]
            folders = [self.inside(folder) for folder in folders if folder.is_dir()]
        return [
            folder / name
            for folder in folders
            for name in _names(folder)
            if fnmatch.fnmatchcase(name, pattern) and (folder / name).is_file()
        ]

    def inside(self, path: Path) -> Path:
        """`path` itself, if it really lies inside the folder; a symlink out is insecure."""
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(self.real_dir):
            raise InsecurePathError(os.path.relpath(real, self.real_dir))
        return path

    def gated(self, named: Path) -> Path:
        real = self.readable(named)
        self.inside(real)
        return real

    def take(self, named: list[Path], wanted: str | None) -> list[FoundFile] | None:
        """The files through the gate, or None when one is not of the `wanted` content type."""
        found = [(path, self.gated(path)) for path in named]
        if wanted is not None and any(_content_type(real) != wanted for _, real in found):
            return None
        return found

    def require(self, named: list[Path], wanted: str) -> list[FoundFile]:
        found = [(path, self.gated(path)) for path in named]
        for path, real in found:
            if (kind := _content_type(real)) != wanted:
                raise ContentTypeError(path, kind, wanted)
        return found


def _names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _content_type(real: Path) -> str:
    with open_regular(real) as stream:
        return detect_content_type(stream.read(SNIFF_LENGTH))


def model_folder_files(real_dir: Path, readable: PathGate) -> list[FoundFile]:
    """The files `ollama create` uploads for a model folder (FROM or DRAFT), by its rules."""
    folder = _Folder(real_dir, readable)
    weights: list[FoundFile] | None = None
    for pattern, wanted in _WEIGHT_PATTERNS:
        weights = folder.take(folder.matches(pattern), wanted)
        if weights:
            if pattern == "model*.safetensors":
                # Sentence-transformers modules keep more weights one level down.
                weights += folder.take(folder.matches(pattern, nested=True), None) or []
            break
    if not weights:
        raise NoModelFilesError(real_dir)
    files = weights
    files += folder.require(folder.matches("*.json"), _TEXT)
    files += folder.require(folder.matches("*.json", nested=True), _TEXT)
    files += folder.require(folder.matches("chat_template.jinja"), _TEXT)
    tokenizer = folder.take(folder.matches("tokenizer.model"), OCTET_STREAM)
    if not tokenizer:
        # Some repositories keep it in a subfolder; Ollama takes it there only as text.
        tokenizer = folder.take(folder.matches("tokenizer.model", nested=True), _TEXT)
    return files + (tokenizer or [])


def adapter_folder_files(real_dir: Path, readable: PathGate) -> list[FoundFile]:
    """The files to upload for an ADAPTER folder.

    With `adapter_config.json`: it and the top-level `*.safetensors` (PEFT's
    `adapter_model.safetensors`, MLX-LM's `adapters.safetensors`, or shards). Otherwise the model
    folder rules, which find e.g. a GGUF LoRA.
    """
    folder = _Folder(real_dir, readable)
    config = folder.matches(ADAPTER_CONFIG_NAME)
    if not config:
        return model_folder_files(real_dir, readable)
    weights = folder.matches("*.safetensors")
    if weights:
        return folder.take(config + weights, None) or []
    if folder.matches(PICKLE_WEIGHTS_NAME):
        raise AdapterFormatError(
            f"{str(real_dir / PICKLE_WEIGHTS_NAME)!r} is a PyTorch pickle, "
            "which Ollama cannot read (it answers `unknown type`); save the adapter as safetensors "
            "(PEFT: save_pretrained(..., safe_serialization=True))"
        )
    raise NoModelFilesError(real_dir, f"no *.safetensors weights beside {ADAPTER_CONFIG_NAME}")
