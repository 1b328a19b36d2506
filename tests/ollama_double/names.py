"""Model names as Ollama parses them (contract section 7, types/model/name.go).

`[scheme://][host/][namespace/]model[:tag]`, defaults filled in, every part checked
byte by byte. Parts keep their case; lookups compare them case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass

from .gojson import go_quote

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
_MISSING = "!MISSING!"  # Ollama's marker for a separator with nothing around it: never valid

_ALNUM_ = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _valid_part(kind: str, part: str) -> bool:
    limit = 350 if kind == "host" else 80
    if not 0 < len(part) <= limit:
        return False
    for i, ch in enumerate(part):
        if i == 0 and ch not in _ALNUM_:
            return False
        if ch in _ALNUM_ or ch == "-":
            continue
        if ch == "." and kind != "namespace":
            continue
        if ch == ":" and kind == "host":
            continue
        return False
    return True


def _cut_promised(s: str, sep: str) -> tuple[str, str, bool]:
    i = s.rfind(sep)
    if i < 0:
        return s, "", False
    return s[:i] or _MISSING, s[i + 1 :] or _MISSING, True


@dataclass(frozen=True)
class Name:
    host: str
    namespace: str
    model: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> Name:
        """ParseName: split at the last separators, then fill the defaults."""
        host = namespace = model = tag = ""
        s = text
        if s.rfind(":") > s.rfind("/"):
            s, tag, _ = _cut_promised(s, ":")
        s, model, promised = _cut_promised(s, "/")
        if not promised:
            model = s
        else:
            s, namespace, promised = _cut_promised(s, "/")
            if not promised:
                namespace = s
            else:
                scheme_host = s.split("://", 1)
                host = scheme_host[1] if len(scheme_host) == 2 else scheme_host[0]
        return cls(
            host or DEFAULT_HOST,
            namespace or DEFAULT_NAMESPACE,
            model,
            tag or DEFAULT_TAG,
        )

    def is_valid(self) -> bool:
        return (
            _valid_part("host", self.host)
            and _valid_part("namespace", self.namespace)
            and _valid_part("model", self.model)
            and _valid_part("tag", self.tag)
        )

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Case-insensitive identity used for lookups."""
        return (self.host.lower(), self.namespace.lower(), self.model.lower(), self.tag.lower())

    def display_shortest(self) -> str:
        if self.host.lower() != DEFAULT_HOST:
            return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"
        if self.namespace.lower() != DEFAULT_NAMESPACE:
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.model}:{self.tag}"

    def fully_qualified(self) -> str:
        """Name.String(): host/namespace/model:tag (used in capability errors)."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    def parts(self) -> tuple[str, str, str, str]:
        return (self.host, self.namespace, self.model, self.tag)


class ConflictingSource(ValueError):
    """`x:local:cloud`: Ollama refuses a name that asks for both sources."""


class ModelRequired(ValueError):
    """An empty (or all-space) model reference."""


@dataclass(frozen=True)
class Ref:
    """modelref.ParseRef: the trimmed reference, its base and its source ("", local, cloud)."""

    original: str
    base: str
    source: str


def _source_suffix(raw: str) -> tuple[str, str, bool]:
    """parseSourceSuffix: a last `:cloud`/`:local` part, or a tag ending in `-cloud`."""
    idx = raw.rfind(":")
    if idx >= 0:
        suffix_raw = raw[idx + 1 :].strip()
        suffix = suffix_raw.lower()
        if suffix in ("cloud", "local"):
            return raw[:idx], suffix, True
        if "/" not in suffix_raw and suffix.endswith("-cloud"):
            return raw[: idx + 1] + suffix_raw[: -len("-cloud")], "cloud", True
    return raw, "", False


def parse_ref(raw: str) -> Ref:
    """Trim, refuse an empty name, split the source suffix, refuse two suffixes."""
    text = raw.strip()
    if not text:
        raise ModelRequired("model is required")
    base, source, explicit = _source_suffix(text)
    if explicit and _source_suffix(base)[2]:
        raise ConflictingSource(f"use either :local or :cloud, not both: {go_quote(text)}")
    return Ref(text, base, source)


def normalize_pull_name(raw: str) -> str:
    """NormalizePullName (pull, delete): `x:cloud` stays, `x:8b:cloud` -> `x:8b-cloud`."""
    ref = parse_ref(raw)
    if ref.source != "cloud":
        return ref.base
    explicit_tag = ref.base.rfind(":") > ref.base.rfind("/")
    return ref.base + ("-cloud" if explicit_tag else ":cloud")
