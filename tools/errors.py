"""Every failure the connector raises, as one hierarchy.

    OllamaError
    ├── OllamaUnavailable      also ConnectionError: nothing answers at the base URL
    │   └── StreamInterrupted  the connection closed before a stream reached its last line
    ├── OllamaTimeout          also TimeoutError: a configured timeout ran out
    ├── ProtocolError          a reply Ollama would not send (bad NDJSON line, bad JSON)
    ├── InvalidModelName       also ValueError: fails Ollama's name grammar; found before sending
    └── OllamaAPIError         also RuntimeError: Ollama answered an error (status and message)
        ├── ModelNotFound      also LookupError: not installed (or not in the registry)
        ├── ServerBusy         503 "server busy": Ollama did not take the request
        ├── StreamError        an {"error": ...} line after the stream had started (HTTP 200)
        └── UnsupportedServer  the Ollama version is too old for the request

The builtin bases let callers that know nothing of this module catch what they expect:
the seed's `except ConnectionError` for a stopped Ollama, `except RuntimeError` for a failed create,
`except ValueError` for a bad name.
"""

from __future__ import annotations

START_OLLAMA_HINT = "start Ollama with `ollama serve`, or set OLLAMA_HOST to where it runs"


class OllamaError(Exception):
    """Base of every error raised by the connector."""


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


class OllamaTimeout(OllamaError, TimeoutError):
    """A connect, read or write timeout ran out."""


class ProtocolError(OllamaError):
    """Ollama's reply could not be understood (e.g. a blank or malformed NDJSON line)."""


class InvalidModelName(OllamaError, ValueError):
    """A model name that Ollama would reject; raised before any request is sent."""

    def __init__(self, name: str, reason: str = "") -> None:
        self.name = name
        why = f": {reason}" if reason else ""
        super().__init__(
            f"invalid model name {name!r}{why}; "
            "use [host/][namespace/]model[:tag], e.g. llama3.2 or me/my-model:v1"
        )


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


class ServerBusy(OllamaAPIError):
    """503: Ollama's queue is full; the request was not taken and may be retried."""


class StreamError(OllamaAPIError):
    """An error line arrived after the stream had started; what came before it stands."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(200, message, hint=hint)


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
