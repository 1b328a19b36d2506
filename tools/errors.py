"""Every failure the connector raises, as one tree. Catch a branch to catch what it means.

    OllamaError
    ├── OllamaUnavailable          ConnectionError: nothing answers at the base URL
    │   ├── StreamInterrupted      the connection closed before a stream reached its last line
    │   └── HostDown               one host of several is down (marked so, probed, skipped)
    ├── NotConnected               ConnectionError: the connector's last connect() was refused
    ├── OllamaTimeout              TimeoutError: a configured timeout ran out
    ├── ProtocolError              a reply Ollama would not send (bad NDJSON line, bad JSON)
    │   └── GoLiteralError         also ValueError: a Go string literal in `/api/show` is malformed
    ├── InvalidInput               ValueError: refused before anything is sent to Ollama
    │   ├── InvalidArgument        an argument out of range, or two that exclude each other
    │   │   └── InvalidMetadata    the seed's upload metadata: a key missing, unknown or mistyped
    │   ├── InvalidHost            a host or OLLAMA_HOST that cannot be an Ollama address
    │   ├── UnknownHost            a tool's host that is not configured (the names listed)
    │   ├── AmbiguousHost          a change of a model on several hosts, without naming one
    │   ├── InvalidModelName       fails Ollama's name grammar
    │   ├── NotPushable            a name without the ollama.com namespace a push needs
    │   ├── InvalidDigest          a blob digest not of the form sha256:<64 hex>
    │   ├── ModelfileError         a Modelfile `ollama create` would refuse, in Ollama's words
    │   ├── ModelfileTooLarge      a Modelfile over 1 MiB, read from a file or generated
    │   ├── InvalidModelfileCommand  a Modelfile command built in code that no Modelfile has
    │   ├── UnrepresentableValueError  a value no Modelfile text reads back unchanged
    │   ├── ParameterError         a PARAMETER `ollama create` would refuse
    │   ├── CreatePlanError        a Modelfile refused while its create request is built
    │   ├── NoModelFilesError      a FROM, DRAFT or ADAPTER folder holds nothing Ollama can use
    │   ├── InsecurePathError      a file of such a folder is a symlink out of it
    │   ├── ContentTypeError       a file of such a folder is text where binary is needed, or back
    │   ├── AdapterFormatError     an adapter in a form Ollama cannot take (a folder rule)
    │   ├── InvalidAdapter         an adapter that cannot be packaged (file and problem named)
    │   ├── AdapterBaseMismatch    the base model's architecture cannot take the adapter
    │   ├── NotQuantizable         `quantize` on a source Ollama would refuse to quantize
    │   ├── GGUFFormatError        not a GGUF file this reader understands
    │   ├── SafetensorsFormatError not a well-formed safetensors file
    │   └── BadManifest            a manifest in Ollama's folder that Ollama would not read
    ├── LocalPathError             OSError: a local path cannot be read
    │   ├── PathNotAllowed         PermissionError: the path gate will not read this path
    │   │   ├── OutsideAllowedRoots  its real location is outside every allowed root
    │   │   └── NotARegularFile    a directory, FIFO, device or socket where a file is needed
    │   ├── PathNotFound           FileNotFoundError: an allowed path that does not exist
    │   ├── NotADirectory          NotADirectoryError: a folder was needed
    │   └── PathUnresolvable       a symlink loop, or a path too long to resolve
    ├── ModelOnNoHost              LookupError: no host that answers has the model
    ├── OllamaAPIError             RuntimeError: Ollama answered with an error (status, message)
    │   ├── ModelNotFound          also LookupError: not installed (or not in the registry)
    │   │   └── BaseModelNotInstalled  also ValueError: the adapter's base is not installed
    │   ├── ServerBusy             503 "server busy": Ollama did not take the request
    │   ├── StreamError            an {"error": ...} line after the stream had started (HTTP 200)
    │   ├── QuantizeRefused        create would not quantize: the source's type, the type asked
    │   ├── UnsupportedArchitecture  create cannot convert safetensors of this architecture
    │   ├── UnsupportedServer      the Ollama version is too old for the request
    │   │   └── EndpointMissing    an older Ollama answered 404: it has no such route yet
    │   └── CloudError             a request that needs ollama.com, which Ollama could not make
    │       ├── CloudDisabled      403: Ollama's cloud is switched off (OLLAMA_NO_CLOUD)
    │       ├── SignInRequired     401: Ollama is not signed in to ollama.com (`ollama signin`)
    │       └── CloudUnreachable   502: Ollama could not reach ollama.com
    ├── ClientClosed               RuntimeError: a request on a client after its aclose()
    ├── SharedStateUnavailable     ConnectionError: the shared state store (Redis) does not answer
    ├── FileChangedDuringUpload    RuntimeError: a file changed while it was hashed or uploaded
    └── PushFailed                 RuntimeError: the model was created, but pushing it failed

The builtin bases let callers that know nothing of this module catch what they expect: the seed's
`except ConnectionError` for a stopped Ollama, `except RuntimeError` for a failed create,
`except ValueError` for a bad name or Modelfile, `except FileNotFoundError` for a missing file,
`except PermissionError` (or `OSError`) for a path the gate refuses. Programming errors (a
`TypeError` for an argument of the wrong type) are not failures to report, and stay builtin.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tools.packaging.reports import PackageReport

START_OLLAMA_HINT = "start Ollama with `ollama serve`, or set OLLAMA_HOST to where it runs"
ALLOW_MORE_HINT = (
    "to allow another folder, start the server with --allow-dir DIR "
    "or pass it in the connector's allowed_roots"
)
NO_MODEL_FILES = "no Modelfile or safetensors files found"


class OllamaError(Exception):
    """Base of every error raised by the connector."""


# --- Ollama cannot be reached ----------------------------------------------------------------


class OllamaUnavailable(OllamaError, ConnectionError):
    """Ollama cannot be reached at the base URL."""

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        reason = f" ({detail})" if detail else ""
        super().__init__(f"cannot reach Ollama at {url}{reason}: {START_OLLAMA_HINT}")


class StreamInterrupted(OllamaUnavailable):
    """The connection closed (or the body ended) before the stream's final line: Ollama stopped
    or the network dropped. Lines received before it stand; a pull started again resumes."""

    def __init__(self, url: str, what: str, lines: int, detail: str = "") -> None:
        self.url = url
        self.what = what
        self.lines = lines
        reason = f" ({detail})" if detail else ""
        OllamaError.__init__(
            self,
            f"Ollama at {url} ended {what} after {lines} line(s) without finishing it{reason}; "
            f"if Ollama stopped, {START_OLLAMA_HINT}",
        )


class NotConnected(OllamaError, ConnectionError):
    """The last `connect` was refused: calls fail rather than go to some other server."""

    def __init__(self, base_url: str, reason: str) -> None:
        self.base_url = base_url
        super().__init__(
            f"not connected: connect() refused {base_url!r} ({reason}); "
            "call connect() again with a valid base_url"
        )


class OllamaTimeout(OllamaError, TimeoutError):
    """A connect, read or write timeout ran out."""


class ProtocolError(OllamaError):
    """Ollama's reply could not be understood (e.g. a blank or malformed NDJSON line)."""


