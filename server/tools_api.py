"""Every name `server/` takes from the connector in `tools/`, in one place.

`tools/` is plain async Python and never imports `mcp`; `server/` reaches it only through this
module, so a reshaping of `tools/` changes the imports here and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools import (
    AdapterBaseMismatch,
    AllowedRoots,
    BaseModelNotInstalled,
    Cached,
    ChatResponse,
    CreateResult,
    DigestCache,
    FileChangedDuringUpload,
    GenerateResponse,
    InvalidAdapter,
    InvalidInput,
    InvalidModelName,
    LocalPathError,
    MetadataCache,
    ModelCatalog,
    ModelfileError,
    ModelNotFound,
    ModelSummary,
    OllamaAPIError,
    OllamaClient,
    OllamaError,
    OllamaTimeout,
    OllamaUnavailable,
    OutsideAllowedRoots,
    PackagingProgress,
    ParameterError,
    ProgressResponse,
    PushFailed,
    RunningModel,
    ServerBusy,
    ShowResponse,
    StreamInterrupted,
    UnsupportedServer,
    generate_modelfile,
    parse_model_name,
    resolve_base_url,
)
from tools.api.answers import JSON_CREATE_VERSION
from tools.api.cloud import MAX_SEARCH_RESULTS
from tools.api.host import DEFAULT_BASE_URL, HOST_ENV
from tools.api.transport import without_connect_retries
from tools.api.types import CloudStatus
from tools.catalog.cache import AnswerSource
from tools.catalog.library import LibraryModel, library_models
from tools.errors import (
    START_OLLAMA_HINT,
    AmbiguousHost,
    CloudDisabled,
    CloudUnreachable,
    CreatePlanError,
    EndpointMissing,
    HostDown,
    ModelOnNoHost,
    NotARegularFile,
    SharedStateUnavailable,
    SignInRequired,
    UnknownHost,
    UnrepresentableValueError,
)
from tools.fleet import Fleet, FleetHost, HostSpec, MergedModel, host_specs, merge_lists
from tools.fleet.config import split_hosts
from tools.fleet.fleet import HostListing
from tools.local.path_gate import open_regular
from tools.modelfile.document import from_show, render
from tools.modelfile.parameters import show_parameter_texts
from tools.shared.cache_dir import default_cache_dir
from tools.shared.suggest import did_you_mean
from tools.state.cache_store import RedisCacheStore
from tools.state.channels import Channels
from tools.state.link import (
    INSTALL_HINT,
    RedisLink,
    redacted,
    sync_ping,
    text,
    unavailable_at_start,
)
from tools.state.lock import RELEASED, SharedLocks
from tools.state.records import ANYONE, RecordStore, owner_of
from tools.version import VERSION

if TYPE_CHECKING:
    from tools import create_model, package_adapter
else:
    # Loaded on the first create or packaging call, not at start-up: packaging stands on the
    # adapter readers (GGUF, safetensors) and the Modelfile planner, which serving a client's
    # `initialize` and most calls never need.
    async def create_model(*args: Any, **kwargs: Any) -> Any:
        from tools import create_model as create

        return await create(*args, **kwargs)

    async def package_adapter(*args: Any, **kwargs: Any) -> Any:
        from tools import package_adapter as package

        return await package(*args, **kwargs)


__all__ = [
    "ANYONE",
    "DEFAULT_BASE_URL",
    "HOST_ENV",
    "INSTALL_HINT",
    "JSON_CREATE_VERSION",
    "MAX_SEARCH_RESULTS",
    "RELEASED",
    "START_OLLAMA_HINT",
    "VERSION",
    "AdapterBaseMismatch",
    "AllowedRoots",
    "AmbiguousHost",
    "AnswerSource",
    "BaseModelNotInstalled",
    "Cached",
    "Channels",
    "ChatResponse",
    "CloudDisabled",
    "CloudStatus",
    "CloudUnreachable",
    "CreatePlanError",
    "CreateResult",
    "DigestCache",
    "EndpointMissing",
    "FileChangedDuringUpload",
    "Fleet",
    "FleetHost",
    "GenerateResponse",
    "HostDown",
    "HostListing",
    "HostSpec",
    "InvalidAdapter",
    "InvalidInput",
    "InvalidModelName",
    "LibraryModel",
    "LocalPathError",
    "MergedModel",
    "MetadataCache",
    "ModelCatalog",
    "ModelNotFound",
    "ModelOnNoHost",
    "ModelSummary",
    "ModelfileError",
    "NotARegularFile",
    "OllamaAPIError",
    "OllamaClient",
    "OllamaError",
    "OllamaTimeout",
    "OllamaUnavailable",
    "OutsideAllowedRoots",
    "PackagingProgress",
    "ParameterError",
    "ProgressResponse",
    "PushFailed",
    "RecordStore",
    "RedisCacheStore",
    "RedisLink",
    "RunningModel",
    "ServerBusy",
    "SharedLocks",
    "SharedStateUnavailable",
    "ShowResponse",
    "SignInRequired",
    "StreamInterrupted",
    "UnknownHost",
    "UnrepresentableValueError",
    "UnsupportedServer",
    "create_model",
    "default_cache_dir",
    "did_you_mean",
    "from_show",
    "generate_modelfile",
    "host_specs",
    "library_models",
    "merge_lists",
    "open_regular",
    "owner_of",
    "package_adapter",
    "parse_model_name",
    "redacted",
    "render",
    "resolve_base_url",
    "show_parameter_texts",
    "split_hosts",
    "sync_ping",
    "text",
    "unavailable_at_start",
    "without_connect_retries",
]
