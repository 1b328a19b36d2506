"""Ollama's model-name grammar (contract section 7): parse, validate, normalise, display.

A name is `[scheme://][host/][namespace/]model[:tag]`, with a trailing `:local` or `:cloud` (or a
tag ending in `-cloud`) choosing where it runs. The rules are Ollama's own, checked byte by byte, so
a name this module accepts is one the server accepts, and one it rejects never leaves the client.

    >>> parse_model_name("llama3").full
    'registry.ollama.ai/library/llama3:latest'
    >>> display_shortest("registry.ollama.ai/me/model")
    'me/model:latest'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from tools.errors import InvalidModelName

REGISTRY_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
DEFAULT_SCHEME = "https"

RunLocation = Literal["local", "cloud"]
PartKind = Literal["host", "namespace", "model", "tag"]

_MAX_LEN: dict[PartKind, int] = {"host": 350, "namespace": 80, "model": 80, "tag": 80}
_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_LATER: dict[PartKind, frozenset[str]] = {
    "host": _FIRST | frozenset("-.:"),
    "namespace": _FIRST | frozenset("-"),
    "model": _FIRST | frozenset("-."),
    "tag": _FIRST | frozenset("-."),
}


@dataclass(frozen=True)
class ModelName:
    """A valid, fully qualified model name. Parts keep the case they were written in."""

    host: str
    namespace: str
    model: str
    tag: str
    # `x:cloud` and `x:local` name the same model `x` run from a chosen place.
    source: RunLocation | None = None
    # Only used to reach a registry; two names that differ in scheme are the same model.
    scheme: str = field(default=DEFAULT_SCHEME, compare=False)

    @property
    def full(self) -> str:
        """`host/namespace/model:tag`, the form Ollama stores on disk."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def shortest(self) -> str:
        """Ollama's `DisplayShortest`: the defaults left out, the tag always kept."""
        if self.host.lower() != REGISTRY_HOST:
            prefix = f"{self.host}/{self.namespace}/"
        elif self.namespace.lower() != DEFAULT_NAMESPACE:
            prefix = f"{self.namespace}/"
        else:
            prefix = ""
        return f"{prefix}{self.model}:{self.tag}"

    @property
    def match_key(self) -> tuple[str, str, str, str]:
        """What Ollama compares to match installed models: the four parts, case folded. Equal
        keys are the same model, so it is also the thing to hash."""
        return (self.host.lower(), self.namespace.lower(), self.model.lower(), self.tag.lower())

    def same_model(self, other: ModelName) -> bool:
        """Case-insensitive equality of the four parts, as Ollama matches installed models."""
        return self.match_key == other.match_key

    def __str__(self) -> str:
        return self.full


def parse_model_name(text: str) -> ModelName:
    """Parse and validate `text`, filling in the defaults; raise `InvalidModelName` if Ollama would
    reject it. Surrounding whitespace is ignored, as the server ignores it."""
    # The cache keys on the plain text: a str subclass such as ModelRef hashes through this parser.
    return _parse_text(str(text))


@lru_cache(maxsize=1024)  # a call checks its model's name more than once; ModelName is frozen
def _parse_text(text: str) -> ModelName:
    raw = text.strip()
    if not raw:
        raise InvalidModelName(text, "the name is empty")
    base, source = _split_source(text, raw)
    return _parse_base(text, base, source)


def is_valid_model_name(text: str) -> bool:
    """Whether Ollama would accept `text` as a model name."""
    try:
        parse_model_name(text)
    except InvalidModelName:
        return False
    return True


def normalize_model_name(text: str) -> str:
    """The fully qualified form: `llama3` -> `registry.ollama.ai/library/llama3:latest`."""
    return parse_model_name(text).full


def display_shortest(name: str | ModelName) -> str:
    """The short form Ollama shows in `/api/tags`, `/api/ps` and its error messages."""
    parsed = name if isinstance(name, ModelName) else parse_model_name(name)
    return parsed.shortest


def same_model(a: str | ModelName, b: str | ModelName) -> bool:
    """Whether two names denote the same model (defaults applied, case ignored)."""
    left = a if isinstance(a, ModelName) else parse_model_name(a)
    right = b if isinstance(b, ModelName) else parse_model_name(b)
    return left.same_model(right)


