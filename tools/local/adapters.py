"""Recognise and check a LoRA adapter before anything is uploaded; tensors are never loaded.

Accepted layouts (contract 13.1, 13.3, 13.4):
* a PEFT directory: `adapter_config.json` + `adapter_model.safetensors`
  (MLX-LM writes `adapters.safetensors`);
* one `.safetensors` file with `adapter_config.json` beside it;
* one GGUF LoRA file (`general.type` = adapter, `adapter.type` = lora).

Safetensors adapters are converted by Ollama, and only onto a base whose GGUF architecture is
`llama` or `gemma2`; a GGUF adapter must name its base's architecture. `adapter_base.check_base`
tests both.

Errors follow the seed's contract: a missing path is `FileNotFoundError`; an invalid adapter is
`InvalidAdapter` (a `ValueError`) naming the file and the problem; a base that cannot take the
adapter is `AdapterBaseMismatch` (also a `ValueError`, checked in `adapter_base`). Every path
goes through the caller's `AllowedRoots`.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tools.errors import (
    GGUFFormatError,
    InvalidAdapter,
    SafetensorsFormatError,
)
from tools.local.adapter_config import read_config
from tools.local.adapter_files import (
    ADAPTER_CONFIG_NAME,
    MLX_WEIGHTS_NAME,
    PEFT_WEIGHTS_NAME,
    PICKLE_WEIGHTS_NAME,
)
from tools.local.adapter_summary import AdapterLayout, AdapterSummary
from tools.local.gguf_reader import GGUF_MAGIC, read_gguf_header
from tools.local.path_gate import AllowedRoots, open_regular
from tools.local.safetensors_reader import SafetensorsHeader, read_safetensors_header

CONVERTIBLE_DTYPES = frozenset({"F32", "F16", "BF16", "F8_E4M3"})
"""Tensor dtypes Ollama's safetensors reader takes; any other fails with `unknown data type`."""

_GGUF_WANTED = ("general.architecture", "general.type", "adapter.type", "adapter.lora.alpha")
_LORA_A = re.compile(r"lora_(A|a)\b")
_LORA_B = re.compile(r"lora_(B|b)\b")
# Projections whose LoRA A matrix has the model's hidden size as its input dimension.
_HIDDEN_INPUT_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj")

LAYOUT_HINT = (
    "expected a PEFT adapter directory (adapter_config.json + adapter_model.safetensors), "
    "a .safetensors file with adapter_config.json beside it, or a GGUF LoRA file"
)


class AdapterFile(BaseModel):
    """One file of the adapter, under the name it takes in the create request's `adapters`."""

    model_config = ConfigDict(frozen=True)

    key: str
    path: Path  # the real path, as the gate returned it
    size: int


class AdapterInfo(AdapterSummary):
    """What the headers and `adapter_config.json` say about an adapter: the summary, plus the
    files to upload and what the checks against a base need."""

    files: tuple[AdapterFile, ...]
    lora_pairs: int = 0  # lora_A/lora_B pairs (safetensors) or LoRA tensors (GGUF)
    hidden_size: int | None = None  # input size of the attention/MLP projections, when seen
    warnings: tuple[str, ...] = ()

    @property
    def needs_conversion(self) -> bool:
        """Ollama converts safetensors adapters to GGUF, which limits the base architecture."""
        return self.layout is not AdapterLayout.GGUF_FILE

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def summary(self) -> AdapterSummary:
        """The summary alone, for reports."""
        return AdapterSummary.model_validate(
            self.model_dump(include=set(AdapterSummary.model_fields))
        )


def inspect_adapter(path: str | os.PathLike[str], *, allowed: AllowedRoots) -> AdapterInfo:
    """Recognise the adapter at `path` and check it from headers alone. Blocking I/O."""
    real, st = allowed.stat(path)
    if stat.S_ISDIR(st.st_mode):
        return _inspect_directory(path, real, allowed)
    file_real = allowed.regular_file(path)
    if _starts_with_gguf_magic(file_real):
        return _inspect_gguf(path, file_real)
    given = allowed.absolute(path)
    if file_real.name.endswith(".safetensors") or given.name.endswith(".safetensors"):
        config = given.parent / ADAPTER_CONFIG_NAME
        return _inspect_safetensors(path, given, config, AdapterLayout.SAFETENSORS_FILE, allowed)
    if file_real.name.endswith(".bin"):
        raise InvalidAdapter(path, _pickle_problem())
    raise InvalidAdapter(path, f"not an adapter Ollama can take; {LAYOUT_HINT}")