class GoLiteralError(ProtocolError, ValueError):
    """A Go double-quoted string literal (as `/api/show` prints parameters) that is malformed."""


# --- refused before sending: ValueError --------------------------------------------------------


class InvalidInput(OllamaError, ValueError):
    """What the caller gave cannot be used; nothing was sent to Ollama."""


class InvalidArgument(InvalidInput):
    """An argument out of range, or arguments that exclude each other."""


class InvalidMetadata(InvalidArgument):
    """The seed's `upload_artifact` metadata: a required key missing, an unknown key, or a value
    of the wrong type."""


class InvalidHost(InvalidInput):
    """A host (or `OLLAMA_HOST`) that cannot be the address of an Ollama server."""


class UnknownHost(InvalidInput):
    """A tool named a host that is not configured; the text lists the configured ones."""


class AmbiguousHost(InvalidInput):
    """A change of a model present on several hosts, without saying on which."""


class InvalidModelName(InvalidInput):
    """A model name that Ollama would reject; raised before any request is sent."""

    # A name longer than any valid one (host 350, then 80 each for namespace, model and tag) is
    # quoted by its start only: the whole of it is in `.name`, not pasted into an agent's context.
    LONGEST_QUOTED = 600
    SHOWN = 60

    def __init__(self, name: str, reason: str = "") -> None:
        self.name = name
        why = f": {reason}" if reason else ""
        shown = (
            f"{name[: self.SHOWN]!r}... ({len(name)} characters)"
            if len(name) > self.LONGEST_QUOTED
            else repr(name)
        )
        super().__init__(
            f"invalid model name {shown}{why}; "
            "use [host/][namespace/]model[:tag], e.g. llama3.2 or me/my-model:v1"
        )


