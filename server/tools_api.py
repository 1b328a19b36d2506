"""Every name `server/` takes from the connector in `tools/`, in one place.

`tools/` is plain async Python and never imports `mcp`; `server/` reaches it only through this
module, so a reshaping of `tools/` changes the imports here and nowhere else.
"""

from __future__ import annotations

from tools.adapters import AdapterBaseMismatch, InvalidAdapter
from tools.blobs import DigestCache, FileChangedDuringUpload
from tools.cache import Cached, MetadataCache, Source
from tools.catalog import ModelCatalog
from tools.client import OllamaClient
from tools.create_plan import CreatePlanError
from tools.errors import (
    InvalidModelName,
    ModelNotFound,
    OllamaAPIError,
    OllamaError,
    OllamaTimeout,
    OllamaUnavailable,
    ServerBusy,
    StreamInterrupted,
    UnsupportedServer,
)
from tools.files import (
    AllowedRoots,
    NotARegularFile,
    OutsideAllowedRoots,
    PathNotAllowed,
    open_regular,
)
from tools.modelfile import (
    ModelfileError,
    UnrepresentableValueError,
    from_show,
    generate_modelfile,
    render,
)
from tools.names import parse_model_name
from tools.packaging import (
    BaseModelNotInstalled,
    CreateResult,
    PackageReport,
    PackagingProgress,
    PushFailed,
    create_model,
    package_adapter,
)
from tools.parameters import ParameterError, show_parameter_texts
from tools.types import (
    ChatResponse,
    EmbedResponse,
    GenerateResponse,
    ModelSummary,
    ProgressResponse,
    RunningModel,
    ShowResponse,
)

__all__ = [
    "AdapterBaseMismatch",
    "AllowedRoots",
    "BaseModelNotInstalled",
    "Cached",
    "ChatResponse",
    "CreatePlanError",
    "CreateResult",
    "DigestCache",
    "EmbedResponse",
    "FileChangedDuringUpload",
    "GenerateResponse",
    "InvalidAdapter",
    "InvalidModelName",
    "MetadataCache",
    "ModelCatalog",
    "ModelNotFound",
    "ModelSummary",
    "ModelfileError",
    "NotARegularFile",
    "OllamaAPIError",
    "OllamaClient",
    "OllamaError",
    "OllamaTimeout",
    "OllamaUnavailable",
    "OutsideAllowedRoots",
    "PackageReport",
    "PackagingProgress",
    "ParameterError",
    "PathNotAllowed",
    "ProgressResponse",
    "PushFailed",
    "RunningModel",
    "ServerBusy",
    "ShowResponse",
    "Source",
    "StreamInterrupted",
    "UnrepresentableValueError",
    "UnsupportedServer",
    "create_model",
    "from_show",
    "generate_modelfile",
    "open_regular",
    "package_adapter",
    "parse_model_name",
    "render",
    "show_parameter_texts",
]