def _pickle_problem() -> str:
    return (
        "PyTorch .bin (pickle) weights are not accepted by Ollama; save the adapter as safetensors "
        "(PEFT: model.save_pretrained(dir, safe_serialization=True))"
    )


def _starts_with_gguf_magic(real: Path) -> bool:
    with open_regular(real) as stream:
        return stream.read(4) == GGUF_MAGIC


def _inspect_directory(
    given: str | os.PathLike[str], real: Path, allowed: AllowedRoots
) -> AdapterInfo:
    config = real / ADAPTER_CONFIG_NAME
    if not config.exists():
        raise InvalidAdapter(
            given,
            f"the directory has no {ADAPTER_CONFIG_NAME}; a PEFT LoRA adapter directory holds "
            f"{ADAPTER_CONFIG_NAME} and {PEFT_WEIGHTS_NAME} (written by PEFT's save_pretrained)",
        )
    for name in (PEFT_WEIGHTS_NAME, MLX_WEIGHTS_NAME):
        weights = real / name
        if weights.exists():
            info = _inspect_safetensors(
                given, weights, config, AdapterLayout.PEFT_DIRECTORY, allowed
            )
            return _with_other_weights(given, real, info, allowed)
    if (real / PICKLE_WEIGHTS_NAME).exists():
        raise InvalidAdapter(given, f"{PICKLE_WEIGHTS_NAME}: " + _pickle_problem())
    raise InvalidAdapter(
        given,
        f"the directory has {ADAPTER_CONFIG_NAME} but no {PEFT_WEIGHTS_NAME} "
        f"(or MLX {MLX_WEIGHTS_NAME})",
    )


def _inspect_safetensors(
    given: str | os.PathLike[str],
    weights: Path,
    config: Path,
    layout: AdapterLayout,
    allowed: AllowedRoots,
) -> AdapterInfo:
    weights_real = allowed.regular_file(weights)
    try:
        config_real = allowed.regular_file(config)
    except FileNotFoundError:
        raise InvalidAdapter(
            given,
            f"no {ADAPTER_CONFIG_NAME} beside {weights.name}; "
            f"Ollama needs the adapter's {ADAPTER_CONFIG_NAME} "
            "(it reads lora_alpha from it) next to the weights",
        ) from None
    settings = read_config(config_real)
    warnings = list(settings.warnings)
    try:
        header = read_safetensors_header(weights_real)
    except SafetensorsFormatError as exc:
        raise InvalidAdapter(given, str(exc)) from None
    pairs, hidden, tensor_warnings = _check_lora_tensors(given, weights.name, header)
    warnings += tensor_warnings
    # The key must end in .safetensors for Ollama to convert it; a hub cache's blob name would not.
    key = weights.name if weights.name.endswith(".safetensors") else weights_real.name
    return AdapterInfo(
        layout=layout,
        path=allowed.resolve(given),
        files=(
            AdapterFile(key=ADAPTER_CONFIG_NAME, path=config_real, size=config_real.stat().st_size),
            AdapterFile(key=key, path=weights_real, size=weights_real.stat().st_size),
        ),
        rank=settings.rank,
        alpha=settings.alpha,
        target_modules=settings.target_modules,
        base_model_name_or_path=settings.base_model,
        lora_pairs=pairs,
        hidden_size=hidden,
        warnings=tuple(warnings),
    )


def _with_other_weights(
    given: str | os.PathLike[str], real: Path, info: AdapterInfo, allowed: AllowedRoots
) -> AdapterInfo:
    """Ollama sends every top-level `*.safetensors` of an adapter folder to its converter (as
    `tools.modelfile.folder_rules` uploads them), so each is checked as the weights are:
    readable, and only of dtypes the converter takes."""
    taken = {f.key for f in info.files}
    others = sorted(
        name
        for name in os.listdir(real)
        if name.endswith(".safetensors") and name not in taken and (real / name).is_file()
    )
    files = list(info.files)
    for name in others:
        other_real = allowed.regular_file(real / name)
        try:
            header = read_safetensors_header(other_real)
        except SafetensorsFormatError as exc:
            raise InvalidAdapter(given, f"{name}: {exc}") from None
        bad = [t for t in header.tensors.values() if t.dtype not in CONVERTIBLE_DTYPES]
        if bad:
            raise InvalidAdapter(
                given,
                f"{name}: tensor {bad[0].name!r} has dtype {bad[0].dtype}; Ollama converts only "
                "F32, F16 and BF16 adapter tensors, and it sends every .safetensors file of an "
                f"adapter folder to its converter; move {name} out of the folder",
            )
        files.append(AdapterFile(key=name, path=other_real, size=other_real.stat().st_size))
    if not others:
        return info
    warning = (
        f"the adapter folder also holds {', '.join(others)}; Ollama converts every "
        ".safetensors file of the folder as part of the adapter"
    )
    return info.model_copy(update={"files": tuple(files), "warnings": (*info.warnings, warning)})


