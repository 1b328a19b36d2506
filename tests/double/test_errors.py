"""Every status and error string of contract section 1.4 (and 5.2) that the double produces.

Raw HTTP, so nothing between the test and the bytes reinterprets a status or a message.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest

from tests.ollama_double import OllamaDouble
from tests.ollama_double.ggufs import ModelSpec, write_model
from tests.ollama_double.names import Name
from tests.ollama_double.store import MEDIA_CONFIG, MEDIA_TEMPLATE, layer

JSON_ENDPOINTS = [
    "/api/generate",
    "/api/chat",
    "/api/embed",
    "/api/embeddings",
    "/api/show",
    "/api/pull",
    "/api/push",
    "/api/create",
    "/api/copy",
]
BAD = "bad/na/me/x"  # the host part would contain a '/': invalid (section 7)
THINK_MSG = '(must be "high", "medium", "low", "max", true, or false)'


def upload(http: httpx2.Client, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert http.post(f"/api/blobs/{digest}", content=data).status_code == 201
    return digest


def assert_error(resp: httpx2.Response, status: int, message: str) -> None:
    assert (resp.status_code, resp.json()) == (status, {"error": message})


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_empty_body_is_missing_request_body(http: httpx2.Client, path: str) -> None:
    resp = http.post(path, content=b"")
    assert_error(resp, 400, "missing request body")
    assert resp.headers["content-type"] == "application/json; charset=utf-8"


def test_delete_empty_body(http: httpx2.Client) -> None:
    assert_error(http.request("DELETE", "/api/delete", content=b""), 400, "missing request body")


CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("/api/generate", {"model": ""}, 404, "model '' not found"),
    ("/api/embed", {"model": ""}, 404, "model '' not found"),
    ("/api/chat", {"model": ""}, 400, "model is required"),
    ("/api/embeddings", {"model": ""}, 400, "model is required"),
    ("/api/generate", {"model": BAD}, 400, "invalid model name"),
    ("/api/chat", {"model": BAD}, 400, "invalid model name"),
    ("/api/embed", {"model": BAD, "input": "x"}, 400, "invalid model name"),
    ("/api/show", {"model": BAD}, 400, "invalid model name"),
    ("/api/create", {"model": BAD, "from": "llama3.2"}, 400, "invalid model name"),
    (
        "/api/generate",
        {"model": "x:local:cloud"},
        400,
        'use either :local or :cloud, not both: "x:local:cloud"',
    ),
    ("/api/generate", {"model": "llama3", "prompt": "hi"}, 404, "model 'llama3' not found"),
    ("/api/chat", {"model": "llama3", "messages": []}, 404, "model 'llama3' not found"),
    (
        "/api/embed",
        {"model": "llama3", "input": "x"},
        404,
        'model "llama3" not found, try pulling it first',
    ),
    (
        "/api/embeddings",
        {"model": "llama3", "prompt": "x"},
        404,
        'model "llama3" not found, try pulling it first',
    ),
    ("/api/show", {"model": "llama3"}, 404, "model 'llama3:latest' not found"),
    ("/api/show", {}, 400, "model is required"),
    ("/api/copy", {"source": BAD, "destination": "y"}, 400, f'source "{BAD}" is invalid'),
    (
        "/api/copy",
        {"source": "llama3.2", "destination": BAD},
        400,
        f'destination "{BAD}" is invalid',
    ),
    ("/api/copy", {"source": "llama3", "destination": "y"}, 404, 'model "llama3" not found'),
    ("/api/pull", {"model": ""}, 400, "invalid model name"),
    ("/api/pull", {"model": BAD}, 400, "invalid model name"),
    ("/api/push", {}, 400, "model is required"),
    (
        "/api/generate",
        {"model": "all-minilm", "prompt": "x"},
        400,
        '"all-minilm" does not support generate',
    ),
    (
        "/api/chat",
        {"model": "all-minilm", "messages": [{"role": "user", "content": "x"}]},
        400,
        '"all-minilm" does not support chat',
    ),
    (
        "/api/chat",
        {
            "model": "all-minilm",
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
        },
        400,
        '"all-minilm" does not support chat',  # a missing completion wins over tools
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "prompt": "x", "think": True},
        400,
        '"llama3.2" does not support thinking',
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "prompt": "x", "suffix": "y"},
        400,
        "registry.ollama.ai/library/llama3.2:latest does not support insert",
    ),
    (
        "/api/chat",
        {
            "model": "gemma2:2b",
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
        },
        400,
        "registry.ollama.ai/library/gemma2:2b does not support tools",
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "prompt": "x", "raw": True, "system": "s"},
        400,
        "raw mode does not support template, system, or context",
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "prompt": "x", "top_logprobs": 21},
        400,
        "top_logprobs must be between 0 and 20",
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "prompt": "x", "think": "x"},
        400,
        f'invalid think value: "x" {THINK_MSG}',
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "keep_alive": "-1"},
        400,
        'time: missing unit in duration "-1"',
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "keep_alive": "abc"},
        400,
        'time: invalid duration "abc"',
    ),
    ("/api/chat", {"model": "llama3.2", "keep_alive": True}, 400, "Unsupported type: 'bool'"),
    (
        "/api/generate",
        {"model": "llama3.2", "prompt": "x", "options": {"temperature": "hot"}},
        500,
        'option "temperature" must be of type float32',
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "prompt": "x", "options": {"num_ctx": "big"}},
        500,
        'option "num_ctx" must be of type integer',
    ),
    (
        "/api/chat",
        {"model": "llama3.2", "messages": [], "options": {"use_mmap": "yes"}},
        500,
        'option "use_mmap" must be of type boolean',
    ),
    (
        "/api/embed",
        {"model": "all-minilm", "input": "x", "options": {"stop": "x"}},
        500,
        'option "stop" must be of type array',
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "prompt": "x", "options": {"stop": [1]}},
        500,
        'option "stop" must be of an array of strings',
    ),
    ("/api/embed", {"model": "all-minilm", "input": 5}, 400, "invalid input type"),
    ("/api/embed", {"model": "all-minilm", "input": ["a", 1]}, 400, "invalid input type"),
    (
        "/api/embed",
        {"model": "all-minilm", "input": " ".join(["w"] * 600), "truncate": False},
        400,
        "the input length exceeds the context length",
    ),
    (
        "/api/generate",
        {"model": "llama3.2", "stream": "yes"},
        400,
        "json: cannot unmarshal string into Go struct field GenerateRequest.stream of type bool",
    ),
]


@pytest.mark.parametrize(("path", "body", "status", "message"), CASES)
def test_error_catalogue(
    http: httpx2.Client, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    resp = http.post(path, json=body)
    assert_error(resp, status, message)


# Source suffixes and spaces (internal/modelref): ParseRef trims, and %q-quotes the trimmed name.
CONFLICT = "use either :local or :cloud, not both: "
NAME_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("/api/chat", {"model": " x:local:cloud "}, 400, CONFLICT + '"x:local:cloud"'),
    ("/api/show", {"model": "x:cloud:cloud"}, 400, CONFLICT + '"x:cloud:cloud"'),
    ("/api/embed", {"model": "x:8b-cloud:local"}, 400, CONFLICT + '"x:8b-cloud:local"'),
    ("/api/pull", {"model": "x:local:cloud"}, 400, CONFLICT + '"x:local:cloud"'),
    ("/api/generate", {"model": 'q"x:local:cloud'}, 400, CONFLICT + '"q\\"x:local:cloud"'),
    ("/api/show", {"model": "   "}, 400, "model is required"),
    ("/api/chat", {"model": "  "}, 400, "model is required"),
    ("/api/generate", {"model": "  "}, 404, "model '  ' not found"),
    ("/api/embed", {"model": "  ", "input": 5}, 404, "model '  ' not found"),  # before the input
    ("/api/pull", {"model": "  "}, 400, "invalid model name"),
    ("/api/create", {"model": "n", "from": "  ", "stream": False}, 400, "invalid model name"),
    # /api/embeddings skips getExistingName: the manifest path is looked up as spelled.
    (
        "/api/embeddings",
        {"model": "ALL-MINILM", "prompt": "x"},
        404,
        'model "ALL-MINILM" not found, try pulling it first',
    ),
]


@pytest.mark.parametrize(("path", "body", "status", "message"), NAME_CASES)
def test_model_reference_errors(
    http: httpx2.Client, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    assert_error(http.post(path, json=body), status, message)


def test_spaces_around_a_name_are_trimmed(http: httpx2.Client) -> None:
    body = {"model": " llama3.2 ", "prompt": "hi", "stream": False}
    assert http.post("/api/generate", json=body).json()["response"] == "Echo: hi"
    assert http.post("/api/show", json={"model": " llama3.2\t"}).status_code == 200
    assert http.post("/api/embed", json={"model": "all-minilm:local", "input": "x"}).is_success


def test_delete_and_pull_keep_a_cloud_suffix_in_the_name(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    # parseNormalizePullModelRef: `x:cloud` and `x:8b:cloud` name stubs, never the local `x`.
    for raw in ("llama3.2:cloud", "llama3.2:latest:cloud", "llama3.2:latest-cloud"):
        resp = http.request("DELETE", "/api/delete", json={"model": raw})
        assert_error(resp, 404, f"model '{raw}' not found")
    assert "llama3.2:latest" in ollama_double.installed_names()
    ollama_double.catalogue.add("stub:latest-cloud")
    pulled = http.post("/api/pull", json={"model": "stub:cloud:cloud"})
    assert pulled.status_code == 400
    assert http.post("/api/pull", json={"model": "stub:latest:cloud", "stream": False}).json() == {
        "status": "success"
    }
    assert "stub:latest-cloud" in ollama_double.installed_names()
    # `:local` is only a source: the name is the rest.
    assert http.request("DELETE", "/api/delete", json={"model": " gemma2:2b:local"}).is_success
    assert "gemma2:2b" not in ollama_double.installed_names()


def test_push_of_an_invalid_name_fails_after_retrieving(http: httpx2.Client) -> None:
    # PushModel parses the name again and ParseNamedManifest refuses it as unqualified.
    resp = http.post("/api/push", json={"model": "bad name"})
    assert [json.loads(x) for x in resp.text.splitlines()] == [
        {"status": "retrieving manifest"},
        {"status": "couldn't retrieve manifest"},
        {"error": "unqualified name: registry.ollama.ai/library/bad name:latest"},
    ]
    whole = http.post("/api/push", json={"model": BAD, "stream": False})
    assert_error(whole, 500, "unqualified name: bad/na/me/x:latest")


def test_unknown_option_is_ignored_and_truncation_is_silent(http: httpx2.Client) -> None:
    body = {"model": "llama3.2", "prompt": "x", "stream": False, "options": {"mirostat": "x"}}
    assert http.post("/api/generate", json=body).status_code == 200
    long = {"model": "all-minilm", "input": " ".join(["w"] * 600)}
    resp = http.post("/api/embed", json=long)
    assert resp.status_code == 200 and resp.json()["prompt_eval_count"] == 512


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"model": ""}, 400, "model is required"),
        ({"model": BAD}, 400, f'name "{BAD}" is invalid'),
        ({"model": "llama3"}, 404, "model 'llama3' not found"),
    ],
)
def test_delete_errors(
    http: httpx2.Client, body: dict[str, Any], status: int, message: str
) -> None:
    assert_error(http.request("DELETE", "/api/delete", json=body), status, message)


def test_unknown_path_and_wrong_method_are_gin_text(http: httpx2.Client) -> None:
    missing = http.get("/api/nope")
    assert (missing.status_code, missing.text) == (404, "404 page not found")
    assert missing.headers["content-type"] == "text/plain"
    for method, path in [("GET", "/api/generate"), ("POST", "/api/tags"), ("GET", "/api/delete")]:
        wrong = http.request(method, path)
        assert (wrong.status_code, wrong.text) == (405, "405 method not allowed")
        assert wrong.headers["content-type"] == "text/plain"


def test_pull_not_in_registry(http: httpx2.Client) -> None:
    resp = http.post("/api/pull", json={"model": "nope"})
    assert resp.status_code == 200
    assert resp.text == (
        '{"status":"pulling manifest"}\n{"error":"pull model manifest: file does not exist"}\n'
    )
    whole = http.post("/api/pull", json={"model": "nope", "stream": False})
    assert_error(whole, 500, "pull model manifest: file does not exist")
    assert whole.headers["content-type"] == "application/json"


def test_push_of_a_model_not_installed(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    path = ollama_double.models_dir / "manifests/registry.ollama.ai/library/x/latest"
    resp = http.post("/api/push", json={"model": "x"})
    lines = [json.loads(x) for x in resp.text.splitlines()]
    assert lines == [
        {"status": "retrieving manifest"},
        {"status": "couldn't retrieve manifest"},
        {"error": f"open {path}: no such file or directory"},
    ]
    whole = http.post("/api/push", json={"model": "x", "stream": False})
    assert_error(whole, 500, f"open {path}: no such file or directory")


def test_push_unauthorized(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    assert (
        http.post("/api/copy", json={"source": "llama3.2", "destination": "me/m"}).status_code
        == 200
    )
    ollama_double.faults.push_unauthorized = True
    resp = http.post("/api/push", json={"model": "me/m"})
    assert [json.loads(x) for x in resp.text.splitlines()] == [
        {"status": "retrieving manifest"},
        {"error": "unauthorized: access denied"},
    ]
    assert_error(
        http.post("/api/push", json={"model": "me/m", "stream": False}),
        500,
        "unauthorized: access denied",
    )
    # the official namespace is never pushable, fault or not
    ollama_double.faults.push_unauthorized = False
    assert_error(
        http.post("/api/push", json={"model": "llama3.2", "stream": False}),
        500,
        "unauthorized: access denied",
    )


# --- /api/create (contract 5.2) ---------------------------------------------------------


def create(http: httpx2.Client, **body: Any) -> httpx2.Response:
    """Non-streaming, so errors raised after progress lines still come back as a status."""
    return http.post("/api/create", json={"model": "new", "stream": False, **body})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"files": {"../x.gguf": "sha256:" + "0" * 64}}, "file path must be relative"),
        ({"files": {"/abs.gguf": "sha256:" + "0" * 64}}, "file path must be relative"),
        ({"files": {"x.gguf": ""}}, "invalid digest format"),
        ({"from": "llama3.2", "adapters": {"a.gguf": ""}}, "invalid digest format"),
        ({"from": "llama3.2", "draft_quantize": "q8_0"}, "--draft-quantize requires a DRAFT model"),
        ({}, "neither 'from' or 'files' was specified"),
        ({"modelfile": "FROM llama3.2"}, "neither 'from' or 'files' was specified"),
        ({"from": BAD}, "invalid model name"),
        (
            {"from": "llama3.2", "template": "{{ if .System }}"},
            "template error: template: :1: unexpected EOF",
        ),
        ({"files": {}}, "unknown type"),
    ],
)
def test_create_400s(http: httpx2.Client, body: dict[str, Any], message: str) -> None:
    resp = create(http, **body)
    assert_error(resp, 400, message)


def test_create_file_errors(
    http: httpx2.Client, ollama_double: OllamaDouble, tmp_path: Path
) -> None:
    text = upload(http, b"not a gguf at all")
    assert_error(create(http, files={"m.gguf": text}), 400, "supplied file was not in GGUF format")
    assert_error(create(http, files={"m.bin": text}), 400, "unknown type")
    absent = "sha256:" + "ab" * 32
    blob = ollama_double.store.blob_path(absent)
    assert_error(
        create(http, files={"m.gguf": absent}), 500, f"open {blob}: no such file or directory"
    )
    write_model(tmp_path / "m.gguf", ModelSpec(arch="llama", name="m"))
    model = upload(http, (tmp_path / "m.gguf").read_bytes())
    two = {"a.gguf": model, "b.gguf": text}
    assert_error(
        create(http, **{"from": "llama3.2", "adapters": two}),
        400,
        "only one adapter is currently supported",
    )
    assert_error(
        create(http, **{"from": "llama3.2", "quantize": "q4_K_M"}),
        500,
        "quantization is only supported for F16, BF16 and F32 models",
    )
    assert_error(
        create(http, **{"from": "llama3.2", "quantize": "q3"}),
        500,
        "unsupported quantization type Q3 - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0",
    )


def test_create_safetensors_adapter_errors(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    weights = upload(http, _safetensors())
    no_config = {"adapter_model.safetensors": weights}
    streamed = http.post(
        "/api/create", json={"model": "n", "from": "llama3.2", "adapters": no_config}
    )
    assert streamed.status_code == 200  # "converting adapter" went out first: the error is a line
    assert [json.loads(x) for x in streamed.text.splitlines()] == [
        {"status": "converting adapter"},
        {"error": "open adapter_config.json: no such file or directory"},
    ]
    assert_error(
        create(http, **{"from": "llama3.2", "adapters": no_config}),
        400,
        "open adapter_config.json: no such file or directory",
    )
    float_alpha = upload(http, b'{"lora_alpha": 16.0, "r": 8}')
    bad = {"adapter_model.safetensors": weights, "adapter_config.json": float_alpha}
    assert_error(
        create(http, **{"from": "llama3.2", "adapters": bad}),
        400,
        "json: cannot unmarshal number 16.0 into Go struct field "
        "AdapterParameters.lora_alpha of type uint32",
    )
    good = {
        "adapter_model.safetensors": weights,
        "adapter_config.json": upload(http, b'{"lora_alpha": 8}'),
    }
    assert_error(
        create(http, **{"from": "qwen3", "adapters": good}), 400, "unsupported architecture"
    )
    assert create(http, **{"from": "gemma2:2b", "adapters": good}).json() == {"status": "success"}
    # A base with no GGUF layer at all: the adapter has nothing to attach to.
    tmpl_digest, tmpl_size, _ = ollama_double.store.put_bytes(b"{{ .Prompt }}")
    cfg_digest, cfg_size, _ = ollama_double.store.put_bytes(b'{"model_format":"gguf"}\n')
    ollama_double.store.write_manifest(
        Name.parse("textonly"),
        layer(MEDIA_CONFIG, cfg_digest, cfg_size),
        [layer(MEDIA_TEMPLATE, tmpl_digest, tmpl_size)],
    )
    assert_error(
        create(http, **{"from": "textonly", "adapters": good}), 400, "no base model was found"
    )


def test_failed_create_leaves_the_model_untouched(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    before = (
        ollama_double.models_dir / "manifests/registry.ollama.ai/library/llama3.2/latest"
    ).read_bytes()
    resp = http.post(
        "/api/create", json={"model": "llama3.2", "from": "llama3.2", "template": "{{ end }}"}
    )
    assert resp.status_code == 400
    after = (
        ollama_double.models_dir / "manifests/registry.ollama.ai/library/llama3.2/latest"
    ).read_bytes()
    assert before == after


def test_create_from_a_missing_base_that_the_registry_lacks(http: httpx2.Client) -> None:
    resp = http.post("/api/create", json={"model": "new", "from": "nope"})
    assert resp.status_code == 200
    assert [json.loads(x) for x in resp.text.splitlines()] == [
        {"status": "pulling manifest"},
        {"error": "pull model manifest: file does not exist"},
    ]
    whole = http.post("/api/create", json={"model": "new", "from": "nope", "stream": False})
    assert_error(whole, 500, "pull model manifest: file does not exist")


def _safetensors() -> bytes:
    from safetensors.numpy import save

    prefix = "base_model.model.model.layers.0.self_attn.v_proj"
    return save(
        {
            f"{prefix}.lora_A.weight": np.ones((2, 16), np.float32),
            f"{prefix}.lora_B.weight": np.ones((16, 2), np.float32),
        }
    )
