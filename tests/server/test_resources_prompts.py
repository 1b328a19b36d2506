"""Resources, completions, prompts, and the notifications that follow a change, in both eras."""

from __future__ import annotations

import json

import pytest
from mcp import MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from tests.server.conftest import Connect


async def test_resources_are_listed(connect: Connect) -> None:
    async with connect() as client:
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
    assert resources == {
        "ollama://models",
        "ollama://running",
        "ollama://status",
        "ollama://library",
        "ollama://pulls",
        "ollama://hosts",
    }
    assert templates == {"ollama://models/{+name}", "ollama://models/{+name}/modelfile"}


async def test_each_resource_reads(connect: Connect) -> None:
    async with connect() as client:
        models = await client.read_resource("ollama://models")
        one = await client.read_resource("ollama://models/llama3.2:latest")
        modelfile = await client.read_resource("ollama://models/llama3.2/modelfile")
        running = await client.read_resource("ollama://running")
        status = await client.read_resource("ollama://status")
    listed = json.loads(models.contents[0].text)  # type: ignore[union-attr]
    assert len(listed["models"]) == 4
    assert json.loads(one.contents[0].text)["family"] == "llama"  # type: ignore[union-attr]
    assert modelfile.contents[0].text.startswith("FROM llama3.2\n")  # type: ignore[union-attr]
    assert json.loads(running.contents[0].text) == {"models": []}  # type: ignore[union-attr]
    assert json.loads(status.contents[0].text)["reachable"] is True  # type: ignore[union-attr]


async def test_a_name_with_a_namespace_reads(connect: Connect) -> None:
    async with connect() as client:
        await client.call_tool("copy_model", {"source": "qwen3", "destination": "me/q:v1"})
        one = await client.read_resource("ollama://models/me/q:v1")
    assert json.loads(one.contents[0].text)["family"] == "qwen3"  # type: ignore[union-attr]


async def test_a_model_not_installed_is_not_found(connect: Connect) -> None:
    async with connect() as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource("ollama://models/ghost")
    assert caught.value.error.code == -32602
    assert "model 'ghost' is not installed" in caught.value.error.message


async def test_model_names_complete_from_the_installed_models(connect: Connect) -> None:
    async with connect() as client:
        by_template = await client.complete(
            ResourceTemplateReference(type="ref/resource", uri="ollama://models/{+name}"),
            {"name": "name", "value": "ll"},
        )
        by_prompt = await client.complete(
            PromptReference(type="ref/prompt", name="package_finetune"),
            {"name": "base_model", "value": "q"},
        )
    assert by_template.completion.values == ["llama3.2:latest"]
    assert by_prompt.completion.values == ["qwen3:latest"]


async def test_each_prompt_renders(connect: Connect) -> None:
    async with connect() as client:
        names = {p.name for p in (await client.list_prompts()).prompts}
        package = await client.get_prompt(
            "package_finetune",
            {"adapter_path": "/work/out", "base_model": "llama3.2", "name": "mine"},
        )
        start = await client.get_prompt("modelfile_from_model", {"model": "qwen3", "name": "q2"})
        choose = await client.get_prompt("choose_model", {"task": "embed my notes"})
    assert names == {"package_finetune", "modelfile_from_model", "choose_model"}
    first = package.messages[0].content.text  # type: ignore[union-attr]
    assert 'package_adapter with path "/work/out", name "mine", base_model "llama3.2"' in first
    assert "pass it as quantize" in first and "only from an F16 or BF16 base" in first
    assert "ollama://models/qwen3/modelfile" in start.messages[0].content.text  # type: ignore[union-attr]
    assert "embed my notes" in choose.messages[0].content.text  # type: ignore[union-attr]
