"""What the reliability tests share: a byte-for-byte snapshot of the double's store and the
server's cache, the stdio server as a subprocess pointed at the double through OLLAMA_HOST, and
short readers of a tool result."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from mcp import StdioServerParameters

from tests.ollama_double.server import OllamaDouble

Snapshot = dict[str, str]


def snapshot(*folders: Path) -> Snapshot:
    """sha256 of every file under `folders` (missing folders hold nothing), by path. SQLite's
    `-shm` index is left out: readers write their read marks there, and it holds no data."""
    hashes: Snapshot = {}
    for folder in folders:
        if not folder.exists():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.endswith("-shm"):
                hashes[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def changed(before: Snapshot, *folders: Path) -> set[str]:
    """The files added, removed or rewritten under `folders` since `before`."""
    after = snapshot(*folders)
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def misnamed_blobs(double: OllamaDouble) -> list[str]:
    """Blobs whose content does not hash to the digest in their name."""
    wrong = []
    for blob in (double.models_dir / "blobs").glob("sha256-*"):
        hex_digest = blob.name.removeprefix("sha256-")
        if len(hex_digest) == 64 and hashlib.sha256(blob.read_bytes()).hexdigest() != hex_digest:
            wrong.append(blob.name)
    return wrong


def leftovers(folder: Path) -> list[Path]:
    """Temporary or partial files anywhere under `folder`."""
    return [p for p in folder.rglob("*") if p.suffix in (".tmp", ".partial")]


def server_env(double: OllamaDouble, **extra: str) -> dict[str, str]:
    """The subprocess's environment: Ollama is found through OLLAMA_HOST alone, its folder
    through OLLAMA_MODELS (what the server reads when Ollama does not answer)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA", "PYTEST"))}
    return {**env, "OLLAMA_HOST": double.url, "OLLAMA_MODELS": str(double.models_dir), **extra}


def stdio_params(
    double: OllamaDouble, cache: Path, allow: Path | None = None, *flags: str, **env: str
) -> StdioServerParameters:
    args = ["-m", "server", "--cache-dir", str(cache), *flags]
    if allow is not None:
        args += ["--allow-dir", str(allow)]
    return StdioServerParameters(
        command=sys.executable, args=args, env=server_env(double, **env), cwd=str(cache.parent)
    )


def text(result: Any) -> str:
    return str(result.content[0].text)


def structured(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None, text(result)
    return dict(result.structured_content)
