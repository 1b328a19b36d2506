"""Ollama's answers as pydantic models (contract section 2), and the callbacks that report them.

Responses keep fields Ollama may add later (`extra="allow"`), so nothing a newer server sends is
lost. The request bodies are in `tools.api.bodies`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ThinkLevel = bool | Literal["low", "medium", "high", "max"]
KeepAlive = float | str  # seconds, or a Go duration string such as "5m"


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


# --- models and their metadata -------------------------------------------------------------


class ModelDetails(_Response):
    parent_model: str = ""
    format: str = ""
    family: str = ""
    families: list[str] | None = None
    parameter_size: str = ""
    quantization_level: str = ""
    context_length: int | None = None
    embedding_length: int | None = None


class ModelSummary(_Response):
    """One entry of `/api/tags`."""

    name: str
    model: str = ""
    modified_at: datetime | None = None
    size: int = 0
    digest: str = ""  # bare hex of the manifest
    details: ModelDetails = Field(default_factory=ModelDetails)
    capabilities: list[str] | None = None
    remote_model: str | None = None
    remote_host: str | None = None


class ListResponse(_Response):
    models: list[ModelSummary] = Field(default_factory=list)


class Message(_Response):
    role: str
    content: str = ""
    thinking: str | None = None
    images: list[str] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None


class ToolCallFunction(_Response):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    index: int | None = None


class ToolCall(_Response):
    id: str | None = None
    function: ToolCallFunction


class Tensor(_Response):
    name: str
    type: str | int | None = None
    shape: list[int] | None = None


class ShowResponse(_Response):
    """`/api/show`. `model_info` is always sent by Ollama, `{}` at minimum."""

    license: str = ""
    modelfile: str = ""
    parameters: str = ""
    template: str = ""
    system: str = ""
    renderer: str | None = None
    parser: str | None = None
    details: ModelDetails = Field(default_factory=ModelDetails)
    messages: list[Message] | None = None
    model_info: dict[str, Any] = Field(default_factory=dict)
    projector_info: dict[str, Any] | None = None
    tensors: list[Tensor] | None = None
    capabilities: list[str] | None = None
    modified_at: datetime | None = None
    requires: str | None = None
    remote_model: str | None = None
    remote_host: str | None = None


class RunningModel(_Response):
    """One entry of `/api/ps`."""

    name: str
    model: str = ""
    size: int = 0
    digest: str = ""
    details: ModelDetails = Field(default_factory=ModelDetails)
    expires_at: datetime | None = None
    size_vram: int = 0
    context_length: int | None = None


class ProcessResponse(_Response):
    models: list[RunningModel] = Field(default_factory=list)


class VersionResponse(_Response):
    version: str


# --- progress (pull, push, create) --------------------------------------------------------


class ProgressResponse(_Response):
    """One NDJSON line of pull, push or create; `total`/`completed` are absent while 0."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


# --- inference ----------------------------------------------------------------------------


class _Metrics(_Response):
    done: bool = False
    done_reason: str | None = None
    total_duration: int | None = None  # nanoseconds
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None


class GenerateResponse(_Metrics):
    model: str = ""
    created_at: datetime | None = None
    response: str = ""
    thinking: str | None = None
    context: list[int] | None = None


class ChatResponse(_Metrics):
    model: str = ""
    created_at: datetime | None = None
    message: Message


class EmbedResponse(_Response):
    model: str = ""
    embeddings: list[list[float]] = Field(default_factory=list)
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None


Message.model_rebuild()


# --- ollama.com, through the daemon (/api/status, /api/experimental/*) -------------------


class ModelRecommendation(_Response):
    """One entry of `/api/experimental/model-recommendations`; Ollama leaves zero fields out."""

    model: str
    description: str = ""
    context_length: int | None = None
    max_output_tokens: int | None = None
    vram_bytes: int | None = None
    required_plan: str | None = None

    @property
    def runs_in_cloud(self) -> bool:
        """A cloud model (`x:cloud`, `x:tag-cloud`), read as Ollama's `isCloudRecommendation`."""
        return self.model.endswith((":cloud", "-cloud"))


class RecommendationsResponse(_Response):
    recommendations: list[ModelRecommendation] = Field(default_factory=list)


class CloudStatus(_Response):
    disabled: bool = False
    source: str = "none"  # none, env (OLLAMA_NO_CLOUD), config (~/.ollama/server.json), both


class StatusResponse(_Response):
    """`/api/status`."""

    cloud: CloudStatus = Field(default_factory=CloudStatus)


class WebSearchResult(_Response):
    title: str = ""
    url: str = ""
    content: str = ""


class WebSearchResponse(_Response):
    results: list[WebSearchResult] = Field(default_factory=list)


class WebFetchResponse(_Response):
    title: str = ""
    content: str = ""
    links: list[str] | None = None


# --- callbacks ----------------------------------------------------------------------------

ProgressCallback = Callable[[ProgressResponse], Awaitable[None]]
"""Called with each progress line of pull, push and create."""

ByteProgressCallback = Callable[[int, int], Awaitable[None]]
"""Called with (bytes done, bytes total) as a file is hashed or uploaded as a blob."""