def _check_lora_tensors(
    given: str | os.PathLike[str], file_name: str, header: SafetensorsHeader
) -> tuple[int, int | None, list[str]]:
    names = list(header.tensors)
    if not names:
        raise InvalidAdapter(given, f"{file_name} holds no tensors")
    a_names = [n for n in names if _LORA_A.search(n)]
    b_names = {n for n in names if _LORA_B.search(n)}
    if not a_names or not b_names:
        raise InvalidAdapter(
            given,
            f"{file_name} holds no LoRA weights: no tensor name contains lora_A and lora_B "
            f"(first tensor: {names[0]!r}); is it a full model rather than an adapter?",
        )
    unpaired = [
        n for n in a_names if _LORA_A.sub(lambda m: "lora_" + chr(ord(m[1]) + 1), n) not in b_names
    ]
    if unpaired or len(a_names) != len(b_names):
        example = unpaired[0] if unpaired else sorted(b_names)[0]
        raise InvalidAdapter(
            given, f"{file_name}: LoRA weights are not in lora_A/lora_B pairs (e.g. {example!r})"
        )
    bad = [t for t in header.tensors.values() if t.dtype not in CONVERTIBLE_DTYPES]
    if bad:
        raise InvalidAdapter(
            given,
            f"{file_name}: tensor {bad[0].name!r} has dtype {bad[0].dtype}; Ollama converts only "
            "F32, F16 and BF16 adapter tensors",
        )
    warnings: list[str] = []
    others = [n for n in names if n not in b_names and not _LORA_A.search(n)]
    if others:
        warnings.append(
            f"{len(others)} tensor(s) are not LoRA weights (e.g. {others[0]!r}); Ollama keeps them "
            "unconverted and the runner may ignore them"
        )
    return len(a_names), _hidden_size(header, a_names), warnings


def _hidden_size(header: SafetensorsHeader, a_names: list[str]) -> int | None:
    for name in a_names:
        if any(f".{proj}." in name for proj in _HIDDEN_INPUT_PROJECTIONS):
            shape = header.tensors[name].shape
            if len(shape) == 2:
                return max(shape)  # PEFT stores [r, in], MLX [in, r]; r is the smaller
    return None


def _inspect_gguf(given: str | os.PathLike[str], real: Path) -> AdapterInfo:
    try:
        header = read_gguf_header(real, wanted=_GGUF_WANTED)
    except GGUFFormatError as exc:
        raise InvalidAdapter(given, str(exc.problem)) from None
    kind = header.string("general.type")
    if kind != "adapter":
        what = f"general.type is {kind!r}" if kind is not None else "it has no general.type"
        noun = "model" if kind in (None, "model") else kind
        raise InvalidAdapter(given, f"this GGUF is a {noun}, not an adapter ({what})")
    adapter_type = header.string("adapter.type")
    if adapter_type != "lora":
        raise InvalidAdapter(
            given, f"this GGUF adapter is not a LoRA (adapter.type is {adapter_type!r})"
        )
    architecture = header.string("general.architecture")
    if not architecture:
        raise InvalidAdapter(given, "this GGUF adapter names no general.architecture")
    if header.tensor_count == 0:
        raise InvalidAdapter(given, "this GGUF adapter holds no tensors")
    # A key ending in .safetensors would send the GGUF to Ollama's converter; end it in .gguf.
    name = Path(given).name
    key = (
        name
        if name.endswith(".gguf")
        else real.name
        if real.name.endswith(".gguf")
        else f"{name}.gguf"
    )
    return AdapterInfo(
        layout=AdapterLayout.GGUF_FILE,
        path=real,
        files=(AdapterFile(key=key, path=real, size=real.stat().st_size),),
        architecture=architecture,
        alpha=header.number("adapter.lora.alpha"),
        lora_pairs=header.tensor_count,
    )
