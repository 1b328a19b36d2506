"""Reading Ollama's model folder without Ollama (contract section 12), on folders built here.
The comparison with a running Ollama double's `/api/tags` is in test_store_double.py."""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from tools.catalog.store import ModelStore, default_models_dir, parse_manifest
from tools.catalog.store_gguf import file_type_name, read_list_fallbacks

MEDIA = "application/vnd.ollama.image."
CONFIG_MEDIA = "application/vnd.docker.container.image.v1+json"
MANIFEST_MEDIA = "application/vnd.docker.distribution.manifest.v2+json"
LIBRARY = ("registry.ollama.ai", "library")


class Folder:
    """Builds an Ollama model folder the way Ollama lays it out."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs").mkdir(parents=True, exist_ok=True)
        (root / "manifests").mkdir(parents=True, exist_ok=True)

    def blob(self, data: bytes) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / digest.replace(":", "-")).write_bytes(data)
        return {"digest": digest, "size": len(data)}

    def layer(self, kind: str, data: bytes, **extra: Any) -> dict[str, Any]:
        return {"mediaType": MEDIA + kind, **self.blob(data), **extra}

    def config(self, **fields: Any) -> dict[str, Any]:
        body = {"model_format": "gguf", "architecture": "amd64", "os": "linux", **fields}
        data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
        return {"mediaType": CONFIG_MEDIA, **self.blob(data)}

    def manifest(
        self, parts: tuple[str, ...], config: dict[str, Any], layers: list[dict[str, Any]]
    ) -> Path:
        body = {"schemaVersion": 2, "mediaType": MANIFEST_MEDIA, "config": config, "layers": layers}
        return self.raw_manifest(parts, json.dumps(body, separators=(",", ":")).encode() + b"\n")

    def raw_manifest(self, parts: tuple[str, ...], data: bytes) -> Path:
        path = self.root / "manifests" / Path(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def gguf_model(self, **kv: Any) -> bytes:
        """A tiny GGUF: `kv` in order, where a key "arch" sets general.architecture."""
        path = self.root / "tmp.gguf"
        writer = gguf.GGUFWriter(path, kv.pop("arch", "llama"))
        for key, value in kv.items():
            if isinstance(value, str):
                writer.add_string(key, value)
            elif isinstance(value, list):
                writer.add_array(key, value)
            else:
                writer.add_uint32(key, value)
        writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        data = path.read_bytes()
        path.unlink()
        return data


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    return Folder(tmp_path / "models")


def names(store: ModelStore) -> list[str]:
    return [model.name for model in store.list_models_sync()]


# --- the contract's worked example (12.5) ---------------------------------------------------------

LLAMA32_MANIFEST = (
    '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",'
    '"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":'
    '"sha256:34bb5ab01051a11372a91f95f3fbbc51173eed8e7f13ec395b9ae9b8bd0e242b","size":561},'
    '"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":'
    '"sha256:dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff","size":2019377376},'
    '{"mediaType":"application/vnd.ollama.image.template","digest":'
    '"sha256:966de95ca8a62200913e3f8bfbf84c8494536f1b94b49166851e76644e966396","size":1429},'
    '{"mediaType":"application/vnd.ollama.image.license","digest":'
    '"sha256:fcc5a6bec9daf9b561a68827b67ab6088e1dba9d1fa2a50d7bbcc8384e0a265d","size":7711},'
    '{"mediaType":"application/vnd.ollama.image.license","digest":'
    '"sha256:a70ff7e570d97baaf4e62ac6e6ad9975e04caa6d900d3742d37698494479e0cd","size":6016},'
    '{"mediaType":"application/vnd.ollama.image.params","digest":'
    '"sha256:56bb8bd477a519ffa694fc449c2413c6f0e1d3b1c88fa7e3c9d88d3ae49d4dcb","size":96}]}'
)
LLAMA32_LAYERS = [layer["digest"] for layer in json.loads(LLAMA32_MANIFEST)["layers"]]
LLAMA32_CONFIG = (
    '{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"3.2B",'
    '"file_type":"Q4_K_M","architecture":"amd64","os":"linux","rootfs":{"type":"layers",'
    f'"diff_ids":{json.dumps(LLAMA32_LAYERS, separators=(",", ":"))}}}}}\n'
)


def test_the_worked_example_as_pulled(folder):
    blobs = folder.root / "blobs"
    (blobs / "sha256-34bb5ab01051a11372a91f95f3fbbc51173eed8e7f13ec395b9ae9b8bd0e242b").write_text(
        LLAMA32_CONFIG
    )
    # The template must be readable or Ollama leaves the model out; weights need not exist.
    (blobs / LLAMA32_LAYERS[1].replace(":", "-")).write_text("{{ .Prompt }}")
    path = folder.raw_manifest((*LIBRARY, "llama3.2", "latest"), LLAMA32_MANIFEST.encode())

    [model] = ModelStore(folder.root).list_models_sync()
    assert len(LLAMA32_CONFIG) == 561
    assert model.name == model.model == "llama3.2:latest"
    assert model.digest == "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72"
    assert model.size == 2019393189
    assert model.details.model_dump(exclude_none=True) == {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
    }
    seconds, nanos = divmod(path.stat().st_mtime_ns, 10**9)
    mtime = datetime.fromtimestamp(seconds, UTC).replace(microsecond=nanos // 1000)
    assert model.modified_at == mtime  # to the microsecond, as a client parses Ollama's time
    assert model.modified_at is not None and model.modified_at.utcoffset() is not None
    assert model.capabilities is None  # unknown offline, never guessed


# --- names and what is left out ------------------------------------------------------------------


def test_display_names_and_case(folder):
    config = folder.config(model_family="llama")
    for parts in [
        (*LIBRARY, "Mixed.Case", "Q4"),
        ("registry.ollama.ai", "me", "m", "v1"),
        ("myhost:5000", "ns", "m", "t"),
    ]:
        folder.manifest(parts, config, [])
    assert sorted(names(ModelStore(folder.root))) == [
        "Mixed.Case:Q4",
        "me/m:v1",
        "myhost:5000/ns/m:t",
    ]


def test_what_ollama_leaves_out(folder):
    good = folder.config(model_family="llama")
    folder.manifest((*LIBRARY, "kept", "latest"), good, [folder.layer("license", b"MIT")])
    # A missing licence blob does not matter; a missing template blob does.
    folder.manifest(
        (*LIBRARY, "no-license-blob", "latest"),
        good,
        [{"mediaType": MEDIA + "license", "digest": "sha256:" + "1" * 64, "size": 3}],
    )
    folder.manifest(
        (*LIBRARY, "no-template-blob", "latest"),
        good,
        [{"mediaType": MEDIA + "template", "digest": "sha256:" + "2" * 64, "size": 3}],
    )
    folder.manifest(
        (*LIBRARY, "no-config-blob", "latest"),
        {"mediaType": CONFIG_MEDIA, "digest": "sha256:" + "3" * 64, "size": 9},
        [],
    )
    not_json = {"mediaType": CONFIG_MEDIA, **folder.blob(b"\x00not json")}
    folder.manifest((*LIBRARY, "config-not-json", "latest"), not_json, [])
    folder.manifest(
        (*LIBRARY, "bad-model-digest", "latest"),
        good,
        [{"mediaType": MEDIA + "model", "digest": "md5:abc", "size": 1}],
    )
    folder.raw_manifest((*LIBRARY, "manifest-not-json", "latest"), b"{oops")
    nan = {"schemaVersion": 2, "config": good, "layers": [], "x": float("nan")}
    folder.raw_manifest((*LIBRARY, "manifest-nan", "latest"), json.dumps(nan).encode())  # Go: no
    folder.raw_manifest((*LIBRARY, "kept", ".DS_Store"), b"junk")  # not a valid tag
    (folder.root / "manifests" / "registry.ollama.ai" / "library" / "dir" / "sub").mkdir(
        parents=True
    )
    folder.raw_manifest(("too", "deep", "a", "b", "c"), b"{}")
    assert sorted(names(ModelStore(folder.root))) == ["kept:latest", "no-license-blob:latest"]


def test_a_model_without_config_is_listed_with_empty_details(folder):
    folder.manifest((*LIBRARY, "bare", "latest"), {"digest": "", "size": 0}, [])
    [model] = ModelStore(folder.root).list_models_sync()
    assert (model.name, model.size, model.details.format) == ("bare:latest", 0, "")


def test_size_parent_and_newest_first(folder):
    weights = folder.layer("model", folder.gguf_model(), **{"from": "llama3.2:latest"})
    system = folder.layer("system", b"You are Mario.")
    config = folder.config(model_family="llama", file_type="Q4_K_M")
    old = folder.manifest((*LIBRARY, "old", "latest"), config, [weights])
    new = folder.manifest((*LIBRARY, "mario", "latest"), config, [weights, system])
    os.utime(old, (1_600_000_000, 1_600_000_000))
    os.utime(new, (1_700_000_000, 1_700_000_000))
    models = ModelStore(folder.root).list_models_sync()
    assert [model.name for model in models] == ["mario:latest", "old:latest"]
    assert models[0].size == weights["size"] + system["size"] + config["size"]
    assert models[0].details.parent_model == "llama3.2:latest"
    assert models[0].digest == hashlib.sha256(new.read_bytes()).hexdigest()


def test_remote_stub(folder):
    config = folder.config(
        model_family="gptoss", remote_host="https://ollama.com:443", remote_model="gpt-oss:20b"
    )
    folder.manifest((*LIBRARY, "gpt-oss", "20b-cloud"), config, [])
    [model] = ModelStore(folder.root).list_models_sync()
    assert (model.remote_host, model.remote_model) == ("https://ollama.com:443", "gpt-oss:20b")


# --- the manifest digest --------------------------------------------------------------------------


@pytest.mark.parametrize("length", [511, 512, 513, 1536, 3584])
def test_manifest_digest_hashes_what_gos_decoder_reads(length):
    body = b'{"schemaVersion":2,"pad":"'
    raw = body + b"x" * (length - len(body) - 2) + b'"}'
    assert len(raw) == length
    _, digest = parse_manifest(raw + b"\n")
    at_boundary = length in (512, 1536, 3584)  # the trailing newline is never read
    expected = raw if at_boundary else raw + b"\n"
    assert digest == hashlib.sha256(expected).hexdigest()


# --- GGUF fallbacks (12.6 step 4) -----------------------------------------------------------------


def test_gguf_fills_what_the_config_lacks(folder):
    blob = folder.gguf_model(**{"general.file_type": 15, "llama.context_length": 131072})
    weights = folder.layer("model", blob)
    folder.manifest(
        (*LIBRARY, "unknown-quant", "latest"), folder.config(file_type="unknown"), [weights]
    )
    folder.manifest(
        (*LIBRARY, "config-wins", "latest"),
        folder.config(file_type="Q8_0", context_length=2048),
        [weights],
    )
    folder.manifest(
        (*LIBRARY, "remote", "latest"),
        folder.config(remote_host="https://ollama.com:443", remote_model="x"),
        [weights],
    )
    by_name = {m.name: m.details for m in ModelStore(folder.root).list_models_sync()}
    assert (
        by_name["unknown-quant:latest"].quantization_level,
        by_name["unknown-quant:latest"].context_length,
    ) == ("Q4_K_M", 131072)
    assert (
        by_name["config-wins:latest"].quantization_level,
        by_name["config-wins:latest"].context_length,
    ) == ("Q8_0", 2048)
    assert by_name["remote:latest"].context_length is None


def test_gguf_scan_stops_at_the_tokenizer(folder):
    blob = folder.gguf_model(
        **{
            "llama.embedding_length": 64,
            "tokenizer.ggml.model": "llama",
            "tokenizer.ggml.tokens": ["a", "b"],
            "llama.context_length": 4096,  # after the tokenizer keys: Ollama's list never sees it
        }
    )
    path = folder.root / "m.gguf"
    path.write_bytes(blob)
    found = read_list_fallbacks(path)
    assert (found.embedding_length, found.context_length) == (64, 0)


def test_a_broken_gguf_only_loses_the_fallbacks(folder):
    weights = folder.layer("model", b"GGUF\x03\x00\x00\x00 truncated")
    folder.manifest((*LIBRARY, "broken", "latest"), folder.config(file_type="F16"), [weights])
    [model] = ModelStore(folder.root).list_models_sync()
    assert (model.details.quantization_level, model.details.context_length) == ("F16", None)


def test_file_type_names():
    assert [file_type_name(n) for n in (0, 1, 2, 7, 15, 32, 4, 33, 38, 40, 41)] == [
        "F32", "F16", "Q4_0", "Q8_0", "Q4_K_M", "BF16", "unknown", "unknown", "MXFP4_MOE",
        "Q1_0", "unknown",
    ]  # fmt: skip


# --- one model, and where the folder is -----------------------------------------------------------


async def test_show_reads_basic_fields(folder):
    weights = folder.layer("model", folder.gguf_model(**{"llama.context_length": 8192}))
    layers = [
        weights,
        folder.layer("system", b"You are Mario."),
        folder.layer("license", b"MIT"),
        folder.layer("license", b"Apache-2.0"),
    ]
    config = folder.config(model_family="llama", model_families=["llama"], file_type="Q4_0")
    folder.manifest(("registry.ollama.ai", "Me", "Mario", "Latest"), config, layers)
    store = ModelStore(folder.root)
    shown = await store.show("me/mario")  # matched ignoring case, as Ollama does
    assert shown is not None
    assert (shown.system, shown.license) == ("You are Mario.", "MIT\nApache-2.0")
    assert shown.details.quantization_level == "Q4_0"
    assert shown.details.context_length is None  # /api/show leaves the lengths out
    assert shown.model_info == {}
    assert await store.show("me/luigi") is None


def test_models_folder_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OLLAMA_MODELS", f"  \"'{tmp_path}'\"  ")
    assert default_models_dir() == tmp_path
    monkeypatch.setenv("OLLAMA_MODELS", "  ")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_models_dir() == tmp_path / ".ollama" / "models"


def test_a_missing_folder_lists_nothing(tmp_path):
    store = ModelStore(tmp_path / "nowhere")
    assert (store.exists(), store.list_models_sync()) == (False, [])


async def test_families_are_copied_as_ollama_copies_them(folder):
    # The list copies with append([]string(nil), ...), so [] is null there; show clones: [] stays.
    for model, families in (("empty", []), ("null", None), ("some", ["llama", "clip"])):
        config = folder.config(model_family="llama", model_families=families)
        folder.manifest(("registry.ollama.ai", "library", model, "latest"), config, [])
    store = ModelStore(folder.root)
    listed = {m.name: m.details.families for m in await store.list_models()}
    assert listed == {"empty:latest": None, "null:latest": None, "some:latest": ["llama", "clip"]}
    shown = await store.show("empty")
    assert shown is not None and shown.details.families == []


# --- details that only some models show -----------------------------------------------------------


def test_a_missing_or_zero_file_type_reads_as_unknown(folder):
    # Ollama names general.file_type "unknown" when it is absent or 0 (contract 12.4, 12.6).
    cases = {
        "absent": ("", folder.gguf_model()),
        "zero": ("unknown", folder.gguf_model(**{"general.file_type": 0})),
        "zero-empty": ("", folder.gguf_model(**{"general.file_type": 0})),
        "named": ("", folder.gguf_model(**{"general.file_type": 1})),
    }
    for model, (in_config, blob) in cases.items():
        config = folder.config(file_type=in_config)
        folder.manifest((*LIBRARY, model, "latest"), config, [folder.layer("model", blob)])
    listed = {
        m.name: m.details.quantization_level for m in ModelStore(folder.root).list_models_sync()
    }
    assert listed == {
        "absent:latest": "unknown",
        "zero:latest": "unknown",
        "zero-empty:latest": "unknown",
        "named:latest": "F16",
    }


def test_split_model_parent_and_system_come_from_the_last_layer(folder):
    # Ollama walks every layer; each model layer sets parent_model, each system layer the system.
    layers = [
        folder.layer("model", folder.gguf_model(), **{"from": "first:latest"}),
        folder.layer("model", folder.gguf_model(**{"general.file_type": 2}), **{"from": "last:v"}),
        folder.layer("system", b"first system"),
        folder.layer("system", b"last system"),
    ]
    folder.manifest((*LIBRARY, "split", "latest"), folder.config(), layers)
    [model] = ModelStore(folder.root).list_models_sync()
    assert (model.details.parent_model, model.details.quantization_level) == ("last:v", "Q4_0")
    shown = ModelStore(folder.root).show_sync("split")
    assert shown is not None and shown.system == "last system"


def test_a_manifest_with_leading_whitespace_is_read_as_go_reads_it(folder):
    config = folder.config(model_family="llama")
    body = {"schemaVersion": 2, "mediaType": MANIFEST_MEDIA, "config": config, "layers": []}
    raw = b"\n  " + json.dumps(body).encode() + b"\n"
    folder.raw_manifest((*LIBRARY, "spaced", "latest"), raw)
    [model] = ModelStore(folder.root).list_models_sync()
    assert (model.name, model.digest) == ("spaced:latest", hashlib.sha256(raw).hexdigest())


def test_modified_at_is_in_local_time(folder, monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        path = folder.manifest((*LIBRARY, "m", "latest"), folder.config(), [])
        os.utime(path, (1_700_000_000, 1_700_000_000))  # November: Pacific Standard Time
        [model] = ModelStore(folder.root).list_models_sync()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert model.modified_at is not None
    assert model.modified_at.utcoffset() == timedelta(hours=-8)
    assert model.modified_at.timestamp() == 1_700_000_000
