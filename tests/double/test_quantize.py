"""The double quantizes as Ollama's createModel does (server/create.go at the contract's commit):
F16, BF16 and F32 sources only, the type as given in the status, the parsed type in the new
GGUF, its config and what /api/show reports."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.adapter_factories import write_gguf
from tests.ollama_double.ggufs import FILE_TYPE_NUMBERS, ModelSpec, write_model

ONLY_UNQUANTIZED = "quantization is only supported for F16, BF16 and F32 models"


def upload_model(http: httpx2.Client, folder: Path, file_type: int) -> str:
    path = folder / f"m{file_type}.gguf"
    write_model(path, ModelSpec(arch="llama", name="m", file_type=file_type))
    data = path.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert http.post(f"/api/blobs/{digest}", content=data).status_code == 201
    return digest


def lines(resp: httpx2.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("given", "level", "file_type"),
    [
        ("q4_K_M", "Q4_K_M", 15),
        ("q4_k_s", "Q4_K_S", 14),
        ("Q4_K", "Q4_K_M", 15),
        ("q8_0", "Q8_0", 7),
        ("bf16", "BF16", 32),
        # general.file_type 0 is F32, but KV.FileType() reads 0 as unknown: so does Ollama.
        ("f32", "unknown", 0),
    ],
)
def test_an_f16_model_quantized_reports_the_new_type(
    http: httpx2.Client, tmp_path: Path, given: str, level: str, file_type: int
) -> None:
    digest = upload_model(http, tmp_path, FILE_TYPE_NUMBERS["F16"])
    body = {"model": "q", "files": {"m.gguf": digest}, "quantize": given}
    statuses = [x["status"] for x in lines(http.post("/api/create", json=body))]
    assert f"quantizing F16 model to {given.upper()}" in statuses  # as given: Q4_K stays Q4_K
    assert statuses[-2:] == ["writing manifest", "success"]
    shown = http.post("/api/show", json={"model": "q"}).json()
    assert shown["details"]["quantization_level"] == level
    assert shown["model_info"]["general.file_type"] == file_type
    listed = {m["name"]: m for m in http.get("/api/tags").json()["models"]}
    assert listed["q:latest"]["details"]["quantization_level"] == level
    assert listed["q:latest"]["digest"] != digest.removeprefix("sha256:")


def test_the_same_type_is_not_quantized_but_validated(http: httpx2.Client, tmp_path: Path) -> None:
    digest = upload_model(http, tmp_path, FILE_TYPE_NUMBERS["F16"])
    body = {"model": "q", "files": {"m.gguf": digest}, "quantize": "f16"}
    statuses = [x["status"] for x in lines(http.post("/api/create", json=body))]
    assert not any(s.startswith("quantizing") for s in statuses)
    assert "validating GGUF model" in statuses
    shown = http.post("/api/show", json={"model": "q"}).json()
    assert shown["details"]["quantization_level"] == "F16"


@pytest.mark.parametrize("file_type", [FILE_TYPE_NUMBERS["Q4_K_M"], FILE_TYPE_NUMBERS["F32"]])
def test_a_quantized_or_f32_file_is_refused_in_the_stream(
    http: httpx2.Client, tmp_path: Path, file_type: int
) -> None:
    digest = upload_model(http, tmp_path, file_type)
    body = {"model": "q", "files": {"m.gguf": digest}, "quantize": "q8_0"}
    resp = http.post("/api/create", json=body)
    assert resp.status_code == 200  # "parsing GGUF" went out first
    assert lines(resp)[-1] == {"error": ONLY_UNQUANTIZED}
    assert http.post("/api/show", json={"model": "q"}).status_code == 404


def test_an_installed_quantized_model_is_refused_with_a_status(http: httpx2.Client) -> None:
    resp = http.post("/api/create", json={"model": "q", "from": "llama3.2", "quantize": "q8_0"})
    assert (resp.status_code, resp.json()) == (500, {"error": ONLY_UNQUANTIZED})


def test_an_installed_f16_model_is_quantized(http: httpx2.Client) -> None:
    body = {"model": "q", "from": "all-minilm", "quantize": "q8_0"}
    statuses = [x["status"] for x in lines(http.post("/api/create", json=body))]
    assert "quantizing F16 model to Q8_0" in statuses
    shown = http.post("/api/show", json={"model": "q"}).json()
    assert shown["details"]["quantization_level"] == "Q8_0"
    config = http.post("/api/show", json={"model": "all-minilm"}).json()
    assert config["details"]["quantization_level"] == "F16"  # the source stays as it was


def test_an_adapter_layer_is_never_quantized(http: httpx2.Client, tmp_path: Path) -> None:
    adapter = write_gguf(tmp_path / "a.gguf")
    data = adapter.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert http.post(f"/api/blobs/{digest}", content=data).status_code == 201
    body = {"model": "t", "from": "all-minilm", "adapters": {"a.gguf": digest}, "quantize": "q8_0"}
    statuses = [x["status"] for x in lines(http.post("/api/create", json=body))]
    assert statuses.count("quantizing F16 model to Q8_0") >= 1
    shown = http.post("/api/show", json={"model": "t", "verbose": True}).json()
    assert "ADAPTER " in shown["modelfile"]
    assert f"using existing layer {digest}" in statuses  # the adapter blob, unchanged
