"""Prompts for the workflows people ask for: each a short plan that uses this server's tools."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field


def package_finetune(
    adapter_path: Annotated[str, Field(description="The adapter folder or file")],
    base_model: Annotated[str, Field(description="The base model it was trained on")],
    name: Annotated[str, Field(description="Name for the new model")],
) -> str:
    return f"""Package my fine-tuned LoRA adapter as an Ollama model, then try it.

1. Call show_model with name "{base_model}". If it is not installed, call pull_model with name
   "{base_model}" and background true, then call pull_status with that name until it says
   success (or tell me its error and stop); meanwhile go on checking the adapter path.
2. Call package_adapter with path "{adapter_path}", name "{name}", base_model "{base_model}".
   If it refuses the path, tell me which folder to allow (client roots or --allow-dir).
   If I asked for a smaller or quantized model (q4_K_M, q4_K_S, q8_0), pass it as quantize:
   Ollama then quantizes the base's weights (only from an F16 or BF16 base; the adapter stays
   as it is), and the call refuses a base that is already quantized, saying why.
3. Call generate with model "{name}" and a short prompt that fits what the adapter was trained for.
4. Report: the model created, bytes sent and skipped, any warnings, and the sample answer."""


def modelfile_from_model(
    model: Annotated[str, Field(description="The installed model to start from")],
    name: Annotated[str, Field(description="Name for the new model")],
) -> str:
    return f"""Start a new model "{name}" from the installed model "{model}".

1. Read the resource ollama://models/{model}/modelfile (or call show_model with name "{model}"
   and include ["modelfile"]) to get a Modelfile that recreates it.
2. Show it to me and ask what to change (SYSTEM, PARAMETER lines, TEMPLATE); keep FROM "{model}".
3. Call create_model with name "{name}" and the edited text as modelfile.
4. Call generate with model "{name}" and a short prompt, and show me the answer."""


def choose_model(
    task: Annotated[str, Field(description="The task, in words")],
) -> str:
    return f"""Choose the best Ollama model for this task: {task}

1. Installed models first. Call list_models. For each plausible candidate call show_model to see
   its capabilities (completion, tools, thinking, vision, embedding, insert), context length and
   size.
2. Keep only models whose capabilities the task needs (embedding for search and similarity,
   tools for function calling, vision for images); prefer a context length that fits the input
   and the smallest model that should do the job well.
3. If an installed model fits, answer with its name and one line on why, and stop.
4. Otherwise consult the library: call browse_library (or read ollama://library), with a query
   for the task's key words if that helps. Prefer a local model whose VRAM need fits this
   machine; a cloud model runs on ollama.com and needs `ollama signin`.
5. Answer with the model to pull, one line on why, and how to get it (pull_model with its
   name); pull it only if I agree."""


def choose_model_on_hosts(
    task: Annotated[str, Field(description="The task, in words")],
) -> str:
    """choose_model when several Ollama hosts are configured: the same plan over all of them."""
    return (
        choose_model(task)
        + """

Several Ollama hosts serve these models. list_models lists each model once with the hosts that
have it; list_running shows what each host has loaded and its VRAM. Prefer a host where the
model is loaded, else one where it is installed; to pull, pick the host whose VRAM fits it and
pass its name as host. Name the host in your answer."""
    )


PROMPTS: tuple[tuple[Any, str, str], ...] = (
    (package_finetune, "Package a fine-tune", "Adapter to Ollama model: check, package, try."),
    (modelfile_from_model, "Model from a model", "Start a new model from an installed one."),
    (choose_model, "Choose a model", "Pick a model for a task: installed first, then the library."),
)


def register_prompts(server: MCPServer[Any], *, several_hosts: bool = False) -> None:
    for fn, title, description in PROMPTS:
        chosen = choose_model_on_hosts if several_hosts and fn is choose_model else fn
        server.prompt(name=fn.__name__, title=title, description=description)(chosen)
