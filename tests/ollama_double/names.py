"""Model names as Ollama parses them (contract section 7, types/model/name.go).

`[scheme://][host/][namespace/]model[:tag]`, defaults filled in, every part checked
byte by byte. Parts keep their case; lookups compare them case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def strip_source_suffix(text: str) -> tuple[str, str]:
    """Split a trailing `:local` / `:cloud` (any case) off a model reference.

    Returns (base, source) with source "", "local" or "cloud"; a tag ending in
    `-cloud` also selects the cloud source.
    """
    source = ""
    base = text
    for suffix in ("local", "cloud"):
        marker = ":" + suffix
        if base.lower().endswith(marker):
            source = suffix
            base = base[: -len(marker)]
            break
    if source:
        for other in ("local", "cloud"):
            if base.lower().endswith(":" + other):
                raise ConflictingSource(f'use either :local or :cloud, not both: "{text}"')
    elif base.rfind(":") > base.rfind("/") and base.lower().endswith("-cloud"):
        source = "cloud"
    return base, source
