"""Read Ollama's model folder directly, for when the daemon is down (contract section 12).

The listing follows what `/api/tags` does (12.6): glob `manifests/*/*/*/*`, keep names that pass
the name grammar, parse each manifest, read its config blob, and derive the same fields, leaving
out what Ollama leaves out. Capabilities are not derived: Ollama gets some of them by parsing Go
templates, and a partial list would claim a model lacks what it has, so they are left unknown.

The folder is `$OLLAMA_MODELS` or `~/.ollama/models` as seen by *this* process; Ollama's own
server may have been started with another environment (contract 12.1).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread

from tools.api.names import ModelName, parse_model_name
from tools.api.types import ModelDetails, ModelSummary, ShowResponse
from tools.catalog.store_gguf import read_list_fallbacks
from tools.errors import BadManifest, GGUFFormatError, InvalidModelName
from tools.local.path_gate import file_kind

logger = logging.getLogger(__name__)

MODELS_ENV = "OLLAMA_MODELS"
MEDIA_PREFIX = "application/vnd.ollama.image."
_DIGEST = re.compile(r"sha256[:-][0-9a-fA-F]{64}")
MAX_MANIFEST_BYTES = 4 << 20  # a manifest or config over this is left out (real ones are KBs)
MAX_TEXT_LAYER_BYTES = 16 << 20  # template, system and license layers
_GO_DECODER_FIRST_READ = 512  # encoding/json's Decoder reads 512, then grows its buffer 2x + 512


@dataclass(frozen=True)
class StoredModel:
    """One installed model as read from disk."""

    name: ModelName
    manifest_path: Path
    summary: ModelSummary
    layers: tuple[Mapping[str, Any], ...]
    config: Mapping[str, Any]


def default_models_dir() -> Path:
    """`$OLLAMA_MODELS` trimmed of spaces and quotes (as Ollama trims it), else
    `~/.ollama/models`."""
    value = os.environ.get(MODELS_ENV, "").strip().strip("\"'")
    return Path(value) if value else Path.home() / ".ollama" / "models"


class ModelStore:
    """Ollama's model folder, read-only. Blocking methods end in `_sync`; the async ones run
    them in a worker thread."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_models_dir()

    @property
    def manifests_dir(self) -> Path:
        return self.root / "manifests"

    def exists(self) -> bool:
        return self.manifests_dir.is_dir()

    async def list_models(self) -> list[ModelSummary]:
        return await anyio.to_thread.run_sync(self.list_models_sync)

    async def show(self, name: str | ModelName) -> ShowResponse | None:
        """The basic `/api/show` fields of one model, or None if it is not in the folder."""
        return await anyio.to_thread.run_sync(self.show_sync, name)

    def list_models_sync(self) -> list[ModelSummary]:
        """What `/api/tags` would list, newest first (ties by name; Ollama's order is random)."""
        summaries = [model.summary for model in self.read_models()]
        summaries.sort(key=lambda summary: summary.name)
        summaries.sort(key=_modified_seconds, reverse=True)
        return summaries

    def read_models(self) -> list[StoredModel]:
        found = []
        for path in sorted(self.manifests_dir.glob("*/*/*/*")):
            if path.is_dir():
                continue
            name = name_from_parts(*path.relative_to(self.manifests_dir).parts)
            if name is None:
                logger.debug("skipping %s: not a valid model name", path)
                continue
            model = self._read(name, path)
            if model is not None:
                found.append(model)
        return found

    def find(self, name: str | ModelName) -> StoredModel | None:
        """The model called `name` (parts matched case-insensitively, as Ollama matches them)."""
        wanted = name if isinstance(name, ModelName) else parse_model_name(name)
        path: Path | None = self.manifests_dir
        for part in (wanted.host, wanted.namespace, wanted.model, wanted.tag):
            path = _child_ignoring_case(path, part) if path is not None else None
        if path is None or path.is_dir():
            return None
        found = name_from_parts(*path.relative_to(self.manifests_dir).parts)
        return None if found is None else self._read(found, path)

    def show_sync(self, name: str | ModelName) -> ShowResponse | None:
        model = self.find(name)
        if model is None:
            return None
        by_type = _layers_by_type(model.layers)
        system = [self._text(layer) for layer in by_type.get("system", [])]
        licenses = [self._text(layer) for layer in by_type.get("license", [])]
        # /api/show leaves the two lengths out of `details` (contract 12.7).
        # Show clones the config's list, so an empty one stays [] there.
        details = model.summary.details.model_copy(
            update={
                "context_length": None,
                "embedding_length": None,
                "families": _families(model.config),
            }
        )
        return ShowResponse(
            license="\n".join(licenses),
            system=system[-1] if system else "",
            details=details,
            model_info={},
            modified_at=model.summary.modified_at,
            requires=_optional_str(model.config, "requires"),
            remote_model=model.summary.remote_model,
            remote_host=model.summary.remote_host,
        )

    # --- one model -----------------------------------------------------------------------------

    def _read(self, name: ModelName, path: Path) -> StoredModel | None:
        try:
            return self._read_or_raise(name, path)
        except (OSError, BadManifest) as exc:
            logger.debug("leaving out %s, as Ollama would: %s", name.shortest, exc)
            return None

    def _read_or_raise(self, name: ModelName, path: Path) -> StoredModel:
        raw, st = read_small_file(path, MAX_MANIFEST_BYTES)
        mtime_ns = st.st_mtime_ns
        manifest, digest = parse_manifest(raw)
        config_layer = _layer(manifest.get("config"), "config")
        layers = tuple(_layer(item, "layer") for item in _list(manifest.get("layers"), "layers"))
        config = self._config(config_layer)

        model_layers = [layer for layer in layers if layer["mediaType"] == MEDIA_PREFIX + "model"]
        for layer in layers:
            if layer["mediaType"] in (MEDIA_PREFIX + "model", *_TEMPLATE_TYPES):
                self._blob_path(layer["digest"])  # an invalid digest here makes Ollama fail
            if layer["mediaType"] in _TEMPLATE_TYPES:
                read_small_file(self._blob_path(layer["digest"]), MAX_TEXT_LAYER_BYTES)

        remote_host = _optional_str(config, "remote_host")
        remote_model = _optional_str(config, "remote_model")
        families = _families(config)
        details = ModelDetails(
            parent_model=model_layers[-1]["from"] if model_layers else "",
            format=_str(config, "model_format"),
            family=_str(config, "model_family"),
            # The list copies with append([]string(nil), ...): an empty list is sent as null.
            families=families or None,
            parameter_size=_str(config, "model_type"),
            quantization_level=_str(config, "file_type"),
            context_length=_int(config, "context_length") or None,
            embedding_length=_int(config, "embedding_length") or None,
        )
        if model_layers and not remote_host and not remote_model:
            self._apply_gguf_fallbacks(details, model_layers[-1], name)
        summary = ModelSummary(
            name=name.shortest,
            model=name.shortest,
            modified_at=_local_time(mtime_ns),
            size=sum(layer["size"] for layer in (*layers, config_layer)),
            digest=digest,
            details=details,
            remote_model=remote_model,
            remote_host=remote_host,
        )
        return StoredModel(name, path, summary, layers, config)

    def _config(self, layer: Mapping[str, Any]) -> Mapping[str, Any]:
        if not layer["digest"]:
            return {}  # no config: Ollama reads zero values
        raw, _ = read_small_file(self._blob_path(layer["digest"]), MAX_MANIFEST_BYTES)
        value = _go_decode(raw)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise BadManifest("the config blob is not a JSON object")
        _check_config_types(value)
        return value

    def _apply_gguf_fallbacks(
        self, details: ModelDetails, layer: Mapping[str, Any], name: ModelName
    ) -> None:
        try:
            # The header reader walks real paths only: resolve a symlinked models folder first.
            found = read_list_fallbacks(self._blob_path(layer["digest"]).resolve())
        except (OSError, GGUFFormatError) as exc:
            logger.debug("no GGUF fallbacks for %s: %s", name.shortest, exc)
            return
        if not details.context_length:
            details.context_length = found.context_length or None
        if not details.embedding_length:
            details.embedding_length = found.embedding_length or None
        if _is_unknown(details.quantization_level):
            details.quantization_level = found.file_type

    def _blob_path(self, digest: str) -> Path:
        if not _DIGEST.fullmatch(digest):
            raise BadManifest(f"invalid digest format {digest!r}")
        return self.root / "blobs" / digest.replace(":", "-")

    def _text(self, layer: Mapping[str, Any]) -> str:
        try:
            raw, _ = read_small_file(self._blob_path(layer["digest"]), MAX_TEXT_LAYER_BYTES)
            return raw.decode("utf-8", errors="replace")
        except (OSError, BadManifest):
            return ""