def pull_name(text: str) -> str:
    """The name a pull actually fetches: `x:cloud` stays `x:cloud`, `x:8b:cloud` becomes
    `x:8b-cloud`, `x:local` becomes `x` (Ollama's `NormalizePullName`)."""
    raw = text.strip()
    parse_model_name(raw)
    base, source = _split_source(text, raw)
    if source != "cloud":
        return base
    return f"{base}-cloud" if _has_explicit_tag(base) else f"{base}:cloud"


# --- the grammar ----------------------------------------------------------------------------


def _split_source(original: str, raw: str) -> tuple[str, RunLocation | None]:
    base, source = _source_suffix(raw)
    if source is not None and _source_suffix(base)[1] is not None:
        raise InvalidModelName(original, f'use either :local or :cloud, not both: "{raw}"')
    return base, source


def _source_suffix(raw: str) -> tuple[str, RunLocation | None]:
    idx = raw.rfind(":")
    if idx < 0:
        return raw, None
    suffix = raw[idx + 1 :].strip()
    lowered = suffix.lower()
    if lowered == "cloud":
        return raw[:idx], "cloud"
    if lowered == "local":
        return raw[:idx], "local"
    if "/" not in suffix and lowered.endswith("-cloud"):
        return raw[: idx + 1] + suffix[: -len("-cloud")], "cloud"
    return raw, None


def _has_explicit_tag(name: str) -> bool:
    return name.rfind(":") > name.rfind("/")


def _parse_base(original: str, base: str, source: RunLocation | None) -> ModelName:
    rest = base
    tag: str | None = None
    # The tag is cut at the last ':' only when no '/' follows it, so `host:port/ns/m` works.
    if _has_explicit_tag(rest):
        rest, _, tag = rest.rpartition(":")
        _require(original, "tag", tag, after=":")
        _require(original, "model", rest, before=":")
    host: str | None = None
    namespace: str | None = None
    head, slash, model = rest.rpartition("/")
    if slash:
        _require(original, "model", model, after="/")
        _require(original, "namespace", head, before="/")
        host_part, slash, namespace = head.rpartition("/")
        if slash:
            _require(original, "namespace", namespace, after="/")
            _require(original, "host", host_part, before="/")
            host = host_part
    scheme = ""
    if host is not None and "://" in host:
        # As in Ollama, the scheme is not checked (a registry answers or not), and `scheme://`
        # with no host means the default host.
        scheme, _, host = host.partition("://")
    name = ModelName(
        host=host or REGISTRY_HOST,
        namespace=namespace or DEFAULT_NAMESPACE,
        model=model,
        tag=tag or DEFAULT_TAG,
        source=source,
        scheme=scheme or DEFAULT_SCHEME,
    )
    for kind in ("host", "namespace", "model", "tag"):
        _check_part(original, kind, getattr(name, kind))
    return name


def _require(
    original: str, kind: PartKind, part: str, *, before: str = "", after: str = ""
) -> None:
    if part:
        return
    where = f"before {before!r}" if before else f"after {after!r}"
    raise InvalidModelName(original, f"the {kind} is missing {where}")


def _check_part(original: str, kind: PartKind, part: str) -> None:
    size = len(part.encode())
    limit = _MAX_LEN[kind]
    if not 1 <= size <= limit:
        raise InvalidModelName(original, f"the {kind} is {size} bytes long; at most {limit}")
    if "@" in part:
        raise InvalidModelName(original, "'@' is not allowed (a name cannot carry a digest)")
    if part[0] not in _FIRST:
        raise InvalidModelName(
            original, f"the {kind} {part!r} must start with a letter, digit or '_'"
        )
    allowed = _LATER[kind]
    for char in part[1:]:
        if char not in allowed:
            extra = "".join(sorted(allowed - _FIRST))
            raise InvalidModelName(
                original,
                f"the {kind} {part!r} contains {char!r}; "
                f"only letters, digits, '_' and {extra!r} are allowed",
            )