class NotPushable(InvalidInput):
    """A model name that cannot be pushed: it has no ollama.com namespace."""


class InvalidDigest(InvalidInput):
    """A blob digest that is not `sha256:` and 64 hex characters."""


class ModelfileError(InvalidInput):
    """A Modelfile that `ollama create` would refuse, with Ollama's text.

    `line` is set where Ollama gives a line number (`(line N): ...`); `near_line` is the line the
    reader had reached in every case, for messages meant for people.
    """

    def __init__(self, message: str, line: int | None = None, *, near_line: int | None = None):
        self.message = message
        self.line = line
        self.near_line = near_line if near_line is not None else line
        super().__init__(f"(line {line}): {message}" if line else message)


class ModelfileTooLarge(InvalidInput):
    """A Modelfile file larger than any Modelfile needs to be."""


class InvalidModelfileCommand(InvalidInput):
    """A Modelfile command built in code with a keyword, name or role no Modelfile has."""


class UnrepresentableValueError(InvalidInput):
    """A value that no Modelfile text reads back unchanged; `field` names where it came from."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: cannot be written in a Modelfile: {reason}")


class ParameterError(InvalidInput):
    """A PARAMETER that `ollama create` would refuse; the text is Ollama's own wording."""


class CreatePlanError(InvalidInput):
    """A Modelfile that `ollama create` would refuse while building its request."""


class NoModelFilesError(InvalidInput):
    """A FROM, DRAFT or ADAPTER folder holds nothing Ollama can use."""

    def __init__(self, folder: Path, detail: str = NO_MODEL_FILES) -> None:
        self.folder = folder
        super().__init__(f"{detail} in {str(folder)!r}")


class InsecurePathError(InvalidInput):
    """A file of the folder is really somewhere else (a symlink out of it)."""

    def __init__(self, relative: str) -> None:
        self.relative = relative
        message = f"insecure path: {relative}"
        if ".cache" in relative:
            message += (
                "\n\nUse --local-dir <dir> when downloading model to disable caching "
                "(the files of a Hugging Face cache snapshot are symlinks out of it)"
            )
        super().__init__(message)


class ContentTypeError(InvalidInput):
    """A file that the folder rules need as text, or as binary, is not."""

    def __init__(self, path: Path, found: str, wanted: str) -> None:
        self.path = path
        super().__init__(f"invalid content type: {str(path)!r} is {found}, expected {wanted}")


class AdapterFormatError(InvalidInput):
    """An adapter in a form Ollama cannot take."""


class InvalidAdapter(InvalidInput):
    """The adapter cannot be packaged; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class AdapterBaseMismatch(InvalidInput):
    """The base model's architecture cannot take this adapter."""


class NotQuantizable(InvalidInput):
    """`quantize` was asked for a source Ollama quantizes only from F16, BF16 or F32 (a model
    already quantized, an F32 file Ollama reads as of unknown type): refused before any upload,
    in Ollama's words, with what to do."""


class GGUFFormatError(InvalidInput):
    """The file is not a GGUF file this reader understands."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class SafetensorsFormatError(InvalidInput):
    """The file is not a well-formed safetensors file."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: invalid safetensors file: {problem}")


