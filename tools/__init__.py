"""The Ollama connector: plain async Python that talks to Ollama. It never imports `mcp`.

Folders by job, each owning one part of the connector (its docstring says what):

    api/          the one `OllamaClient`: Ollama's HTTP API, request and answer models, hosts, names
    modelfile/    Modelfiles as `ollama create` reads them, and the JSON create request they become
    local/        the gate for local paths, GGUF and safetensors headers, LoRA adapter checks
    packaging/    hashing, the digest cache, blob uploads, `create_model` and `package_adapter`
    catalog/      installed models and their metadata: the cache, its sqlite store, offline reader
    shared/       what the catalog and packaging both stand on: cache folder, sqlite, single flight
    errors.py     the one error tree: every exception the connector raises, drawn in its docstring
    connector.py  the seed's `OllamaConnector`, on top of the same functions the MCP server calls
    artifact_metadata.py  the seed's `upload_artifact` metadata, checked before anything is read
    version.py    the installed distribution's version, read from its metadata

How one call flows: a caller (the MCP server, or `OllamaConnector`) checks local paths through
`local.path_gate`, calls a function of `packaging` or `catalog` or a method of `api.client`, with an
`on_progress` callback; Ollama's answers come back as pydantic models, failures as `tools.errors`.

The public names are re-exported here: `from tools import OllamaConnector, OllamaClient, ...`.

The names are loaded on first use (PEP 562): `from tools import OllamaClient` imports the
client and what it stands on, not the whole connector, so the MCP server starts without the
parts it has not been asked for yet.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.api.bodies import (
        CreateRequest,
        ToolFunction,
        ToolSpec,
    )
    from tools.api.client import OllamaClient
    from tools.api.host import resolve_base_url
    from tools.api.names import (
        ModelName,
        is_valid_model_name,
        parse_model_name,
        same_model,
    )
    from tools.api.types import (
        ByteProgressCallback,
        ChatResponse,
        EmbedResponse,
        GenerateResponse,
        ListResponse,
        Message,
        ModelDetails,
        ModelSummary,
        ProcessResponse,
        ProgressCallback,
        ProgressResponse,
        RunningModel,
        ShowResponse,
        VersionResponse,
    )
    from tools.catalog.cache import (
        Cached,
        MetadataCache,
    )
    from tools.catalog.model_catalog import ModelCatalog
    from tools.catalog.store import ModelStore
    from tools.connector import (
        ModelInfo,
        ModelMetadata,
        ModelRef,
        OllamaConnector,
    )
    from tools.errors import (
        AdapterBaseMismatch,
        BaseModelNotInstalled,
        FileChangedDuringUpload,
        InvalidAdapter,
        InvalidArgument,
        InvalidInput,
        InvalidMetadata,
        InvalidModelName,
        LocalPathError,
        ModelfileError,
        ModelfileTooLarge,
        ModelNotFound,
        NotConnected,
        NotQuantizable,
        OllamaAPIError,
        OllamaError,
        OllamaTimeout,
        OllamaUnavailable,
        OutsideAllowedRoots,
        ParameterError,
        PathNotAllowed,
        PathNotFound,
        ProtocolError,
        PushFailed,
        QuantizeRefused,
        ServerBusy,
        StreamError,
        StreamInterrupted,
        UnsupportedArchitecture,
        UnsupportedServer,
    )
    from tools.local.adapter_summary import AdapterLayout
    from tools.local.adapters import (
        AdapterInfo,
        inspect_adapter,
    )
    from tools.local.path_gate import (
        AllowedRoots,
        deny_all,
    )
    from tools.modelfile.create_plan import (
        CreatePlan,
        to_create_request,
    )
    from tools.modelfile.document import (
        Modelfile,
        generate_modelfile,
    )
    from tools.packaging.adapter import package_adapter
    from tools.packaging.blobs import DigestCache
    from tools.packaging.create import create_model
    from tools.packaging.reports import (
        CreateResult,
        PackageReport,
        PackagingProgress,
        PackagingProgressCallback,
    )
    from tools.version import VERSION

    __version__ = VERSION

# Where each public name lives; `__getattr__` imports it from there when it is first asked for.
_HOMES: dict[str, str] = {
    "CreateRequest": "tools.api.bodies",
    "ToolFunction": "tools.api.bodies",
    "ToolSpec": "tools.api.bodies",
    "OllamaClient": "tools.api.client",
    "resolve_base_url": "tools.api.host",
    "ModelName": "tools.api.names",
    "is_valid_model_name": "tools.api.names",
    "parse_model_name": "tools.api.names",
    "same_model": "tools.api.names",
    "ByteProgressCallback": "tools.api.types",
    "ChatResponse": "tools.api.types",
    "EmbedResponse": "tools.api.types",
    "GenerateResponse": "tools.api.types",
    "ListResponse": "tools.api.types",
    "Message": "tools.api.types",
    "ModelDetails": "tools.api.types",
    "ModelSummary": "tools.api.types",
    "ProcessResponse": "tools.api.types",
    "ProgressCallback": "tools.api.types",
    "ProgressResponse": "tools.api.types",
    "RunningModel": "tools.api.types",
    "ShowResponse": "tools.api.types",
    "VersionResponse": "tools.api.types",
    "Cached": "tools.catalog.cache",
    "MetadataCache": "tools.catalog.cache",
    "ModelCatalog": "tools.catalog.model_catalog",
    "ModelStore": "tools.catalog.store",
    "ModelInfo": "tools.connector",
    "ModelMetadata": "tools.connector",
    "ModelRef": "tools.connector",
    "OllamaConnector": "tools.connector",
    "AdapterBaseMismatch": "tools.errors",
    "BaseModelNotInstalled": "tools.errors",
    "FileChangedDuringUpload": "tools.errors",
    "InvalidAdapter": "tools.errors",
    "InvalidArgument": "tools.errors",
    "InvalidInput": "tools.errors",
    "InvalidMetadata": "tools.errors",
    "InvalidModelName": "tools.errors",
    "LocalPathError": "tools.errors",
    "ModelfileError": "tools.errors",
    "ModelfileTooLarge": "tools.errors",
    "ModelNotFound": "tools.errors",
    "NotConnected": "tools.errors",
    "NotQuantizable": "tools.errors",
    "OllamaAPIError": "tools.errors",
    "OllamaError": "tools.errors",
    "OllamaTimeout": "tools.errors",
    "OllamaUnavailable": "tools.errors",
    "OutsideAllowedRoots": "tools.errors",
    "ParameterError": "tools.errors",
    "PathNotAllowed": "tools.errors",
    "PathNotFound": "tools.errors",
    "ProtocolError": "tools.errors",
    "PushFailed": "tools.errors",
    "QuantizeRefused": "tools.errors",
    "ServerBusy": "tools.errors",
    "StreamError": "tools.errors",
    "StreamInterrupted": "tools.errors",
    "UnsupportedArchitecture": "tools.errors",
    "UnsupportedServer": "tools.errors",
    "AdapterInfo": "tools.local.adapters",
    "AdapterLayout": "tools.local.adapter_summary",
    "inspect_adapter": "tools.local.adapters",
    "AllowedRoots": "tools.local.path_gate",
    "deny_all": "tools.local.path_gate",
    "CreatePlan": "tools.modelfile.create_plan",
    "to_create_request": "tools.modelfile.create_plan",
    "Modelfile": "tools.modelfile.document",
    "generate_modelfile": "tools.modelfile.document",
    "package_adapter": "tools.packaging.adapter",
    "DigestCache": "tools.packaging.blobs",
    "create_model": "tools.packaging.create",
    "CreateResult": "tools.packaging.reports",
    "PackageReport": "tools.packaging.reports",
    "PackagingProgress": "tools.packaging.reports",
    "PackagingProgressCallback": "tools.packaging.reports",
    "VERSION": "tools.version",
}

__all__ = [
    "AdapterBaseMismatch",
    "AdapterInfo",
    "AdapterLayout",
    "AllowedRoots",
    "BaseModelNotInstalled",
    "ByteProgressCallback",
    "Cached",
    "ChatResponse",
    "CreatePlan",
    "CreateRequest",
    "CreateResult",
    "DigestCache",
    "EmbedResponse",
    "FileChangedDuringUpload",
    "GenerateResponse",
    "InvalidAdapter",
    "InvalidArgument",
    "InvalidInput",
    "InvalidMetadata",
    "InvalidModelName",
    "ListResponse",
    "LocalPathError",
    "Message",
    "MetadataCache",
    "ModelCatalog",
    "ModelDetails",
    "ModelInfo",
    "ModelMetadata",
    "ModelName",
    "ModelNotFound",
    "ModelRef",
    "ModelStore",
    "ModelSummary",
    "Modelfile",
    "ModelfileError",
    "ModelfileTooLarge",
    "NotConnected",
    "NotQuantizable",
    "OllamaAPIError",
    "OllamaClient",
    "OllamaConnector",
    "OllamaError",
    "OllamaTimeout",
    "OllamaUnavailable",
    "OutsideAllowedRoots",
    "PackageReport",
    "PackagingProgress",
    "PackagingProgressCallback",
    "ParameterError",
    "PathNotAllowed",
    "PathNotFound",
    "ProcessResponse",
    "ProgressCallback",
    "ProgressResponse",
    "ProtocolError",
    "PushFailed",
    "QuantizeRefused",
    "RunningModel",
    "ServerBusy",
    "ShowResponse",
    "StreamError",
    "StreamInterrupted",
    "ToolFunction",
    "ToolSpec",
    "UnsupportedArchitecture",
    "UnsupportedServer",
    "VersionResponse",
    "__version__",
    "create_model",
    "deny_all",
    "generate_modelfile",
    "inspect_adapter",
    "is_valid_model_name",
    "package_adapter",
    "parse_model_name",
    "resolve_base_url",
    "same_model",
    "to_create_request",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get("VERSION" if name == "__version__" else name)
    if home is None:
        raise AttributeError(f"module 'tools' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), "VERSION" if name == "__version__" else name)
    globals()[name] = value  # asked once: later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
