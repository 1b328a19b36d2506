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
"""

from tools.api.bodies import CreateRequest, ToolFunction, ToolSpec
from tools.api.client import OllamaClient
from tools.api.host import resolve_base_url
from tools.api.names import ModelName, is_valid_model_name, parse_model_name, same_model
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
from tools.catalog.cache import Cached, MetadataCache
from tools.catalog.model_catalog import ModelCatalog
from tools.catalog.store import ModelStore
from tools.connector import ModelInfo, ModelMetadata, ModelRef, OllamaConnector
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
from tools.local.adapters import AdapterInfo, AdapterLayout, inspect_adapter
from tools.local.path_gate import AllowedRoots, deny_all
from tools.modelfile.create_plan import CreatePlan, to_create_request
from tools.modelfile.document import Modelfile, generate_modelfile
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
