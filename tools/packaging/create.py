"""`create_model`: a Modelfile (text or file) and the local files it names, as an Ollama model.
`package_adapter` (in `adapter`) does the same for a LoRA adapter, through the same steps
(`pipeline`).

Both follow one order, so that a refusal costs nothing and leaves Ollama untouched:
1. check everything that can be checked locally and cheaply: the model name, every path against the
   allowed roots, the adapter's headers, the server's version, the base model and its architecture;
2. hash the files (a digest cache makes the second time free) and upload the ones Ollama lacks,
   several at once (`max_parallel_uploads`, HEAD first, streamed from disk);
3. stream `/api/create` to the end (a create whose base must be pulled first sends two `success`
   lines), then read the new model's digest from `/api/tags`.
Nothing is ever deleted: Ollama writes a model's manifest last, so a create that fails, or is
cancelled, leaves every existing model as it was; uploaded blobs no manifest uses are pruned by
Ollama itself.

Progress goes to one async callback as `PackagingProgress` events (checking, pulling the base,
hashing, uploading, creating, pushing); `completed`/`total` are bytes, summed over all files of
the phase, so they only grow.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.to_thread

from tools.api.names import ModelName, parse_model_name
from tools.api.quantize import check_quantize
from tools.errors import (
    InvalidArgument,
    ModelfileTooLarge,
    ModelNotFound,
)
from tools.local.adapter_base import check_base
from tools.local.adapters import AdapterInfo, inspect_adapter
from tools.local.path_gate import AllowedRoots, deny_all, open_regular
from tools.modelfile.create_plan import expand_path
from tools.modelfile.document import Modelfile, parse
from tools.packaging.blobs import DigestCache
from tools.packaging.pipeline import (
    DEFAULT_PARALLEL_UPLOADS,
    MAX_MODELFILE_BYTES,
    Notifier,
    PackagingClient,
    base_facts,
    plan_for,
    require_json_create,
    require_local_base,
    upload_and_create,
)
from tools.packaging.quantize_source import check_installed_source, check_local_source
from tools.packaging.reports import (
    CreateResult,
    PackagingPhase,
    PackagingProgressCallback,
)

__all__ = ["MAX_MODELFILE_BYTES", "create_model"]


# --- create_model ---------------------------------------------------------------------------


async def create_model(
    client: PackagingClient,
    name: str,
    *,
    modelfile: str | None = None,
    modelfile_path: str | os.PathLike[str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    readable: AllowedRoots | None = None,
    digest_cache: DigestCache | None = None,
    on_progress: PackagingProgressCallback | None = None,
    quantize: str | None = None,
    max_parallel_uploads: int = DEFAULT_PARALLEL_UPLOADS,
) -> CreateResult:
    """Create model `name` from a Modelfile given as text or as a file.

    Local paths in FROM/ADAPTER are relative to the Modelfile's folder (or `base_dir`, else the
    current folder, for text) and are read only inside `readable`'s roots. Raises
    `InvalidModelName`, `ValueError` (a bad Modelfile), `FileNotFoundError`, `PathNotAllowed` and
    `UnsupportedServer` before anything is sent; Ollama's errors (`OllamaAPIError`, a
    `RuntimeError`) and `FileChangedDuringUpload` after.
    """
    target = parse_model_name(name)
    quantize = check_quantize(quantize)  # before anything is read or sent
    if (modelfile is None) == (modelfile_path is None):
        raise InvalidArgument("give exactly one of modelfile (the text) or modelfile_path")
    gate = readable if readable is not None else deny_all()
    notify = Notifier(on_progress)

    source: str | bytes
    if modelfile_path is not None:
        real, checked = gate.regular_file_stat(Path(modelfile_path))
        # Bytes, so that the parser sees a UTF-16 BOM as `ollama create` does.
        source = await anyio.to_thread.run_sync(_read_modelfile, real, checked)
        folder = real.parent
    else:
        assert modelfile is not None
        size = len(modelfile.encode("utf-8", "surrogatepass"))
        if size > MAX_MODELFILE_BYTES:  # the same bound as a Modelfile read from disk
            raise ModelfileTooLarge(
                f"the Modelfile text is {size} bytes; a Modelfile holds at most "
                f"{MAX_MODELFILE_BYTES} bytes (1 MiB): shorten it"
            )
        source = modelfile
        folder = gate.absolute(base_dir) if base_dir is not None else Path.cwd()
    await notify(PackagingPhase.CHECKING, "reading the Modelfile")
    parsed = parse(source)
    plan = await anyio.to_thread.run_sync(lambda: plan_for(parsed, folder, gate))
    adapters = await anyio.to_thread.run_sync(lambda: _named_adapters(parsed, folder, gate))
    if quantize is not None:
        await anyio.to_thread.run_sync(lambda: check_local_source(plan))
    await require_json_create(client)
    if plan.from_model is not None and (adapters or quantize is not None):
        base = parse_model_name(plan.from_model)
        if adapters:
            require_local_base(base, plan.from_model)
        await _check_installed_base(client, base, plan.from_model, adapters, quantize)

    return await upload_and_create(
        client, target, plan, digest_cache, on_progress, quantize, max_parallel_uploads
    )


def _read_modelfile(real: Path, checked: os.stat_result) -> bytes:
    """At most `MAX_MODELFILE_BYTES`, from the very file the gate checked (not one swapped in)."""
    with open_regular(real, checked) as stream:
        raw = stream.read(MAX_MODELFILE_BYTES + 1)
    if len(raw) > MAX_MODELFILE_BYTES:
        raise ModelfileTooLarge(
            f"{real}: too large for a Modelfile (over {MAX_MODELFILE_BYTES} bytes)"
        )
    return raw


def _named_adapters(modelfile: Modelfile, folder: Path, gate: AllowedRoots) -> list[AdapterInfo]:
    """The Modelfile's ADAPTERs, checked from their headers (the plan only lists their files)."""
    return [
        inspect_adapter(expand_path(value, folder), allowed=gate)
        for value in modelfile.values("adapter")
    ]


async def _check_installed_base(
    client: PackagingClient,
    base: ModelName,
    given: str,
    adapters: Sequence[AdapterInfo],
    quantize: str | None,
) -> None:
    """Check an installed FROM model against the adapters and `quantize`; one that is not
    installed yet is pulled by Ollama during the create, and cannot be checked before."""
    try:
        shown = await client.show(base.shortest)
    except ModelNotFound:
        return
    if quantize is not None:
        check_installed_source(given, shown, quantize, adapter=False)
    facts = base_facts(base, shown)
    for adapter in adapters:
        check_base(adapter, facts)
