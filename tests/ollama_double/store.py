"""The model store, laid out exactly as Ollama's (contract section 12).

<root>/manifests/<host>/<namespace>/<model>/<tag>   one JSON manifest per name
<root>/blobs/sha256-<hex>                           content-addressed layers and configs
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import gojson
from .names import Name

MEDIA_MODEL = "application/vnd.ollama.image.model"
MEDIA_ADAPTER = "application/vnd.ollama.image.adapter"
MEDIA_PROJECTOR = "application/vnd.ollama.image.projector"
MEDIA_TEMPLATE = "application/vnd.ollama.image.template"
MEDIA_PROMPT = "application/vnd.ollama.image.prompt"
MEDIA_SYSTEM = "application/vnd.ollama.image.system"
MEDIA_PARAMS = "application/vnd.ollama.image.params"
MEDIA_LICENSE = "application/vnd.ollama.image.license"
MEDIA_MESSAGES = "application/vnd.ollama.image.messages"
MEDIA_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

DIGEST_RE = re.compile(r"^sha256[:-][0-9a-fA-F]{64}$")


def _decoder_boundaries() -> set[int]:
    # Go's json.Decoder grows its buffer 512 -> 1536 -> 3584 ...; see manifest_digest.
    out, size = set(), 512
    while size < 1 << 31:
        out.add(size)
        size = size * 2 + 512
    return out


_BOUNDARIES = _decoder_boundaries()


def manifest_digest(data: bytes) -> str:
    """The bare-hex digest Ollama reports: sha256 of the bytes its JSON decoder read.

    That is the whole file, except when the JSON text ends exactly at one of the
    decoder's buffer boundaries: then a trailing newline is never read (contract 12.2).
    """
    text = data.rstrip(b" \t\r\n")
    if len(text) < len(data) and len(text) in _BOUNDARIES:
        data = text
    return hashlib.sha256(data).hexdigest()


def layer(media_type: str, digest: str, size: int, from_: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    if from_:
        out["from"] = from_
    return out


@dataclass
class Installed:
    name: Name  # parts in the case they have on disk
    path: Path
    manifest: dict[str, Any]
    digest: str  # bare hex
    mtime_ns: int

    @property
    def layers(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("layers") or [])

    @property
    def config_layer(self) -> dict[str, Any]:
        return dict(self.manifest.get("config") or {})

    @property
    def size(self) -> int:
        """Declared sizes of the layers plus the config (no stat), as /api/tags reports."""
        return sum(int(x.get("size", 0)) for x in self.layers) + int(
            self.config_layer.get("size", 0)
        )

    def first(self, media_type: str) -> dict[str, Any] | None:
        return next((x for x in self.layers if x.get("mediaType") == media_type), None)

    def all(self, media_type: str) -> list[dict[str, Any]]:
        return [x for x in self.layers if x.get("mediaType") == media_type]


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifests = root / "manifests"
        self.blobs = root / "blobs"
        self.manifests.mkdir(parents=True, exist_ok=True)
        self.blobs.mkdir(parents=True, exist_ok=True)

    # --- blobs -------------------------------------------------------------------------
    def blob_path(self, digest: str) -> Path:
        return self.blobs / digest.replace(":", "-")

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def temp_blob(self) -> Path:
        """A transient upload file, named as Ollama's are (sha256-<random digits>)."""
        return self.blobs / f"sha256-{secrets.randbelow(10**12)}"

    def put_bytes(self, data: bytes) -> tuple[str, int, bool]:
        """Store content; returns (digest, size, created)."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if path.exists():
            os.utime(path)
            return digest, len(data), False
        tmp = self.temp_blob()
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return digest, len(data), True

    def adopt_file(self, tmp: Path, hex_digest: str) -> Path:
        """Rename a fully written temp file to its real digest."""
        path = self.blob_path("sha256:" + hex_digest)
        os.replace(tmp, path)
        return path

    def read_blob_text(self, digest: str) -> str | None:
        try:
            return self.blob_path(digest).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def read_blob_json(self, digest: str) -> Any:
        try:
            return json.loads(self.blob_path(digest).read_bytes())
        except (OSError, ValueError):
            return None

    # --- manifests ---------------------------------------------------------------------
    def manifest_path(self, name: Name) -> Path:
        return self.manifests / name.host / name.namespace / name.model / name.tag

    def all_installed(self) -> list[Installed]:
        """Every readable manifest under manifests/*/*/*/* with a valid name."""
        found: list[Installed] = []
        for path in self.manifests.glob("*/*/*/*"):
            if not path.is_file():
                continue
            rel = path.relative_to(self.manifests).parts
            name = Name(*rel)
            if not name.is_valid():
                continue
            inst = self._load(name, path)
            if inst is not None:
                found.append(inst)
        return found

    def _load(self, name: Name, path: Path) -> Installed | None:
        try:
            data = path.read_bytes()
            manifest = json.loads(data)
            mtime = path.stat().st_mtime_ns
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict):
            return None
        return Installed(name, path, manifest, manifest_digest(data), mtime)

    def find(self, name: Name) -> Installed | None:
        """Look a name up, each part compared case-insensitively."""
        exact = self.manifest_path(name)
        if exact.is_file():
            return self._load(name, exact)
        for inst in self.all_installed():
            if inst.name.key == name.key:
                return inst
        return None

    def find_exact(self, name: Name) -> Installed | None:
        """ParseNamedManifest without getExistingName: the path as spelled (case-sensitive)."""
        path = self.manifest_path(name)
        return self._load(name, path) if path.is_file() else None

    def existing_name(self, name: Name) -> Name:
        """getExistingName: take the on-disk case of each part that matches some manifest."""
        host, ns, model, tag = name.parts()
        for inst in self.all_installed():
            h, n, m, t = inst.name.parts()
            host = h if h.lower() == host.lower() else host
            ns = n if n.lower() == ns.lower() else ns
            model = m if m.lower() == model.lower() else model
            tag = t if t.lower() == tag.lower() else tag
        return Name(host, ns, model, tag)

    def write_manifest(
        self,
        name: Name,
        config: dict[str, Any],
        layers: list[dict[str, Any]],
        *,
        newline: bool = True,
    ) -> Installed:
        """Write a manifest as Go does: json.Encoder (newline=True) or json.Marshal bytes."""
        body = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": config,
            "layers": layers,
        }
        data = gojson.dumps(body) + (b"\n" if newline else b"")
        return self.write_raw_manifest(name, data)

    def write_raw_manifest(self, name: Name, data: bytes) -> Installed:
        path = self.manifest_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        inst = self._load(name, path)
        assert inst is not None
        return inst

    def referenced(self) -> set[str]:
        used: set[str] = set()
        for inst in self.all_installed():
            for lay in [*inst.layers, inst.config_layer]:
                if lay.get("digest"):
                    used.add(lay["digest"])
        return used

    def remove_unused(self, digests: list[str]) -> list[str]:
        """Delete the given blobs that no manifest references any more."""
        used = self.referenced()
        removed = []
        for digest in digests:
            if digest and digest not in used:
                with contextlib.suppress(OSError):
                    self.blob_path(digest).unlink()
                    removed.append(digest)
        return removed

    def delete(self, inst: Installed) -> None:
        """Remove the manifest (pruning empty directories), then its unused blobs."""
        inst.path.unlink()
        # PruneDirectory(manifests): every empty directory under manifests/ goes, not only
        # this model's (manifests/ itself is made again at once by the next lookup).
        for dirpath, _dirs, _files in sorted(os.walk(self.manifests), reverse=True):
            if Path(dirpath) != self.manifests:
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
        self.remove_unused([x.get("digest", "") for x in [*inst.layers, inst.config_layer]])

    def copy(self, src: Installed, dest: Name) -> None:
        """`cp`: the manifest bytes unchanged (same digest, new mtime)."""
        path = self.manifest_path(dest)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src.path, path)
        os.utime(path)

    def installed_names(self) -> list[str]:
        items = sorted(self.all_installed(), key=lambda i: i.mtime_ns, reverse=True)
        return [i.name.display_shortest() for i in items]