_TEMPLATE_TYPES = (MEDIA_PREFIX + "template", MEDIA_PREFIX + "prompt")


def read_small_file(path: Path, limit: int) -> tuple[bytes, os.stat_result]:
    """The bytes and `os.stat` of the regular file at `path`. Opened non-blocking, so a FIFO
    cannot hang the reader; refused (`BadManifest`) when it is not a regular file (`/dev/zero`
    would be read forever) or holds more than `limit` bytes."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadManifest(f"{str(path)!r} is {file_kind(st.st_mode)}, not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise BadManifest(f"{str(path)!r} is over {limit} bytes")
        return b"".join(chunks), st
    finally:
        os.close(fd)


# --- names ---------------------------------------------------------------------------------------


def name_from_parts(*parts: str) -> ModelName | None:
    """The model a manifest path `host/namespace/model/tag` stands for, if each part is valid."""
    if len(parts) != 4:
        return None
    host, namespace, model, tag = parts
    try:
        # The grammar lives in tools.api.names; feed it the parts in forms it cannot split.
        head = parse_model_name(f"{host}/{namespace}/{model}:latest")
        tail = parse_model_name(tag)
    except InvalidModelName:
        return None
    if (head.host, head.namespace, head.model) != (host, namespace, model) or tail.model != tag:
        return None
    return ModelName(host=host, namespace=namespace, model=model, tag=tag)


def _child_ignoring_case(folder: Path, part: str) -> Path | None:
    exact = folder / part
    if exact.exists():
        return exact
    try:
        children = list(folder.iterdir())
    except OSError:
        return None
    folded = part.casefold()
    return next((child for child in children if child.name.casefold() == folded), None)


# --- manifest and config parsing -----------------------------------------------------------------


def parse_manifest(raw: bytes) -> tuple[dict[str, Any], str]:
    """The manifest object and its digest as Ollama computes it: the sha256 of the bytes its
    JSON decoder read, which is the whole file except when the JSON ends exactly where the
    decoder's buffer fills (contract 12.2)."""
    value, end = _go_decode_with_end(raw)
    if not isinstance(value, dict):
        raise BadManifest("the manifest is not a JSON object")
    boundary = _GO_DECODER_FIRST_READ
    while boundary < end:
        boundary = 2 * boundary + _GO_DECODER_FIRST_READ
    return value, hashlib.sha256(raw[:boundary]).hexdigest()


