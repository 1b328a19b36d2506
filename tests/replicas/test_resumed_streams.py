"""Resumable SSE streams with the event store in Redis. The SDK resumes a session's stream
(handshake era, sessions on): a client that lost its stream mid-call comes back with
Last-Event-ID and gets what it missed. A session lives in the replica that opened it, so another
replica answers 404 for it: resuming there is not possible with this SDK (see
server/replicas/event_store.py).

The pull is held at the double's gate until the resumed stream's priming event arrives: the SDK
sends it just before it hooks the stream to the call's live messages, with no await between, so
from then on nothing the call sends is missed. A message made between the replay and that hook
is stored but not sent on the resumed connection (a window the SDK's streamable_http.py names);
a client gets it by resuming again from its last event id."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2

from tests.ollama_double.faults import Gate
from tests.ollama_double.server import OllamaDouble
from tests.replicas.conftest import StartReplicas

MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
VERSION = "2025-11-25"
# A stream that never gets its answer fails the test here instead of hanging the suite.
HANG_GUARD = 60.0


async def open_session(http: httpx2.AsyncClient, url: str) -> dict[str, str]:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": VERSION, "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}}  # fmt: skip
    answer = await http.post(url, json=init, headers=MCP_HEADERS)
    assert answer.status_code == 200, answer.text
    headers = {**MCP_HEADERS, "Mcp-Session-Id": answer.headers["mcp-session-id"],
               "Mcp-Protocol-Version": VERSION}  # fmt: skip
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await http.post(url, json=done, headers=headers)).status_code == 202
    return headers


async def events(response: httpx2.Response) -> Any:
    """(id, message or None) for each SSE event of `response`."""
    event_id, data = None, ""
    async for line in response.aiter_lines():
        if line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "":
            if event_id is not None or data:
                yield event_id, json.loads(data) if data else None
            event_id, data = None, ""


async def resumed(
    http: httpx2.AsyncClient, url: str, headers: dict[str, str], last_id: str, gate: Gate
) -> list[tuple[str | None, dict[str, Any]]]:
    """The messages of the call's stream resumed from `last_id`, up to its answer (id 2). The
    held pull is let go once the resumed stream's priming event arrives (module docstring)."""
    got: list[tuple[str | None, dict[str, Any]]] = []
    async with http.stream("GET", url, headers={**headers, "Last-Event-ID": last_id}) as response:
        assert response.status_code == 200
        async for event_id, message in events(response):
            if message is None:
                gate.open()
                continue
            got.append((event_id, message))
            if message.get("id") == 2:
                return got
    raise AssertionError(f"the resumed stream ended before the answer, after {got}")


async def test_a_dropped_stream_is_resumed_from_redis_on_its_replica_and_not_on_another(
    start_replicas: StartReplicas, ollama_double: OllamaDouble
) -> None:
    ollama_double.catalogue.add("big:latest", model_size=2 * 2**20)
    ollama_double.progress_steps = 4
    gate = ollama_double.faults.gate("/api/pull")
    first, second = start_replicas(2)
    params = {"name": "pull_model", "arguments": {"name": "big"}, "_meta": {"progressToken": "p"}}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}
    with anyio.fail_after(HANG_GUARD):
        async with httpx2.AsyncClient(timeout=30) as http:
            headers = await open_session(http, first.mcp)
            gate.allow(2)
            seen: list[tuple[str | None, Any]] = []
            async with http.stream("POST", first.mcp, json=call, headers=headers) as response:
                assert response.status_code == 200
                async for event in events(response):
                    seen.append(event)
                    if event[1] is not None and event[1].get("method") == "notifications/progress":
                        break  # the connection drops here, mid-call
            last_id = seen[-1][0]
            assert last_id is not None

            elsewhere = await http.get(second.mcp, headers={**headers, "Last-Event-ID": last_id})
            assert (elsewhere.status_code, elsewhere.json()["error"]["message"]) == (
                404,
                "Session not found",
            )
            missed = [
                message for _, message in await resumed(http, first.mcp, headers, last_id, gate)
            ]
    assert missed[-1]["result"]["structuredContent"]["action"] == "pulled"
    assert all(m.get("method") == "notifications/progress" for m in missed[:-1])
    assert len(missed) >= 2  # progress it missed, then the answer
    assert ollama_double.requests.count("POST", "/api/pull") == 1


async def test_a_stream_dropped_after_its_priming_event_is_resumed_from_it_in_full(
    start_replicas: StartReplicas, ollama_double: OllamaDouble
) -> None:
    """The priming event's id (the only one a client has before any message) resumes the whole
    call: the session's later requests share its scope, so the id finds the call's stream."""
    ollama_double.catalogue.add("big:latest", model_size=2 * 2**20)
    ollama_double.progress_steps = 4
    gate = ollama_double.faults.gate("/api/pull")  # nothing comes out of the pull yet
    (first,) = start_replicas(1)
    params = {"name": "pull_model", "arguments": {"name": "big"}, "_meta": {"progressToken": "p"}}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}
    with anyio.fail_after(HANG_GUARD):
        async with httpx2.AsyncClient(timeout=30) as http:
            headers = await open_session(http, first.mcp)
            async with http.stream("POST", first.mcp, json=call, headers=headers) as response:
                assert response.status_code == 200
                async for event_id, message in events(response):
                    assert message is None  # the priming event, before anything else
                    priming_id = event_id
                    break  # the connection drops here, before any message
            assert priming_id is not None and priming_id.endswith("/0-0")
            got = await resumed(http, first.mcp, headers, priming_id, gate)
            ids = [event_id for event_id, _ in got]
            missed = [message for _, message in got]
    assert missed[-1]["result"]["structuredContent"]["action"] == "pulled"
    assert [m["method"] for m in missed[:-1]] == ["notifications/progress"] * (len(missed) - 1)
    assert len(missed) >= 2
    # every message is in the primed stream (the call's, in the session's scope)
    stream = priming_id.removesuffix("0-0")
    assert all(event_id is not None and event_id.startswith(stream) for event_id in ids), ids
