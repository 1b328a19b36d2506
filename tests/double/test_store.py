"""The double's model directory is laid out and derived exactly as Ollama's (contract 12)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import gguf
import httpx2
import numpy as np

from tests.ollama_double import OllamaDouble, running_double
from tests.ollama_double.ggufs import ModelSpec, write_model
from tests.ollama_double.names import Name
from tests.ollama_double.store import (
    MEDIA_CONFIG,
    MEDIA_MODEL,
    MEDIA_PROMPT,
    MEDIA_TEMPLATE,
    layer,
    manifest_digest,
)

MANIFESTS = "manifests/registry.ollama.ai/library"


def test_layout_and_content_addressing(ollama_double: OllamaDouble) -> None:
    root = ollama_double.models_dir
    for model, tag in [
        ("llama3.2", "latest"),
        ("all-minilm", "latest"),
        ("qwen3", "latest"),
        ("gemma2", "2b"),
    ]:
        assert (root / MANIFESTS / model / tag).is_file()
    for blob in (root / "blobs").iterdir():
        assert re.fullmatch(r"sha256-[0-9a-f]{64}", blob.name)
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name[7:]


def test_seeded_model_blobs_are_valid_gguf(ollama_double: OllamaDouble) -> None:
    root = ollama_double.models_dir
    expected = {
        "llama3.2/latest": "llama",
        "all-minilm/latest": "bert",
        "qwen3/latest": "qwen3",
        "gemma2/2b": "gemma2",
    }
    for rel, arch in expected.items():
        manifest = json.loads((root / MANIFESTS / rel).read_bytes())
        model = next(
            x for x in manifest["layers"] if x["mediaType"] == "application/vnd.ollama.image.model"
        )
        reader = gguf.GGUFReader(str(root / "blobs" / model["digest"].replace(":", "-")))
        fields = {k: f.contents() for k, f in reader.fields.items()}
        assert fields["general.architecture"] == arch
        assert fields["general.type"] == "model"
        assert fields[f"{arch}.context_length"] > 0 and fields[f"{arch}.embedding_length"] > 0
        assert "general.file_type" in fields and len(reader.tensors) >= 1
        assert (f"{arch}.pooling_type" in fields) == (arch == "bert")


def test_tags_digest_and_size_come_from_the_manifest(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    for entry in http.get("/api/tags").json()["models"]:
        model, tag = entry["name"].split(":")
        data = (ollama_double.models_dir / MANIFESTS / model / tag).read_bytes()
        assert entry["digest"] == hashlib.sha256(data).hexdigest()
        manifest = json.loads(data)
        assert (
            entry["size"] == sum(x["size"] for x in manifest["layers"]) + manifest["config"]["size"]
        )
        assert not data.endswith(b"\n")  # pulled manifests are the registry's json.Marshal bytes


def test_created_manifest_is_go_encoder_output(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    body = {
        "model": "mario",
        "from": "llama3.2",
        "system": "You are Mario from Super Mario Bros.",
        "stream": False,
    }
    assert http.post("/api/create", json=body).status_code == 200
    data = (ollama_double.models_dir / MANIFESTS / "mario/latest").read_bytes()
    assert data.endswith(b"}\n") and data.count(b"\n") == 1 and b": " not in data
    assert list(json.loads(data)) == ["schemaVersion", "mediaType", "config", "layers"]
    tags = {m["name"]: m for m in http.get("/api/tags").json()["models"]}
    assert (
        tags["mario:latest"]["digest"] == manifest_digest(data) == hashlib.sha256(data).hexdigest()
    )
    assert tags["mario:latest"]["details"]["parent_model"] == "llama3.2:latest"
    params = ollama_double.store.blob_path(
        "sha256:56bb8bd477a519ffa694fc449c2413c6f0e1d3b1c88fa7e3c9d88d3ae49d4dcb"
    )
    # The contract's worked example (12.5): the very same 96-byte params blob.
    assert params.read_bytes() == (
        b'{"stop":["\\u003c|start_header_id|\\u003e","\\u003c|end_header_id|\\u003e",'
        b'"\\u003c|eot_id|\\u003e"]}\n'
    )
    config_digest = json.loads(data)["config"]["digest"]
    config = json.loads(ollama_double.store.blob_path(config_digest).read_bytes())
    assert list(config) == [
        "model_format",
        "model_family",
        "model_families",
        "model_type",
        "file_type",
        "architecture",
        "os",
    ]
    assert config["file_type"] == "Q4_K_M" and config["model_families"] == ["llama"]


def test_manifest_digest_follows_the_go_decoder_buffer() -> None:
    for boundary in (512, 1536, 3584):
        text = b'{"a":"' + b"x" * (boundary - 8) + b'"}'
        assert len(text) == boundary
        assert manifest_digest(text + b"\n") == hashlib.sha256(text).hexdigest()
    other = b'{"a":"' + b"x" * 100 + b'"}\n'
    assert manifest_digest(other) == hashlib.sha256(other).hexdigest()


def test_copy_is_a_byte_copy_and_delete_prunes_only_unused_blobs(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    root = ollama_double.models_dir
    assert (
        http.post("/api/copy", json={"source": "LLAMA3.2", "destination": "Backup"}).status_code
        == 200
    )
    original = (root / MANIFESTS / "llama3.2/latest").read_bytes()
    assert (root / MANIFESTS / "Backup/latest").read_bytes() == original
    tags = {m["name"]: m["digest"] for m in http.get("/api/tags").json()["models"]}
    assert tags["Backup:latest"] == tags["llama3.2:latest"]
    assert (
        tags["Backup:latest"] == http.get("/api/tags").json()["models"][0]["digest"]
    )  # newest first
    digests = [x["digest"] for x in json.loads(original)["layers"]]
    assert http.request("DELETE", "/api/delete", json={"model": "backup"}).status_code == 200
    assert not (root / MANIFESTS / "Backup").exists()  # empty directories pruned
    assert all(ollama_double.store.has_blob(d) for d in digests)  # still used by llama3.2
    assert http.request("DELETE", "/api/delete", json={"name": "llama3.2"}).status_code == 200
    assert not any(ollama_double.store.has_blob(d) for d in digests)


def test_unreadable_entries_are_left_out(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    root = ollama_double.models_dir
    (root / MANIFESTS / "llama3.2/.DS_Store").write_text("junk")
    broken = root / MANIFESTS / "broken/latest"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    no_config = root / MANIFESTS / "noconfig/latest"
    no_config.parent.mkdir(parents=True)
    no_config.write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "config": {"digest": "sha256:" + "0" * 64, "size": 1},
                "layers": [],
            }
        )
    )
    names = [m["name"] for m in http.get("/api/tags").json()["models"]]
    assert names == ["llama3.2:latest", "all-minilm:latest", "qwen3:latest", "gemma2:2b"]


def test_an_existing_store_is_kept_and_not_reseeded(tmp_path: Path) -> None:
    models = tmp_path / "models"
    with running_double(models) as first:
        httpx2.post(first.url + "/api/copy", json={"source": "qwen3", "destination": "mine"})
        httpx2.request("DELETE", first.url + "/api/delete", json={"model": "gemma2:2b"})
    with running_double(models) as second:
        names = second.installed_names()
    assert "mine:latest" in names and "gemma2:2b" not in names
    with running_double(tmp_path / "empty", seed=False) as bare:
        assert httpx2.get(bare.url + "/api/tags").json() == {"models": []}


def test_command_line(tmp_path: Path) -> None:
    models = tmp_path / "cli-models"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ollama_double", "--port", "0", "--models-dir", str(models)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and not url.endswith(":0")
        resp = httpx2.get(url + "/", timeout=10)
        assert (resp.status_code, resp.text) == (200, "Ollama is running")
        assert (models / MANIFESTS / "llama3.2/latest").is_file()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def _install(
    ollama_double: OllamaDouble, name: str, config: dict[str, Any], gguf_path: Path
) -> None:
    """A hand-made model: one GGUF model layer and the given config blob."""
    store = ollama_double.store
    model_digest, model_size, _ = store.put_bytes(gguf_path.read_bytes())
    cfg_digest, cfg_size, _ = store.put_bytes(json.dumps(config).encode() + b"\n")
    store.write_manifest(
        Name.parse(name),
        layer(MEDIA_CONFIG, cfg_digest, cfg_size),
        [layer(MEDIA_MODEL, model_digest, model_size, "base:latest")],
    )


def test_list_show_and_ps_copy_the_config_as_each_handler_does(
    http: httpx2.Client, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    # A vision GGUF whose context length comes after the tokenizer keys, and a config with
    # an empty family list, an extra capability and no file type.
    spec = ModelSpec(arch="llama", name="v", file_type=1, extra_kv={"llama.vision.block_count": 2})
    write_model(tmp_path / "v.gguf", spec)
    late = gguf.GGUFWriter(str(tmp_path / "late.gguf"), "bert")
    late.add_tokenizer_model("bert")  # keys after this one are never read by the list
    late.add_context_length(512)
    late.add_pooling_type(gguf.PoolingType.MEAN)
    late.add_tensor("t", np.ones(4, dtype=np.float32))
    late.write_header_to_file()
    late.write_kv_data_to_file()
    late.write_tensors_to_file()
    late.close()
    config = {"model_format": "gguf", "model_family": "llama", "model_families": []}
    config |= {"capabilities": ["tools"], "file_type": ""}
    _install(ollama_double, "vis", config, tmp_path / "v.gguf")
    listed = {m["name"]: m for m in http.get("/api/tags").json()["models"]}["vis:latest"]
    # ListHandler: GGUF header caps (vision, then completion) before the config's; [] -> null
    assert listed["capabilities"] == ["vision", "completion", "tools"]
    assert listed["details"]["families"] is None
    assert listed["details"]["quantization_level"] == "F16"
    assert listed["details"]["context_length"] == 4096
    shown = http.post("/api/show", json={"model": "vis"}).json()
    # GetModelInfo: config caps first; [] stays []
    assert shown["capabilities"] == ["tools", "completion", "vision"]
    assert shown["details"]["families"] == []
    keys = list(shown["model_info"])
    assert keys == sorted(keys)  # a Go map is marshalled with sorted keys
    http.post("/api/generate", json={"model": "vis", "prompt": ""})
    ps = http.get("/api/ps").json()["models"][0]["details"]
    # PsHandler: config fields only, no parent model, no GGUF fallback
    assert (ps["parent_model"], ps["quantization_level"], ps["families"]) == ("", "", [])
    # The list stops reading the GGUF at the first tokenizer key after the architecture.
    _install(ollama_double, "late", config, tmp_path / "late.gguf")
    later = {m["name"]: m for m in http.get("/api/tags").json()["models"]}["late:latest"]
    assert "context_length" not in later["details"]
    assert later["capabilities"][:2] == ["completion", "tools"]
    shown_late = http.post("/api/show", json={"model": "late"}).json()
    assert shown_late["capabilities"][:2] == ["tools", "embedding"]


def test_show_leaves_out_an_empty_tensor_list(
    http: httpx2.Client, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "empty.gguf"), "llama")
    writer.add_type("model")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    _install(ollama_double, "notensors", {"model_format": "gguf"}, tmp_path / "empty.gguf")
    shown = http.post("/api/show", json={"model": "notensors"}).json()
    assert "tensors" not in shown and shown["model_info"]["general.architecture"] == "llama"


def test_delete_prunes_every_empty_manifest_directory(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    stray = ollama_double.models_dir / "manifests/example.com/empty/dir"
    stray.mkdir(parents=True)
    assert http.request("DELETE", "/api/delete", json={"model": "qwen3"}).status_code == 200
    assert not (ollama_double.models_dir / "manifests/example.com").exists()
    assert not (ollama_double.models_dir / MANIFESTS / "qwen3").exists()


def test_a_create_template_replaces_template_layers_only(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    store = ollama_double.store
    base = store.find(Name.parse("tinyllama")) or store.find(Name.parse("llama3.2"))
    assert base is not None
    prompt_digest, prompt_size, _ = store.put_bytes(b"{{ .Prompt }} legacy")
    layers = [x for x in base.layers if x["mediaType"] != MEDIA_TEMPLATE]
    store.write_manifest(
        Name.parse("old"),
        base.config_layer,
        [*layers, layer(MEDIA_PROMPT, prompt_digest, prompt_size)],
    )
    body = {"model": "new", "from": "old", "template": "{{ .Prompt }}!", "stream": False}
    assert http.post("/api/create", json=body).json() == {"status": "success"}
    created = store.find(Name.parse("new"))
    assert created is not None
    kinds = [x["mediaType"] for x in created.layers]
    assert kinds.count(MEDIA_PROMPT) == 1 and kinds.count(MEDIA_TEMPLATE) == 1


def test_recreating_a_model_removes_its_old_unused_layers(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    # CreateHandler: oldManifest.RemoveLayers() once the new manifest is written.
    def create(system: str) -> str:
        body = {"model": "m", "from": "llama3.2", "system": system, "stream": False}
        assert http.post("/api/create", json=body).json() == {"status": "success"}
        return "sha256:" + hashlib.sha256(system.encode()).hexdigest()

    first = create("first")
    assert ollama_double.store.has_blob(first)
    create("second")
    assert not ollama_double.store.has_blob(first)
