"""create_model, generate_modelfile and package_adapter through the real client: files only
through the allowed folders (client roots and --allow-dir), progress, and the report."""

from __future__ import annotations

import itertools
from pathlib import Path

import mcp.types as types
from mcp import Client

from server.app import build_server
from server.settings import Settings
from tests.adapter_factories import write_peft_dir
from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect, with_settings

LLAMA_HIDDEN = 3072  # the double's llama3.2 embedding length: the adapter must fit it
HINT = (
    "to allow a folder, add it to your MCP client's roots, or start the server with "
    "--allow-dir DIR (env OLLAMA_MCP_ALLOW_DIRS)"
)


def text(result: object) -> str:
    return str(result.content[0].text)  # type: ignore[attr-defined]


async def test_create_model_from_text(connect: Connect, ollama_double: OllamaDouble) -> None:
    async with connect() as client:
        result = await client.call_tool(
            "create_model", {"name": "brief", "modelfile": "FROM llama3.2\nSYSTEM Be brief."}
        )
    assert not result.is_error, text(result)
    assert text(result) == "created brief:latest: 0 B sent, 0 B already there"
    assert "brief:latest" in ollama_double.installed_names()


async def test_create_model_needs_exactly_one_modelfile(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("create_model", {"name": "x"})
    assert result.is_error
    assert text(result) == (
        "Error executing tool create_model: give exactly one of modelfile (the text) or "
        "modelfile_path"
    )


async def test_a_bad_modelfile_says_what_to_fix(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("create_model", {"name": "x", "modelfile": "SYSTEM hi"})
    assert result.is_error
    assert text(result).startswith("Error executing tool create_model: invalid Modelfile: ")
    assert text(result).endswith("fix it (generate_modelfile writes a valid one)")


async def test_modelfile_path_outside_the_roots_is_refused(
    connect: Connect, tmp_path: Path, allowed_dir: Path
) -> None:
    outside = tmp_path / "Modelfile"
    outside.write_text("FROM llama3.2\n")
    async with connect() as client:
        result = await client.call_tool(
            "create_model", {"name": "x", "modelfile_path": str(outside)}
        )
    assert result.is_error
    assert text(result) == (
        f"Error executing tool create_model: refusing to read {str(outside)!r}: it is outside "
        f"the allowed folders ({allowed_dir}); {HINT}"
    )


async def test_with_no_folder_allowed_every_file_is_refused(
    settings: Settings, mode: str, allowed_dir: Path
) -> None:
    modelfile = allowed_dir / "Modelfile"
    modelfile.write_text("FROM llama3.2\n")
    bare = with_settings(settings, allow_dirs=())
    async with Client(build_server(bare), mode=mode) as client:
        result = await client.call_tool(
            "create_model", {"name": "x", "modelfile_path": str(modelfile)}
        )
    assert result.is_error
    assert text(result) == (
        f"Error executing tool create_model: refusing to read {str(modelfile)!r}: it is outside "
        f"the allowed folders (none); {HINT}"
    )


async def test_client_roots_allow_a_folder(
    settings: Settings, mode: str, allowed_dir: Path, ollama_double: OllamaDouble
) -> None:
    modelfile = allowed_dir / "Modelfile"
    modelfile.write_text("FROM llama3.2\nSYSTEM From a root.\n")

    async def roots(_: object) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=allowed_dir.as_uri())])

    bare = with_settings(settings, allow_dirs=())
    async with Client(build_server(bare), mode=mode, list_roots_callback=roots) as client:
        result = await client.call_tool(
            "create_model", {"name": "rooted", "modelfile_path": str(modelfile)}
        )
        status = await client.call_tool("ollama_status", {})
    assert not result.is_error, text(result)
    assert "rooted:latest" in ollama_double.installed_names()
    assert status.structured_content is not None
    assert status.structured_content["allowed_roots"] == [str(allowed_dir.resolve())]  # noqa: ASYNC240


async def test_generate_modelfile_returns_the_text(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool(
            "generate_modelfile",
            {"base_model": "llama3.2", "system_prompt": "Be brief.", "parameters": {"top_k": 20}},
        )
    assert not result.is_error, text(result)
    assert text(result) == 'FROM llama3.2\n\nSYSTEM """Be brief."""\n\nPARAMETER top_k 20'
    assert result.structured_content == {"modelfile": text(result)}


async def test_generate_modelfile_with_a_bad_parameter(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool(
            "generate_modelfile", {"base_model": "llama3.2", "parameters": {"nope": 1}}
        )
    assert result.is_error
    assert text(result).startswith("Error executing tool generate_modelfile: invalid parameters:")


async def test_package_adapter_reports_what_was_sent(
    connect: Connect, allowed_dir: Path, ollama_double: OllamaDouble
) -> None:
    adapter = write_peft_dir(allowed_dir / "peft", hidden=LLAMA_HIDDEN)
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    async with connect() as client:
        result = await client.call_tool(
            "package_adapter",
            {"path": str(adapter), "name": "my-finetune", "base_model": "llama3.2"},
            progress_callback=on_progress,
        )
    assert not result.is_error, text(result)
    data = result.structured_content
    assert data is not None
    assert data["model"] == "my-finetune:latest"
    assert data["adapter_layout"] == "peft_directory"
    assert data["bytes_uploaded"] > 0 and data["pushed"] is False
    assert text(result).startswith(
        "created my-finetune:latest from llama3.2:latest with 1 adapter (peft_directory): "
    )
    values = [p for p, _ in seen]
    assert values and all(b > a for a, b in itertools.pairwise(values))
    assert "my-finetune:latest" in ollama_double.installed_names()


async def test_package_adapter_push_needs_allow_push(
    settings: Settings, mode: str, allowed_dir: Path
) -> None:
    adapter = write_peft_dir(allowed_dir / "peft", hidden=LLAMA_HIDDEN)
    quiet = with_settings(settings, allow_push=False)
    async with Client(build_server(quiet), mode=mode) as client:
        result = await client.call_tool(
            "package_adapter",
            {"path": str(adapter), "name": "me/x", "base_model": "llama3.2", "push": True},
        )
    assert result.is_error
    assert text(result) == (
        "Error executing tool package_adapter: push is off on this server: start it with "
        "--allow-push (env OLLAMA_MCP_ALLOW_PUSH=1)"
    )


async def test_package_adapter_on_a_base_not_installed(connect: Connect, allowed_dir: Path) -> None:
    adapter = write_peft_dir(allowed_dir / "peft", hidden=LLAMA_HIDDEN)
    async with connect() as client:
        result = await client.call_tool(
            "package_adapter", {"path": str(adapter), "name": "x", "base_model": "mistral"}
        )
    assert result.is_error
    assert text(result) == (
        "Error executing tool package_adapter: base model 'mistral:latest' is not installed: "
        "pull it with pull_model first"
    )
