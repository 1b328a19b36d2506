"""What `generate` and `chat` cost through the server: each tool called over stdio against the
same request streamed straight from the Ollama double with httpx2 (every NDJSON line read and
parsed); the SDK's floor, a bare `MCPServer` whose generate only streams that request
(`bench.bare_server`), against the same direct request; and `generate` against the most used
peer, npm `ollama-mcp@2.1.0`, in the same run.

The prompt is short ("Echo: call N", four lines from the double), so what is measured is the
per-call cost of the MCP layer, not the model. Both sides are warm and alternate in blocks
(`bench.mcp_calls.alternate`); each figure is the median of single calls. The peer is optional:
the bench installs it with npm into a cache folder once (`peer.py`), and says why when it
cannot (no npm, no registry); `--smoke` never tries.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2

from bench import peer
from bench.common import Figure, Workspace, median
from bench.mcp_calls import alternate
from bench.mcp_server import Session, bare_session, mcp_session
from tests.ollama_double import OllamaDouble, running_double

MODEL = "llama3.2:latest"
PROMPT = "call 1"
MESSAGES = [{"role": "user", "content": PROMPT}]
EXPECTED = f"Echo: {PROMPT}"


def run(workspace: Workspace) -> list[Figure]:
    with running_double(workspace.folder("generate-models")) as double:
        return anyio.run(_measure, workspace, double)


async def _measure(workspace: Workspace, double: OllamaDouble) -> list[Figure]:
    calls = workspace.settings.mcp_calls
    async with (
        mcp_session(double.url, workspace.folder("generate"), label="generate") as session,
        bare_session(double.url) as bare,
        httpx2.AsyncClient(base_url=double.url, timeout=30) as http,
    ):

        async def direct_generate() -> None:
            body = {"model": MODEL, "prompt": PROMPT, "stream": True}
            await _streamed(http, "/api/generate", body, "response")

        async def direct_chat() -> None:
            body = {"model": MODEL, "messages": MESSAGES, "stream": True}
            await _streamed(http, "/api/chat", body, "message")

        async def mcp_generate() -> None:
            _expect(
                (await session.call("generate", {"model": MODEL, "prompt": PROMPT}))["response"]
            )

        async def mcp_chat() -> None:
            reply = await session.call("chat", {"model": MODEL, "messages": MESSAGES})
            _expect(reply["content"])

        async def bare_generate() -> None:
            _expect((await bare.call("generate", {"model": MODEL, "prompt": PROMPT}))["response"])

        generating, streaming = await alternate(
            session.server, mcp_generate, direct_generate, calls
        )
        chatting, chat_streaming = await alternate(session.server, mcp_chat, direct_chat, calls)
        floor, floor_streaming = await alternate(bare.server, bare_generate, direct_generate, calls)
        against_peer = (
            [] if workspace.settings.smoke else await _against_peer(session, double.url, calls)
        )

    ours_ms = median(generating.seconds) * 1e3
    figures = [
        Figure.of(
            "mcp_generate",
            "generate over a direct streaming /api/generate",
            ours_ms,
            median(streaming.seconds) * 1e3,
            ratio_of="median tools/call generate over stdio / median httpx2 streaming POST "
            "/api/generate (every line parsed)",
            unit="ms",
            healthy="within 1.4",
            details={
                "added_ms": round(ours_ms - median(streaming.seconds) * 1e3, 3),
                "calls_each": calls,
                "lines_per_answer": 4,
                **generating.cpu_ms("mcp"),
                **streaming.cpu_ms("direct"),
            },
        ),
        Figure.of(
            "mcp_chat",
            "chat over a direct streaming /api/chat",
            median(chatting.seconds) * 1e3,
            median(chat_streaming.seconds) * 1e3,
            ratio_of="median tools/call chat over stdio / median httpx2 streaming POST /api/chat",
            unit="ms",
            healthy="within 1.4",
            details={
                "added_ms": round(
                    (median(chatting.seconds) - median(chat_streaming.seconds)) * 1e3, 3
                ),
                "calls_each": calls,
                **chatting.cpu_ms("mcp"),
                **chat_streaming.cpu_ms("direct"),
            },
        ),
    ]
    floor_ms = median(floor.seconds) * 1e3
    figures.append(
        Figure.of(
            "mcp_generate_sdk",
            "the SDK alone: a bare MCPServer's generate over a direct streaming call",
            floor_ms,
            median(floor_streaming.seconds) * 1e3,
            ratio_of="median tools/call generate of bench.bare_server (MCPServer, one streaming "
            "httpx2 request, no progress) over stdio / median httpx2 streaming POST /api/generate",
            unit="ms",
            healthy="the floor under mcp_generate: what the SDK and stdio cost",
            details={
                "added_ms": round(floor_ms - median(floor_streaming.seconds) * 1e3, 3),
                "ours_over_bare": round(ours_ms / floor_ms, 3),
                "calls_each": calls,
                **floor.cpu_ms("bare"),
            },
        )
    )
    return figures + against_peer


async def _against_peer(ours: Session, ollama_url: str, calls: int) -> list[Figure]:
    """Our generate against the peer's, both over stdio with the SDK's client, alternating."""
    command = peer.command()
    if isinstance(command, str):
        peer.say(f"no figure against {peer.PACKAGE}: {command}")
        return []
    async with peer.session(command, ollama_url) as theirs:

        async def our_generate() -> None:
            _expect((await ours.call("generate", {"model": MODEL, "prompt": PROMPT}))["response"])

        async def their_generate() -> None:
            await _peer_generate(theirs)

        mine, others = await alternate(ours.server, our_generate, their_generate, calls)
    return [
        Figure.of(
            "mcp_generate_peer",
            f"generate over the peer's ({peer.PACKAGE})",
            median(mine.seconds) * 1e3,
            median(others.seconds) * 1e3,
            ratio_of=f"median tools/call generate (ours) / median tools/call ollama_generate "
            f"({peer.PACKAGE} on node {peer.node_version()}), both over stdio",
            unit="ms",
            healthy="at most 1 (no slower than the most used peer)",
            details={"calls_each": calls, **mine.cpu_ms("ours")},
        )
    ]


async def _peer_generate(session: Session) -> None:
    # The peer defaults `format` to json (forcing JSON mode); markdown asks for plain text.
    arguments = {"model": MODEL, "prompt": PROMPT, "format": "markdown"}
    result = await session.client.call_tool("ollama_generate", arguments)
    text = " ".join(getattr(block, "text", "") for block in result.content)
    if result.is_error or EXPECTED not in text:
        raise RuntimeError(f"{peer.PACKAGE} ollama_generate answered {text!r}")


async def _streamed(http: httpx2.AsyncClient, path: str, body: dict[str, Any], key: str) -> None:
    """One streaming request read as a client must: line by line, each parsed."""
    parts: list[Any] = []
    async with http.stream("POST", path, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line:
                parts.append(json.loads(line)[key])
    if len(parts) < 2:
        raise RuntimeError(f"{path} streamed {len(parts)} lines")


def _expect(text: str) -> None:
    if text != EXPECTED:
        raise RuntimeError(f"the server answered {text!r}, not {EXPECTED!r}")
