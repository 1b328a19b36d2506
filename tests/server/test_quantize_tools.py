"""`quantize` on create_model and package_adapter through the real client, both eras: the model
show_model then reports, the quantize phase as MCP progress that only grows (also in a task),
and every refusal before anything reaches Ollama, with the text a model reads."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from server.app import build_server
from server.settings import Settings
from server.tasks.records import RELATED_TASK
from tests.adapter_factories import write_peft_dir
from tests.ollama_double.ggufs import FILE_TYPE_NUMBERS, ModelSpec, write_model
from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect
from tests.server.tasks_client import call_as_task, task_result

ONLY_UNQUANTIZED = "quantization is only supported for F16, BF16 and F32 models"
QUANTIZING = "quantizing F16 model to Q4_K_M"


def text(result: object) -> str:
    return str(result.content[0].text)  # type: ignore[attr-defined]


def weights(folder: Path, level: str) -> Path:
    path = folder / f"model-{level.lower()}.gguf"
    spec = ModelSpec(
        arch="llama", name="w", embedding_length=64, file_type=FILE_TYPE_NUMBERS[level]
    )
    write_model(path, spec)
    return path


def nothing_sent(double: OllamaDouble) -> bool:
    return (
        double.requests.count_prefix("POST", "/api/blobs/") == 0
        and double.requests.count("POST", "/api/create") == 0
    )


class Progress:
    """Every progress notification; `quantizing` is set once one says it is quantizing."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str | None]] = []
        self.quantizing = anyio.Event()

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, message))
        if message == QUANTIZING:
            self.quantizing.set()

    def grows(self) -> bool:
        values = [p for p, _ in self.seen]
        return bool(values) and all(b > a for a, b in itertools.pairwise(values))


async def test_create_model_quantizes_with_growing_progress(
    connect: Connect, allowed_dir: Path, ollama_double: OllamaDouble
) -> None:
    source = weights(allowed_dir, "F16")
    # Held after "parsing GGUF" and the first quantize line, so that line is surely relayed.
    gate = ollama_double.faults.gate("/api/create")
    gate.allow(2)
    progress = Progress()
    async with connect() as client, anyio.create_task_group() as group:
        results: list[Any] = []

        async def create() -> None:
            arguments = {"name": "q", "modelfile": f"FROM {source}", "quantize": "q4_K_M"}
            results.append(
                await client.call_tool("create_model", arguments, progress_callback=progress)
            )

        group.start_soon(create)
        with anyio.fail_after(10):
            await progress.quantizing.wait()
        gate.open()
    [result] = results
    assert not result.is_error, text(result)
    assert QUANTIZING in result.structured_content["statuses"]
    assert progress.grows()
    async with connect() as client:
        shown = await client.call_tool("show_model", {"name": "q"})
    assert shown.structured_content["quantization"] == "Q4_K_M"


async def test_a_quantize_run_as_a_task_reports_its_progress_the_same_way(
    settings: Settings, allowed_dir: Path, ollama_double: OllamaDouble
) -> None:
    source = weights(allowed_dir, "F16")
    gate = ollama_double.faults.gate("/api/create")
    gate.allow(2)
    notes: list[dict[str, Any]] = []
    quantizing = anyio.Event()

    async def on_message(message: object) -> None:
        root = getattr(message, "root", message)
        if type(root).__name__ == "ProgressNotification":
            note = root.model_dump(by_alias=True, exclude_none=True)  # type: ignore[attr-defined]
            notes.append(note)
            if note["params"].get("message") == QUANTIZING:
                quantizing.set()

    server = build_server(settings)
    async with Client(
        server, mode="legacy", read_timeout_seconds=30, message_handler=on_message
    ) as client:
        arguments = {"name": "q", "modelfile": f"FROM {source}", "quantize": "q4_K_M"}
        created = await call_as_task(client, "create_model", arguments, progress_token="c1")
        with anyio.fail_after(10):
            await quantizing.wait()
        gate.open()
        result = await task_result(client, created["task"]["taskId"])
    assert not result.get("isError"), result
    assert result["structuredContent"]["model"] == "q:latest"
    values = [n["params"]["progress"] for n in notes]
    assert all(b > a for a, b in itertools.pairwise(values))
    related = {"taskId": created["task"]["taskId"]}
    assert all(n["params"]["_meta"][RELATED_TASK] == related for n in notes)
    assert all(n["params"]["progressToken"] == "c1" for n in notes)