class BadManifest(InvalidInput):
    """A manifest or config blob that Ollama would not read; the model is left out."""


# --- local paths: OSError ----------------------------------------------------------------------


class LocalPathError(OllamaError, OSError):
    """A local path cannot be read. Raised as `OSError(errno, text, path)`."""


class PathNotAllowed(LocalPathError, PermissionError):
    """The gate refuses to read this path."""

    def __init__(self, path: str | os.PathLike[str], roots: Iterable[Path], reason: str) -> None:
        self.path = str(path)
        self.roots = tuple(roots)
        self.reason = reason
        super().__init__(errno.EACCES, self._message(), self.path)

    def _message(self) -> str:
        return f"refusing to read {self.path!r}: {self.reason}"

    def __str__(self) -> str:
        return self._message()


def describe_roots(roots: Iterable[Path]) -> str:
    names = [str(r) for r in roots]
    return ", ".join(names) if names else "none (no folder is allowed yet)"


class OutsideAllowedRoots(PathNotAllowed):
    """The real path lies outside every allowed root."""

    def __init__(self, path: str | os.PathLike[str], real: Path, roots: Iterable[Path]) -> None:
        roots = tuple(roots)
        where = describe_roots(roots)
        via = f" (it resolves to {str(real)!r})" if str(real) != str(path) else ""
        super().__init__(
            path, roots, f"it is outside the allowed folders{via}: {where}; " + ALLOW_MORE_HINT
        )
        self.real_path = real


class NotARegularFile(PathNotAllowed):
    """Only regular files are read: not directories, FIFOs, devices or sockets."""

    def __init__(self, path: str | os.PathLike[str], kind: str, roots: Iterable[Path]) -> None:
        self.kind = kind
        super().__init__(
            path, roots, f"it is {kind}, not a regular file; only regular files are read"
        )


class PathNotFound(LocalPathError, FileNotFoundError):
    """An allowed path (or one a Modelfile names) that does not exist."""


class NotADirectory(LocalPathError, NotADirectoryError):
    """A folder was needed and the path is something else."""


class PathUnresolvable(LocalPathError):
    """The path cannot be resolved to its real location (a symlink loop, a name too long)."""


# --- Ollama said no: RuntimeError --------------------------------------------------------------


class OllamaAPIError(OllamaError, RuntimeError):
    """Ollama answered with an error. `message` is Ollama's own text, unchanged."""

    def __init__(self, status: int, message: str, *, hint: str = "") -> None:
        self.status = status
        self.message = message
        self.hint = hint
        # A 200 carrying an error means the error came as a line inside a streamed reply.
        where = "in the stream" if status == 200 else f"HTTP {status}"
        text = f"Ollama error ({where}): {message}"
        super().__init__(f"{text}; {hint}" if hint else text)


class ModelNotFound(OllamaAPIError, LookupError):
    """The named model is not installed locally (or the registry does not have it)."""

    def __init__(self, model: str, status: int = 404, message: str = "", *, hint: str = "") -> None:
        self.model = model
        super().__init__(
            status,
            message or f"model '{model}' not found",
            hint=hint or f"pull it first (`ollama pull {model}`) or check the name in list_models",
        )


class BaseModelNotInstalled(ModelNotFound, ValueError):
    """The base model is not installed and pulling it was not asked for. Also a `ValueError`,
    the seed's error for bad metadata."""

    def __init__(self, model: str) -> None:
        super().__init__(
            model,
            404,
            f"base model '{model}' is not installed",
            hint=f"pull it first (`ollama pull {model}`) or pass pull_base=True",
        )


class ServerBusy(OllamaAPIError):
    """503: Ollama's queue is full; the request was not taken and may be retried."""


class StreamError(OllamaAPIError):
    """An error line arrived after the stream had started; what came before it stands."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(200, message, hint=hint)


class QuantizeRefused(OllamaAPIError):
    """Ollama's create would not quantize the model (`message` is Ollama's: the source is not
    F16, BF16 or F32, the type is unknown, llama-quantize failed); `hint` says what to do."""


class UnsupportedArchitecture(OllamaAPIError):
    """Ollama's create cannot convert safetensors weights of this architecture to GGUF."""


