"""The models Ollama recommends, read against what is installed: which are here already (under
any spelling Ollama takes for the same model, such as `gemma4` for `gemma4:latest`), which run on
ollama.com, and how to get each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from tools.api.names import parse_model_name
from tools.api.types import ModelRecommendation
from tools.errors import InvalidModelName

RunsOn = Literal["local", "cloud"]
# A model and where it runs: `x:cloud` and `x` are different models to the user.
_Key = tuple[tuple[str, str, str, str], str | None]


@dataclass(frozen=True)
class LibraryModel:
    """One recommended model, with whether and under which name it is installed."""

    name: str
    description: str
    runs_on: RunsOn
    installed: bool
    installed_as: str | None  # the installed name, as /api/tags spells it
    context_length: int | None
    max_output_tokens: int | None
    vram_bytes: int | None
    required_plan: str | None

    @property
    def pull_command(self) -> str:
        return f"ollama pull {self.name}"


def library_models(
    recommendations: Sequence[ModelRecommendation],
    installed: Iterable[str],
    *,
    query: str | None = None,
    local_only: bool = False,
) -> list[LibraryModel]:
    """The recommendations in Ollama's order, each marked installed or not. `query` keeps those
    whose name or description holds every word of it (case ignored); `local_only` leaves out
    the models that run on ollama.com."""
    here: dict[_Key, str] = {}
    for name in installed:
        key = _key(name)
        if key is not None:
            here.setdefault(key, name)
    words = (query or "").lower().split()
    chosen: list[LibraryModel] = []
    for rec in recommendations:
        if local_only and rec.runs_in_cloud:
            continue
        text = f"{rec.model} {rec.description}".lower()
        if not all(word in text for word in words):
            continue
        key = _key(rec.model)
        installed_as = here.get(key) if key is not None else None
        chosen.append(
            LibraryModel(
                name=rec.model,
                description=rec.description,
                runs_on="cloud" if rec.runs_in_cloud else "local",
                installed=installed_as is not None,
                installed_as=installed_as,
                context_length=rec.context_length,
                max_output_tokens=rec.max_output_tokens,
                vram_bytes=rec.vram_bytes,
                required_plan=rec.required_plan or None,
            )
        )
    return chosen


def _key(name: str) -> _Key | None:
    """What Ollama compares (defaults filled in, case folded) and where the model runs; None
    for a name Ollama would not take, which then matches nothing."""
    try:
        parsed = parse_model_name(name)
    except InvalidModelName:
        return None
    return parsed.match_key, parsed.source