async def test_an_unknown_quantize_is_refused_before_any_upload(
    connect: Connect, allowed_dir: Path, ollama_double: OllamaDouble
) -> None:
    source = weights(allowed_dir, "F16")
    async with connect() as client:
        result = await client.call_tool(
            "create_model", {"name": "q", "modelfile": f"FROM {source}", "quantize": "q5_K_M"}
        )
    assert result.is_error
    assert text(result) == (
        "Error executing tool create_model: unsupported quantization type Q5_K_M - supported "
        "types are F32, F16, Q4_K_S, Q4_K_M, Q8_0 (did you mean 'Q4_K_M'?)"
    )
    assert nothing_sent(ollama_double)


async def test_an_already_quantized_file_is_refused_in_ollamas_words(
    connect: Connect, allowed_dir: Path, ollama_double: OllamaDouble
) -> None:
    source = weights(allowed_dir, "Q8_0")
    async with connect() as client:
        result = await client.call_tool(
            "create_model", {"name": "q", "modelfile": f"FROM {source}", "quantize": "q4_K_M"}
        )
    assert result.is_error
    assert text(result) == (
        f"Error executing tool create_model: {ONLY_UNQUANTIZED}: {source.name} is Q8_0; create "
        "from the F16 or BF16 GGUF, or leave quantize out to keep its type"
    )
    assert nothing_sent(ollama_double)


async def test_ollamas_own_refusal_says_what_to_do(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    # tinyllama is pulled by the create itself (it is Q4_0): only Ollama can refuse it.
    async with connect() as client:
        result = await client.call_tool(
            "create_model", {"name": "q", "modelfile": "FROM tinyllama", "quantize": "q8_0"}
        )
    assert result.is_error
    assert text(result) == (
        f"Error executing tool create_model: Ollama error (in the stream): {ONLY_UNQUANTIZED}; "
        "the source is already quantized (or an F32 file, whose type Ollama reads as unknown): "
        "create from its F16 or BF16 weights, or leave quantize out to keep its type"
    )
    assert "q:latest" not in ollama_double.installed_names()


async def test_an_adapter_on_a_quantized_base_is_refused_with_the_reason(
    connect: Connect, allowed_dir: Path, ollama_double: OllamaDouble
) -> None:
    adapter = write_peft_dir(allowed_dir / "peft", hidden=3072)
    async with connect() as client:
        result = await client.call_tool(
            "package_adapter",
            {"path": str(adapter), "name": "t", "base_model": "llama3.2", "quantize": "q4_K_M"},
        )
    assert result.is_error
    assert text(result) == (
        f"Error executing tool package_adapter: {ONLY_UNQUANTIZED}: base model 'llama3.2' is "
        "Q4_K_M, and Ollama never quantizes the adapter itself; to get a Q4_K_M model, package "
        "the adapter onto an F16 or BF16 base (create one from its F16 GGUF), or leave quantize "
        "out to keep Q4_K_M"
    )
    assert nothing_sent(ollama_double)


async def test_an_adapter_on_an_f16_base_gets_a_quantized_base(
    connect: Connect, allowed_dir: Path, ollama_double: OllamaDouble
) -> None:
    source = weights(allowed_dir, "F16")
    adapter = write_peft_dir(allowed_dir / "peft", hidden=64)
    async with connect() as client:
        made = await client.call_tool("create_model", {"name": "b", "modelfile": f"FROM {source}"})
        assert not made.is_error, text(made)
        result = await client.call_tool(
            "package_adapter",
            {"path": str(adapter), "name": "t", "base_model": "b", "quantize": "q4_K_M"},
        )
        assert not result.is_error, text(result)
        shown = await client.call_tool("show_model", {"name": "t"})
    assert shown.structured_content["quantization"] == "Q4_K_M"
