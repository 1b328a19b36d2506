"""`package_adapter` (the seed's `upload_artifact`): a LoRA adapter as an Ollama model on top of an
installed base, optionally pushed. The adapter is checked from its headers, the base from
`/api/show`, the Modelfile generated, then the shared steps of `pipeline` upload and create.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import anyio.to_thread

from tools.api.names import DEFAULT_NAMESPACE, REGISTRY_HOST, ModelName, parse_model_name
from tools.api.quantize import check_quantize
from tools.api.types import (
    ProgressResponse,
    ShowResponse,
)
from tools.errors import (
    BaseModelNotInstalled,
    ModelfileTooLarge,
    ModelNotFound,
    NotPushable,
    OllamaError,
    PushFailed,
)
from tools.local.adapter_base import check_base
from tools.local.adapters import inspect_adapter
from tools.local.path_gate import AllowedRoots, deny_all
from tools.modelfile.document import generate_modelfile
from tools.packaging.blobs import DigestCache
from tools.packaging.pipeline import (
    DEFAULT_PARALLEL_UPLOADS,
    MAX_MODELFILE_BYTES,
    Notifier,
    PackagingClient,
    base_facts,
    follow,
    plan_for,
    require_json_create,
    require_local_base,
    upload_and_create,
)
from tools.packaging.quantize_source import check_installed_source
from tools.packaging.reports import (
    PackageReport,
    PackagingPhase,
    PackagingProgressCallback,
    PushOutcome,
)

# --- package_adapter ------------------------------------------------------------------------


async def package_adapter(
    client: PackagingClient,
    path: str | os.PathLike[str],
    name: str,
    base_model: str,
    *,
    system_prompt: str | None = None,
    template: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    messages: Sequence[Mapping[str, str]] | None = None,
    license: str | Sequence[str] | None = None,
    push: bool = False,
    pull_base: bool = False,
    readable: AllowedRoots | None = None,
    digest_cache: DigestCache | None = None,
    on_progress: PackagingProgressCallback | None = None,
    quantize: str | None = None,
    max_parallel_uploads: int = DEFAULT_PARALLEL_UPLOADS,
) -> PackageReport:
    """Package the LoRA adapter at `path` as model `name` on top of `base_model`.

    Raises before anything is uploaded: `InvalidModelName` (a bad `name` or `base_model`),
    `ValueError` (push without a namespace; an invalid adapter: `InvalidAdapter`; a base that
    cannot take it: `AdapterBaseMismatch`; a base not installed: `BaseModelNotInstalled`),
    `FileNotFoundError`, `PathNotAllowed`, `UnsupportedServer` (Ollama older than 0.5.5).
    Afterwards: Ollama's errors (`OllamaAPIError`), `FileChangedDuringUpload`, and `PushFailed`
    when only the push failed (it carries the report of what was created).

    `quantize` quantizes the base's weights in the new model, as Ollama does: never the adapter,
    and only from an F16, BF16 or F32 base (`NotQuantizable` before anything is uploaded).
    """
    target = parse_model_name(name)
    quantize = check_quantize(quantize)  # before anything is read or sent
    if push:
        _require_pushable(target)
    base = parse_model_name(base_model)
    gate = readable if readable is not None else deny_all()
    notify = Notifier(on_progress)

    require_local_base(base, base_model.strip())
    _require_modelfile_size(system_prompt, template, parameters, messages, license)

    await notify(PackagingPhase.CHECKING, f"checking adapter {os.fspath(path)}")
    adapter = await anyio.to_thread.run_sync(lambda: inspect_adapter(path, allowed=gate))
    # The Modelfile is both the report's description and, through the Modelfile module, the one
    # source of the request, so `create_model(modelfile=report.modelfile)` makes the same model.
    # Rendered in a worker thread: long texts take a while to quote.
    given = gate.absolute(path)
    modelfile = await anyio.to_thread.run_sync(
        lambda: generate_modelfile(
            base_model.strip(),
            adapter_path=given,
            system_prompt=system_prompt,
            template=template,
            parameters=parameters,
            messages=messages,
            license=license,
        )
    )
    # The base was given as a model name: it stays one, even where a file of that name exists
    # (an adapter folder named like its base would otherwise be read as the base).
    plan = await anyio.to_thread.run_sync(
        lambda: plan_for(modelfile, given.parent, gate, from_is_model_name=True)
    )
    await require_json_create(client)
    shown, pulled = await _installed_base(client, base, pull_base, notify)
    if quantize is not None:
        check_installed_source(base_model.strip(), shown, quantize, adapter=True)
    facts = base_facts(base, shown)
    warnings = [*adapter.warnings, *check_base(adapter, facts), *plan.warnings]

    created = await upload_and_create(
        client, target, plan, digest_cache, on_progress, quantize, max_parallel_uploads
    )
    report = PackageReport(
        **dict(created),
        base_model=base.shortest,
        base_architecture=facts.architecture,
        base_pulled=pulled,
        adapter=adapter.summary(),
        modelfile=modelfile,
        warnings=warnings,
    )
    if not push:
        return report
    try:
        pushed = await _push(client, report.model, notify)
    except OllamaError as exc:
        raise PushFailed(report, exc) from exc
    return report.model_copy(update={"push": pushed})


def _require_pushable(name: ModelName) -> None:
    if name.host.lower() == REGISTRY_HOST and name.namespace.lower() == DEFAULT_NAMESPACE:
        raise NotPushable(
            f"cannot push {name.shortest!r}: a pushed model needs your ollama.com namespace, "
            "e.g. 'you/my-model:latest' (namespace/model[:tag])"
        )


def _require_modelfile_size(
    system_prompt: str | None,
    template: str | None,
    parameters: Mapping[str, Any] | None,
    messages: Sequence[Mapping[str, str]] | None,
    license: str | Sequence[str] | None,
) -> None:
    """Bound the Modelfile before rendering it, as a Modelfile read from disk is bounded.
    Values of the wrong type are left to the renderer, which names them."""
    texts: list[object] = [system_prompt, template]
    if isinstance(parameters, Mapping):
        texts += [*parameters.keys(), *parameters.values()]
    if isinstance(messages, list | tuple):
        texts += [v for m in messages if isinstance(m, Mapping) for v in m.values()]
    if isinstance(license, str):
        texts.append(license)
    elif isinstance(license, list | tuple):
        texts += license
    size = sum(len(str(text).encode("utf-8", "surrogatepass")) for text in texts if text)
    if size > MAX_MODELFILE_BYTES:
        raise ModelfileTooLarge(
            f"system_prompt, template, parameters, messages and license add up to {size} "
            f"bytes; a Modelfile holds at most {MAX_MODELFILE_BYTES} bytes (1 MiB): shorten them"
        )


async def _installed_base(
    client: PackagingClient, base: ModelName, pull_base: bool, notify: Notifier
) -> tuple[ShowResponse, bool]:
    try:
        return await client.show(base.shortest), False
    except ModelNotFound:
        if not pull_base:
            raise BaseModelNotInstalled(base.shortest) from None

    async def relay(line: ProgressResponse) -> None:
        await notify(
            PackagingPhase.PULLING_BASE, line.status, line.completed, line.total, digest=line.digest
        )

    await notify(PackagingPhase.PULLING_BASE, f"pulling base model {base.shortest}")
    await client.pull(base.shortest, on_progress=relay)
    return await client.show(base.shortest), True


async def _push(client: PackagingClient, model: str, notify: Notifier) -> PushOutcome:
    await notify(PackagingPhase.PUSHING, f"pushing {model}")
    statuses = await follow(client.push_stream(model), PackagingPhase.PUSHING, notify)
    return PushOutcome(model=model, statuses=statuses)