def _refuse_constant(name: str) -> Any:
    raise BadManifest(f"not JSON ({name} is not a JSON value)")


_GO_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def _go_decode(raw: bytes) -> Any:
    return _go_decode_with_end(raw)[0]


def _go_decode_with_end(raw: bytes) -> tuple[Any, int]:
    """Decode the first JSON value, as Go's `json.Decoder.Decode` does (what follows it is
    not read); returns the value and the byte offset where it ends."""
    text = raw.decode("utf-8", errors="surrogateescape")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    try:
        value, end = _GO_JSON.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise BadManifest(f"not JSON ({exc})") from None
    except ValueError as exc:  # NaN or Infinity: Python's extension, which Go refuses
        raise BadManifest(str(exc)) from None
    return value, len(text[:end].encode("utf-8", errors="surrogateescape"))


def _layer(value: Any, what: str) -> dict[str, Any]:
    """A layer object with the fields Ollama's struct has, type-checked as Go would decode them."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise BadManifest(f"a {what} is not an object")
    layer = {"mediaType": "", "digest": "", "size": 0, "from": "", "name": ""} | value
    for key in ("mediaType", "digest", "from", "name"):
        if layer[key] is None:
            layer[key] = ""
        if not isinstance(layer[key], str):
            raise BadManifest(f"{what} field {key!r} is not a string")
    if layer["size"] is None:
        layer["size"] = 0
    if not isinstance(layer["size"], int) or isinstance(layer["size"], bool):
        raise BadManifest(f"{what} size is not an integer")
    return layer


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadManifest(f"{what} is not a list")
    return value


_CONFIG_STRINGS = (
    "model_format",
    "model_family",
    "model_type",
    "file_type",
    "renderer",
    "parser",
    "requires",
    "remote_host",
    "remote_model",
    "base_name",
    "architecture",
    "os",
)


def _check_config_types(config: Mapping[str, Any]) -> None:
    for key in _CONFIG_STRINGS:
        if config.get(key) is not None and not isinstance(config[key], str):
            raise BadManifest(f"config field {key!r} is not a string")
    for key in ("context_length", "embedding_length"):
        value = config.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise BadManifest(f"config field {key!r} is not an integer")
    families = config.get("model_families")
    if families is not None and (
        not isinstance(families, list) or not all(isinstance(item, str) for item in families)
    ):
        raise BadManifest("config field 'model_families' is not a list of strings")


def _str(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    return value if isinstance(value, str) else ""


def _optional_str(config: Mapping[str, Any], key: str) -> str | None:
    return _str(config, key) or None


def _int(config: Mapping[str, Any], key: str) -> int:
    value = config.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _families(config: Mapping[str, Any]) -> list[str] | None:
    value = config.get("model_families")
    return list(value) if isinstance(value, list) else None


def _is_unknown(quantization: str) -> bool:
    return quantization in ("", "unknown")


def _layers_by_type(layers: tuple[Mapping[str, Any], ...]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for layer in layers:
        media_type = str(layer["mediaType"])
        if media_type.startswith(MEDIA_PREFIX):
            grouped.setdefault(media_type.removeprefix(MEDIA_PREFIX), []).append(layer)
    return grouped


def _local_time(mtime_ns: int) -> datetime:
    """The manifest's mtime in local time with its offset, as Ollama reports `modified_at`."""
    seconds, nanos = divmod(mtime_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=nanos // 1000).astimezone()


def _modified_seconds(summary: ModelSummary) -> int:
    return int(summary.modified_at.timestamp()) if summary.modified_at else 0
