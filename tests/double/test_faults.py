"""Every fault control, the request log, and disconnect detection. Waits on events, never sleeps."""

from __future__ import annotations

import json

import httpx2
import ollama
import pytest

from tests.ollama_double import OllamaDouble

BUSY = "server busy, please try again.  maximum pending requests exceeded"


def test_refuse_and_accept_connections_on_the_same_port(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    url = ollama_double.url
    assert http.get("/").status_code == 200  # leaves a pooled keep-alive connection
    ollama_double.faults.refuse_connections()
    with pytest.raises(httpx2.ConnectError):
        http.get("/")
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(url + "/")
    ollama_double.faults.accept_connections()
    assert ollama_double.url == url
    assert http.get("/").status_code == 200
    assert ollama_double.requests.disconnects == []  # closed by the server, not the client


async def test_official_client_sees_ollama_down(ollama_double: OllamaDouble) -> None:
    client = ollama.AsyncClient(host=ollama_double.url)
    ollama_double.faults.refuse_connections()
    with pytest.raises(ConnectionError, match="Failed to connect to Ollama"):
        await client.list()
    ollama_double.faults.reset()  # reset also listens again
    assert (await client.list()).models


def test_busy_answers_503_for_the_next_n_requests(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.busy(2)
    for path in ("/api/tags", "/api/version"):
        resp = http.get(path)
        assert (resp.status_code, resp.json()) == (503, {"error": BUSY})
    assert http.get("/api/tags").status_code == 200


async def test_delay_a_route_and_see_the_client_give_up(ollama_double: OllamaDouble) -> None:
    ollama_double.faults.delay("/api/show", 30)
    async with httpx2.AsyncClient(base_url=ollama_double.url, timeout=0.2) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.post("/api/show", json={"model": "llama3.2"})
        assert (await client.get("/api/version")).status_code == 200  # other routes unaffected
    assert await ollama_double.requests.wait_disconnect_async(5)
    assert ollama_double.requests.disconnects == ["/api/show"]
    ollama_double.faults.delay("/api/show", 0)
    async with httpx2.AsyncClient(base_url=ollama_double.url, timeout=5) as client:
        assert (await client.post("/api/show", json={"model": "llama3.2"})).status_code == 200


def test_delay_under_a_prefix(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    ollama_double.faults.delay("/api/blobs/", 30)
    with pytest.raises(httpx2.ReadTimeout):
        http.head("/api/blobs/sha256:" + "0" * 64, timeout=0.2)
    assert http.get("/api/tags").status_code == 200


def test_drop_after_lines_aborts_one_stream(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.drop_after_lines(2, "/api/generate")
    lines: list[str] = []
    body = {"model": "llama3.2", "prompt": "one two three four"}
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        http.stream("POST", "/api/generate", json=body) as resp,
    ):
        assert resp.status_code == 200
        lines.extend(resp.iter_lines())
    assert [json.loads(x)["response"] for x in lines] == ["Echo:", " one"]
    assert ollama_double.requests.disconnects == []
    again = http.post("/api/generate", json=body)  # the fault was for one stream
    assert again.text.count("\n") == 6


def test_drop_applies_only_to_its_route(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    ollama_double.faults.drop_after_lines(0, "/api/pull")
    assert http.post("/api/generate", json={"model": "llama3.2", "prompt": "x"}).status_code == 200
    with pytest.raises(httpx2.RemoteProtocolError):
        http.post("/api/pull", json={"model": "tinyllama"})


async def test_error_after_lines_sends_an_error_line(ollama_double: OllamaDouble) -> None:
    ollama_double.faults.error_after_lines(1, "model runner has unexpectedly stopped")
    async with httpx2.AsyncClient(base_url=ollama_double.url) as client:
        resp = await client.post(
            "/api/chat",
            json={"model": "llama3.2", "messages": [{"role": "user", "content": "x y"}]},
        )
    assert resp.status_code == 200
    lines = [json.loads(x) for x in resp.text.splitlines()]
    assert len(lines) == 2 and lines[0]["message"]["content"] == "Echo:"
    assert lines[1] == {"error": "model runner has unexpectedly stopped"}
    ollama_double.faults.error_after_lines(3, "boom", "/api/pull")
    client_ = ollama.AsyncClient(host=ollama_double.url)
    with pytest.raises(ollama.ResponseError) as err:
        async for _ in await client_.pull("tinyllama", stream=True):
            pass
    assert (err.value.error, err.value.status_code) == ("boom", -1)


async def test_slow_tokens_and_a_client_that_leaves_mid_stream(ollama_double: OllamaDouble) -> None:
    ollama_double.faults.token_delay = 0.05
    async with (
        httpx2.AsyncClient(base_url=ollama_double.url, timeout=10) as client,
        client.stream(
            "POST", "/api/generate", json={"model": "llama3.2", "prompt": " ".join(["w"] * 40)}
        ) as resp,
    ):
        async for line in resp.aiter_lines():
            assert json.loads(line)["response"] == "Echo:"
            break  # leave after the first token; closing the stream closes the connection
    assert await ollama_double.requests.wait_disconnect_async(5)
    assert ollama_double.requests.disconnects == ["/api/generate"]
    ollama_double.faults.token_delay = 30
    async with httpx2.AsyncClient(base_url=ollama_double.url, timeout=0.2) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.post("/api/pull", json={"model": "tinyllama"})
    assert await ollama_double.requests.wait_disconnect_async(5)
    assert "tinyllama:latest" not in ollama_double.installed_names()  # the pull was cancelled


def test_legacy_mode_behaves_as_ollama_0_5_4(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.legacy = True
    assert http.get("/api/version").json() == {"version": "0.5.4"}
    resp = http.post("/api/create", json={"model": "m", "from": "llama3.2", "system": "s"})
    assert (resp.status_code, resp.json()) == (400, {"error": "path or Modelfile are required"})
    modelfile = (
        'FROM llama3.2\nSYSTEM """You are\nterse"""\nPARAMETER temperature 0.2\nPARAMETER stop "x"'
    )
    resp = http.post("/api/create", json={"model": "m", "modelfile": modelfile})
    statuses = [json.loads(x)["status"] for x in resp.text.splitlines()]
    assert statuses[0] == "reading model metadata"
    assert statuses[-2:] == ["writing manifest", "success"]
    assert any(s.startswith("using already created layer sha256:") for s in statuses)
    assert any(s.startswith("writing layer sha256:") for s in statuses)
    shown = http.post("/api/show", json={"model": "m"}).json()
    assert shown["system"] == "You are\nterse"
    assert 'stop                           "x"' in shown["parameters"]
    assert "temperature                    0.2" in shown["parameters"]


def test_version_is_configurable(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    ollama_double.faults.version = "0.12.5"
    assert http.get("/api/version").json() == {"version": "0.12.5"}
    ollama_double.faults.reset()
    assert http.get("/api/version").json() == {"version": "0.33.0-rc2"}


def test_reset_clears_every_fault(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    faults = ollama_double.faults
    faults.busy(5)
    faults.delay("/api/tags", 30)
    faults.drop_after_lines(0)
    faults.error_after_lines(0, "x")
    faults.token_delay = 30
    faults.legacy = True
    faults.push_unauthorized = True
    faults.refuse_connections()
    faults.reset()
    assert http.get("/api/tags").status_code == 200
    assert (
        http.post("/api/generate", json={"model": "llama3.2", "prompt": "x"}).text.count("\n") == 3
    )
    assert http.get("/api/version").json()["version"] == "0.33.0-rc2"
    assert not faults.push_unauthorized


def test_request_log(http: httpx2.Client, ollama_double: OllamaDouble) -> None:
    log = ollama_double.requests
    http.post("/api/generate", json={"model": "llama3.2", "prompt": "a"})
    http.post("/api/generate", json={"model": "llama3.2", "prompt": "b", "stream": False})
    http.post("/api/blobs/sha256:" + "a" * 64, content=b"1234")
    http.head("/api/blobs/sha256:" + "b" * 64)
    assert log.count("POST", "/api/generate") == 2
    assert log.count_prefix("POST", "/api/blobs/") == 1
    assert log.count_prefix("HEAD", "/api/blobs/") == 1
    assert [b["prompt"] for b in log.bodies("/api/generate")] == ["a", "b"]
    assert log.bodies("/api/blobs/sha256:" + "a" * 64) == [4]
    assert log.headers("/api/generate")[0]["content-type"] == "application/json"
    assert log.wait_count("POST", "/api/generate", 2, timeout=1)
    log.clear()
    assert log.count("POST", "/api/generate") == 0 and log.bodies("/api/generate") == []


async def test_a_gate_lets_stream_lines_out_only_as_allowed(ollama_double: OllamaDouble) -> None:
    ollama_double.catalogue.add("gated:latest", model_size=2**20)
    gate = ollama_double.faults.gate("/api/pull")
    gate.allow(2)
    lines: list[dict[str, object]] = []
    async with (
        httpx2.AsyncClient(base_url=ollama_double.url, timeout=10) as client,
        client.stream("POST", "/api/pull", json={"model": "gated"}) as resp,
    ):
        stream = resp.aiter_lines()
        lines.append(json.loads(await anext(stream)))
        lines.append(json.loads(await anext(stream)))
        assert await gate.wait_held_async(lines=2)
        gate.allow(1)
        lines.append(json.loads(await anext(stream)))
        assert await gate.wait_held_async(lines=3)
    assert lines[0] == {"status": "pulling manifest"}
    assert await ollama_double.requests.wait_disconnect_async(5)
    assert ollama_double.requests.disconnects == ["/api/pull"]
    ollama_double.faults.reset()
    assert gate.held == 0
    assert "gated:latest" not in ollama_double.installed_names()
