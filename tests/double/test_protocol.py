"""Wire details: NDJSON framing, content types, progress sequences, Go JSON quirks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest

from tests.ollama_double import OllamaDouble, gojson
from tests.ollama_double.ggufs import ModelSpec, write_model
from tests.ollama_double.names import Name


def ndjson(resp: httpx2.Response) -> list[dict[str, Any]]:
    """Parse a stream strictly: every line one JSON object, no blank lines, final newline."""
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/x-ndjson"
    assert resp.headers["transfer-encoding"] == "chunked"
    text = resp.text
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    assert all(line.strip() for line in lines), "blank line in NDJSON"
    return [json.loads(line) for line in lines]


def test_root_and_version(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    root = http.get("/")
    assert (root.status_code, root.text) == (200, "Ollama is running")
    assert root.headers["content-type"] == "text/plain; charset=utf-8"
    head = http.head("/")
    assert head.status_code == 200 and head.content == b""
    version = http.get("/api/version")
    assert version.json() == {"version": "0.33.0-rc2"}
    assert version.headers["content-type"] == "application/json; charset=utf-8"
    assert http.head("/api/version").status_code == 200
    assert http.head("/api/tags").status_code == 200
    assert http.head("/api/ps").status_code == 405


def test_tags_fields(http: httpx2.Client) -> None:
    models = http.get("/api/tags").json()["models"]
    entry = models[0]
    assert list(entry) == [
        "name",
        "model",
        "modified_at",
        "size",
        "digest",
        "details",
        "capabilities",
    ]
    assert entry["name"] == entry["model"] == "llama3.2:latest"
    assert not entry["digest"].startswith("sha256:") and len(entry["digest"]) == 64
    assert entry["details"]["context_length"] == 131072
    assert entry["details"]["embedding_length"] == 3072
    assert entry["modified_at"][10] == "T"


def test_generate_stream_framing_and_final_object(http: httpx2.Client) -> None:
    lines = ndjson(http.post("/api/generate", json={"model": "llama3.2", "prompt": "a b"}))
    assert [x["response"] for x in lines] == ["Echo:", " a", " b", ""]
    for line in lines[:-1]:
        assert list(line) == ["model", "created_at", "response", "done"]
        assert line["created_at"].endswith("Z")
    final = lines[-1]
    assert final["done"] is True and final["done_reason"] == "stop"
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(final[key], int) and final[key] > 0
    assert final["eval_count"] == 3 and isinstance(final["context"], list)


def test_stream_false_gives_one_json_object(http: httpx2.Client) -> None:
    resp = http.post(
        "/api/chat",
        json={"model": "llama3.2", "messages": [{"role": "USER", "content": "x"}], "stream": False},
    )
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    body = resp.json()
    assert body["message"] == {"role": "assistant", "content": "Echo: x"}
    assert body["done"] is True
    assert "\n" not in resp.text


def test_fields_match_case_insensitively_and_unknown_ones_are_ignored(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    resp = http.post(
        "/api/generate", json={"MODEL": "llama3.2", "Prompt": "x", "Stream": False, "bogus": 1}
    )
    assert resp.json()["response"] == "Echo: x"
    assert ollama_double.requests.last_body("/api/generate")["bogus"] == 1


def test_model_names_match_case_insensitively(http: httpx2.Client) -> None:
    resp = http.post("/api/show", json={"model": "LLAMA3.2:LATEST"})
    assert resp.status_code == 200
    assert (
        http.post(
            "/api/generate", json={"model": "Llama3.2", "prompt": "x", "stream": False}
        ).json()["model"]
        == "Llama3.2"
    )


def test_go_escapes_html_characters(http: httpx2.Client) -> None:
    raw = http.post("/api/show", json={"model": "llama3.2"}).content
    assert b"\\u003c|eot_id|\\u003e" in raw
    assert b"<|eot_id|>" not in raw


def test_go_escapes_every_html_character_and_line_separators() -> None:
    assert gojson.dumps({"k": "<a&b>\u2028\u2029é\x01"}) == (
        b'{"k":"\\u003ca\\u0026b\\u003e\\u2028\\u2029\xc3\xa9\\u0001"}'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.0, "2"),
        (-0.0, "-0"),
        (0.5, "0.5"),
        (1e-5, "0.00001"),
        (1e-6, "0.000001"),
        (9.99e-7, "9.99e-7"),
        (1e-7, "1e-7"),
        (1e-100, "1e-100"),
        (1e16, "10000000000000000"),
        (12345678901234567890.0, "12345678901234567000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
    ],
)
def test_floats_are_written_as_go_writes_them(value: float, text: str) -> None:
    assert gojson.dumps([value]) == f"[{text}]".encode()


def test_create_parameters_are_re_encoded_as_go_any(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    # The request is decoded into map[string]any (every number a float64) and re-encoded.
    body = (
        b'{"model":"p","from":"tinyllama","stream":false,"parameters":'
        b'{"temperature":1.0,"num_ctx":4096,"seed":12345678901234567890,"min_p":1e-05,'
        b'"top_p":1E-7,"stop":["<a>"]}}'
    )
    assert http.post("/api/create", content=body).json() == {"status": "success"}
    inst = ollama_double.store.find(Name.parse("p"))
    assert inst is not None
    params = next(x for x in inst.layers if x["mediaType"].endswith(".params"))
    assert ollama_double.store.blob_path(params["digest"]).read_bytes() == (
        b'{"min_p":0.00001,"num_ctx":4096,"seed":12345678901234567000,'
        b'"stop":["\\u003ca\\u003e"],"temperature":1,"top_p":1e-7}\n'
    )


def test_legacy_embeddings_are_widened_float32(http: httpx2.Client) -> None:
    values = http.post("/api/embeddings", json={"model": "all-minilm", "prompt": "a b c"}).json()
    assert all(float(np.float32(v)) == v for v in values["embedding"])


def test_pull_status_sequence(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    lines = ndjson(http.post("/api/pull", json={"model": "tinyllama"}))
    assert lines[0] == {"status": "pulling manifest"}
    assert [x["status"] for x in lines[-3:]] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    groups: dict[str, list[dict[str, Any]]] = {}
    for line in lines[1:-3]:
        assert line["status"] == f"pulling {line['digest'][7:19]}"
        groups.setdefault(line["digest"], []).append(line)
    manifest = json.loads(
        (
            ollama_double.models_dir / "manifests/registry.ollama.ai/library/tinyllama/latest"
        ).read_bytes()
    )
    order = [x["digest"] for x in manifest["layers"]] + [manifest["config"]["digest"]]
    assert list(groups) == order  # one group per layer, the config last
    for group in groups.values():
        assert "completed" not in group[0]  # zero is omitted
        assert group[-1]["completed"] == group[-1]["total"]
        done = [x["completed"] for x in group[1:]]
        assert done == sorted(done)
    again = ndjson(http.post("/api/pull", json={"model": "tinyllama"}))
    per_layer = [x for x in again if x.get("digest")]
    assert len(per_layer) == len(order)  # already present: one line each, completed == total
    assert all(x["completed"] == x["total"] for x in per_layer)
    whole = http.post("/api/pull", json={"model": "tinyllama", "stream": False})
    assert whole.headers["content-type"] == "application/json" and whole.json() == {
        "status": "success"
    }


def test_repull_removes_layers_no_longer_used(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    ollama_double.catalogue.add("grow:latest", model_size=4096)
    assert http.post("/api/pull", json={"model": "grow", "stream": False}).status_code == 200
    ollama_double.catalogue.set_model_size("grow:latest", 8192)
    statuses = [x["status"] for x in ndjson(http.post("/api/pull", json={"model": "grow"}))]
    assert statuses[-2:] == ["removing unused layers", "success"]


def test_repull_says_removing_even_when_old_layers_are_still_used(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    # PullModel sends the status whenever the old manifest had layers the new one lacks;
    # deleteUnusedLayers then keeps the ones another manifest uses.
    ollama_double.catalogue.add("grow:latest", model_size=4096)
    assert http.post("/api/pull", json={"model": "grow", "stream": False}).status_code == 200
    old = json.loads(
        (ollama_double.models_dir / "manifests/registry.ollama.ai/library/grow/latest").read_bytes()
    )
    http.post("/api/copy", json={"source": "grow", "destination": "keep"})
    ollama_double.catalogue.set_model_size("grow:latest", 8192)
    statuses = [x["status"] for x in ndjson(http.post("/api/pull", json={"model": "grow"}))]
    assert statuses[-2:] == ["removing unused layers", "success"]
    assert all(ollama_double.store.has_blob(x["digest"]) for x in old["layers"])


def test_push_status_sequence(http: httpx2.Client) -> None:
    http.post("/api/copy", json={"source": "qwen3", "destination": "someone/qwen"})
    lines = ndjson(http.post("/api/push", json={"model": "someone/qwen"}))
    assert lines[0] == {"status": "retrieving manifest"}
    assert lines[-2:] == [{"status": "pushing manifest"}, {"status": "success"}]
    for line in lines[1:-2]:
        assert line["status"] == f"pushing {line['digest'][7:19]}"
    # the registry now has every blob: a second push reports each one once, complete
    again = ndjson(http.post("/api/push", json={"model": "someone/qwen"}))
    assert all(x["completed"] == x["total"] for x in again if "digest" in x)


def test_create_from_a_model_not_installed_sends_two_successes(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    lines = ndjson(
        http.post("/api/create", json={"model": "mine", "from": "smollm:135m", "system": "s"})
    )
    statuses = [x["status"] for x in lines]
    first = statuses.index("success")
    assert statuses[0] == "pulling manifest"
    assert statuses[first - 2 : first] == ["verifying sha256 digest", "writing manifest"]
    assert statuses.count("success") == 2 and statuses[-1] == "success"
    tail = statuses[first + 1 :]
    assert tail[-2:] == ["writing manifest", "success"]
    assert any(s.startswith("creating new layer sha256:") for s in tail)
    whole = http.post(
        "/api/create", json={"model": "mine2", "from": "codellama:7b-code", "stream": False}
    )
    assert whole.json() == {"status": "success"}
    assert {"mine:latest", "smollm:135m", "mine2:latest", "codellama:7b-code"} <= set(
        ollama_double.installed_names()
    )


def test_create_statuses_follow_layer_order(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    body = {
        "model": "mario",
        "from": "llama3.2",
        "template": "{{ .Prompt }}",
        "system": "You are Mario from Super Mario Bros.",
        "license": ["one", "two"],
        "parameters": {"stop": ["x"], "num_ctx": 8192},
        "messages": [{"role": "user", "content": "hi"}],
    }
    statuses = [x["status"] for x in ndjson(http.post("/api/create", json=body))]
    assert statuses[-2:] == ["writing manifest", "success"]
    # kept: model + 2 licences; new: template, system, 2 licences, params, messages
    assert len(statuses) == 3 + 6 + 2
    assert all(s.startswith("using existing layer") for s in statuses[:3])
    assert (
        "creating new layer sha256:941b69ca7dc2a85c053c38d9e8029c9df6224e545060954fa97587f87c044a64"
        in statuses
    )
    manifest = json.loads(
        (
            ollama_double.models_dir / "manifests/registry.ollama.ai/library/mario/latest"
        ).read_bytes()
    )
    media = [x["mediaType"].rsplit(".", 1)[1] for x in manifest["layers"]]
    assert media == [
        "model",
        "license",
        "license",
        "template",
        "system",
        "license",
        "license",
        "params",
        "messages",
    ]
    assert [x.get("from") for x in manifest["layers"][:3]] == ["llama3.2:latest"] * 3
    assert all("from" not in x for x in manifest["layers"][3:])
    params = ollama_double.store.read_blob_json(manifest["layers"][7]["digest"])
    assert params == {"num_ctx": 8192, "stop": ["x"]}  # a new stop list replaces the base's


def test_create_accepts_a_license_string_and_stores_parameters_unchecked(
    http: httpx2.Client,
) -> None:
    body = {
        "model": "odd",
        "from": "llama3.2",
        "license": "MIT",
        "parameters": {"temperature": "hot"},
        "stream": False,
    }
    assert http.post("/api/create", json=body).json() == {"status": "success"}
    shown = http.post("/api/show", json={"model": "odd"}).json()
    assert shown["license"].endswith("\nMIT")
    assert 'temperature                    "hot"' in shown["parameters"]
    broken = http.post("/api/generate", json={"model": "odd", "prompt": "x"})
    assert (broken.status_code, broken.json()) == (
        500,
        {"error": 'option "temperature" must be of type float32'},
    )


def test_create_from_gguf_files_statuses(http: httpx2.Client, tmp_path: Path) -> None:
    write_model(tmp_path / "m.gguf", ModelSpec(arch="gemma2", name="m", file_type=1))
    data = (tmp_path / "m.gguf").read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert http.post(f"/api/blobs/{digest}", content=data).status_code == 201
    lines = ndjson(
        http.post(
            "/api/create", json={"model": "g", "files": {"m.gguf": digest}, "quantize": "q8_0"}
        )
    )
    statuses = [x["status"] for x in lines]
    assert statuses[0] == "parsing GGUF"
    # create.go: a layer quantized is rewritten once, so it is not validated as well.
    assert "validating GGUF model" not in statuses and "verifying conversion" in statuses
    assert "quantizing F16 model to Q8_0" in statuses
    assert all(
        x["digest"] == "0" * 19
        for x in lines
        if x["status"].startswith(("validating", "quantizing"))
    )
    assert statuses[-2:] == ["writing manifest", "success"]
    shown = http.post("/api/show", json={"model": "g"}).json()
    assert (
        shown["details"]["quantization_level"] == "Q8_0" and shown["details"]["family"] == "gemma2"
    )


def test_trailing_slash_redirects_like_gin(http: httpx2.Client) -> None:
    resp = http.get("/api/tags/")
    assert resp.status_code == 301 and resp.headers["location"] == "/api/tags"


def test_keep_alive_connection_serves_many_requests(ollama_double: OllamaDouble) -> None:
    with httpx2.Client(base_url=ollama_double.url) as client:
        for _ in range(5):
            assert client.get("/api/version").status_code == 200
            assert (
                client.post("/api/generate", json={"model": "llama3.2", "prompt": "x"}).status_code
                == 200
            )
    assert ollama_double.requests.count("GET", "/api/version") == 5
