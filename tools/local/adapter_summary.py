"""What a packaging report says about an adapter, apart from the code that reads adapters: the
MCP server publishes reports in its tools' schemas at start-up, and need not load the GGUF and
safetensors readers until an adapter is packaged."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict


class AdapterLayout(StrEnum):
    PEFT_DIRECTORY = "peft_directory"
    SAFETENSORS_FILE = "safetensors_file"
    GGUF_FILE = "gguf_file"


class AdapterSummary(BaseModel):
    """The facts about an adapter a report shows: its layout and what its config says."""

    model_config = ConfigDict(frozen=True)

    layout: AdapterLayout
    path: Path
    architecture: str | None = None  # GGUF `general.architecture`
    rank: int | None = None
    alpha: float | None = None
    target_modules: list[str] | str | None = None
    base_model_name_or_path: str | None = None