class UnsupportedServer(OllamaAPIError):
    """The running Ollama is too old for this request."""

    def __init__(
        self, version: str | None, needed: str, what: str, *, status: int = 400, message: str = ""
    ) -> None:
        self.version = version
        self.needed = needed
        seen = f"Ollama {version}" if version else "this Ollama"
        too_old = f"{seen} is too old for {what}"
        upgrade = f"upgrade Ollama to {needed} or newer"
        # When Ollama itself said no, its words come first and ours become the hint.
        if message:
            super().__init__(status, message, hint=f"{too_old}: {upgrade}")
        else:
            super().__init__(status, too_old, hint=upgrade)


class EndpointMissing(UnsupportedServer):
    """An older Ollama answered gin's `404 page not found`: the route came in a later version."""


class CloudError(OllamaAPIError):
    """Ollama could not get ollama.com's answer (web search and fetch). Ollama signs these
    requests with the user's own `ollama signin` key: no key passes through the connector."""


class CloudDisabled(CloudError):
    """403 `ollama cloud is disabled: ...` (OLLAMA_NO_CLOUD, or ~/.ollama/server.json)."""


class SignInRequired(CloudError):
    """401: Ollama could not sign the request, or ollama.com does not know its key."""

    signin_url: str | None = None  # where Ollama says to sign in, when it said


class CloudUnreachable(CloudError):
    """502: Ollama could not reach ollama.com (no network, DNS, a proxy)."""


# --- an operation failed part way: RuntimeError ------------------------------------------------


class ClientClosed(OllamaError, RuntimeError):
    """A request on a client that was closed: make a new one."""

    def __init__(self, url: str) -> None:
        super().__init__(f"the client for {url} has been closed; make a new one to send requests")


class SharedStateUnavailable(OllamaError, ConnectionError):
    """The Redis that replicas share state through cannot be reached (or refused us). Only work
    that needs state shared by the replicas fails with it; reads go to Ollama instead."""

    def __init__(self, where: str, detail: str) -> None:
        self.where = where
        self.detail = detail
        super().__init__(
            f"the shared state store at {where} cannot be reached ({detail}): this needs state "
            "shared by every replica, so it was not done; try again once Redis is back "
            "(ollama_status shows it), or check --state-url / OLLAMA_MCP_STATE_URL"
        )


class FileChangedDuringUpload(OllamaError, RuntimeError):
    """The file changed while (or after) it was hashed: Ollama would not get what is on disk."""

    def __init__(
        self, path: Path, stage: Literal["hashing", "uploading"], detail: str = ""
    ) -> None:
        self.path = path
        self.stage = stage
        why = f" ({detail})" if detail else ""
        doing = "hashed" if stage == "hashing" else "uploaded"
        super().__init__(
            f"{str(path)!r} changed while it was being {doing}{why}; "
            "wait until whatever is writing it has finished, then retry"
        )


class PushFailed(OllamaError, RuntimeError):
    """The model was created, but pushing it failed. `report` says what was created."""

    def __init__(self, report: PackageReport, cause: Exception) -> None:
        self.report = report
        self.cause = cause
        super().__init__(
            f"model {report.model!r} was created (digest {report.digest}), but pushing it "
            f"failed: {cause}; push it again once the cause is fixed"
        )


class HostDown(OllamaUnavailable):
    """One of several hosts does not answer: it is marked down, probed in the background, and
    left out of routing until it answers again. The text names it and says what to do."""

    def __init__(self, host: str, url: str, message: str) -> None:
        self.host = host
        self.url = url
        OllamaError.__init__(self, message)


class ModelOnNoHost(OllamaError, LookupError):
    """No host that answers has the model; the text names the hosts and how to pull it."""

    def __init__(self, model: str, message: str) -> None:
        self.model = model
        super().__init__(message)
