"""What Ollama derives from an installed model: details, capabilities, show fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import gojson
from .ggufs import GGUFInfo, file_type_name, read_info
from .store import (
    MEDIA_ADAPTER,
    MEDIA_CONFIG,
    MEDIA_LICENSE,
    MEDIA_MESSAGES,
    MEDIA_MODEL,
    MEDIA_PARAMS,
    MEDIA_PROJECTOR,
    MEDIA_PROMPT,
    MEDIA_SYSTEM,
    MEDIA_TEMPLATE,
    Installed,
    Store,
)

DEFAULT_TEMPLATE = "{{ .Prompt }}"
_FIELD_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")


def template_vars(template: str) -> set[str]:
    """Template.Vars(): the field names a Go template uses, lower-cased."""
    out: set[str] = set()
    for action in re.findall(r"\{\{(.*?)\}\}", template, flags=re.S):
        out.update(m.lower() for m in _FIELD_RE.findall(action))
    return out


def template_thinks(template: str) -> bool:
    """thinking.InferTags, simplified: `.Thinking` used and wrapped in literal tags."""
    return ".Thinking" in template and bool(re.search(r"<think>|<thinking>", template))


@dataclass
class ModelView:
    inst: Installed
    config: dict[str, Any]
    template: str | None  # None: no template layer
    system: str
    licenses: list[str]
    params: dict[str, Any]
    messages: list[dict[str, Any]]
    gguf: GGUFInfo | None
    model_path: str

    @property
    def family(self) -> str:
        return str(self.config.get("model_family", ""))

    @property
    def effective_template(self) -> str:
        return self.template if self.template is not None else DEFAULT_TEMPLATE

    def capabilities(self) -> list[str]:
        caps: list[str] = []

        def add(cap: str) -> None:
            if cap not in caps:
                caps.append(cap)

        for cap in self.config.get("capabilities") or []:
            add(str(cap))
        if self.gguf is not None:
            if self.gguf.arch_key("pooling_type") is not None:
                add("embedding")
            else:
                add("completion")
            if self.gguf.arch_key("vision.block_count") is not None:
                add("vision")
            if self.gguf.arch_key("audio.block_count") is not None:
                add("audio")
        if self.inst.first(MEDIA_PROJECTOR) is not None:
            add("vision")
        tmpl = self.template or ""
        names = template_vars(tmpl)
        if "tools" in names:
            add("tools")
        if "suffix" in names:
            add("insert")
        if template_thinks(tmpl) or self.family in ("gptoss", "gpt-oss"):
            add("thinking")
        return caps

    def list_capabilities(self) -> list[str]:
        """/api/tags order: GGUF header caps, config caps, template caps, projector vision."""
        caps: list[str] = []

        def add(cap: str) -> None:
            if cap not in caps:
                caps.append(cap)

        remote = self.config.get("remote_host") or self.config.get("remote_model")
        if self.gguf is not None and not remote:
            arch = self.gguf.arch
            head = self.gguf.list_kv()
            for key in head:
                if key == f"{arch}.vision.block_count":
                    add("vision")
                elif key == f"{arch}.audio.block_count":
                    add("audio")
            add("embedding" if f"{arch}.pooling_type" in head else "completion")
        for cap in self.config.get("capabilities") or []:
            add(str(cap))
        names = template_vars(self.template or "")
        if "tools" in names:
            add("tools")
        if "suffix" in names:
            add("insert")
        if template_thinks(self.template or "") or self.family in ("gptoss", "gpt-oss"):
            add("thinking")
        if self.inst.first(MEDIA_PROJECTOR) is not None:
            add("vision")
        return caps

    @property
    def parent_model(self) -> str:
        # Ollama walks every layer and the last model layer sets it (split GGUFs have several).
        model_layers = self.inst.all(MEDIA_MODEL)
        return str(model_layers[-1].get("from", "")) if model_layers else ""

    def quantization_level(self, gguf_kv: dict[str, Any] | None = None) -> str:
        ft = str(self.config.get("file_type", ""))
        if ft in ("", "unknown") and self.gguf is not None:
            kv = self.gguf.kv if gguf_kv is None else gguf_kv
            return file_type_name(kv.get("general.file_type"))
        return ft

    def details(self, with_lengths: bool) -> dict[str, Any]:
        """show (with_lengths=False) or /api/tags (True): the list reads only the GGUF head."""
        head = self.gguf.list_kv() if with_lengths and self.gguf is not None else None
        families = self.config.get("model_families")
        if with_lengths and not families:
            families = None  # the list copies with append([]string(nil), ...): [] becomes null
        out: dict[str, Any] = {
            "parent_model": self.parent_model,
            "format": self.config.get("model_format", ""),
            "family": self.family,
            "families": families,
            "parameter_size": self.config.get("model_type", ""),
            "quantization_level": self.quantization_level(head),
        }
        if with_lengths:
            arch = self.gguf.arch if self.gguf is not None else ""
            ctx = self.config.get("context_length") or (head or {}).get(f"{arch}.context_length")
            emb = self.config.get("embedding_length") or (head or {}).get(
                f"{arch}.embedding_length"
            )
            if ctx:
                out["context_length"] = int(ctx)
            if emb:
                out["embedding_length"] = int(emb)
        return out

    def ps_details(self) -> dict[str, Any]:
        """PsHandler: config fields only (no parent_model, no GGUF quantization fallback)."""
        return {
            "parent_model": "",
            "format": self.config.get("model_format", ""),
            "family": self.family,
            "families": self.config.get("model_families"),
            "parameter_size": self.config.get("model_type", ""),
            "quantization_level": self.config.get("file_type", ""),
        }

    @property
    def context_length(self) -> int:
        if self.gguf is not None and self.gguf.arch_key("context_length"):
            return int(self.gguf.arch_key("context_length"))
        return 4096

    @property
    def embedding_length(self) -> int:
        if self.gguf is not None and self.gguf.arch_key("embedding_length"):
            return int(self.gguf.arch_key("embedding_length"))
        return 8

    def parameters_text(self) -> str:
        """`%-30s %#v` per option, list values one line per element (sorted, Go's is random)."""
        lines = []
        for key in sorted(self.params):
            value = self.params[key]
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"{key:<30} {gojson.gofmt_sharp_v(item)}")
        return "\n".join(lines)

    def modelfile(self, store: Store, extra_options: dict[str, Any] | None = None) -> str:
        """The `modelfile` text of /api/show (contract 6.6)."""
        lines = [
            '# Modelfile generated by "ollama show"',
            "# To build a new Modelfile based on this, replace FROM with:",
            f"# FROM {self.inst.name.display_shortest()}",
            "",
            f"FROM {self.model_path}",
        ]
        for ad in self.inst.all(MEDIA_ADAPTER):
            lines.append(f"ADAPTER {_quote(str(store.blob_path(ad['digest'])))}")
        for pj in self.inst.all(MEDIA_PROJECTOR):
            lines.append(f"FROM {store.blob_path(pj['digest'])}")
        lines.append(f"TEMPLATE {_quote(self.effective_template)}")
        if self.system:
            lines.append(f"SYSTEM {_quote(self.system)}")
        for key in ("renderer", "parser"):
            if self.config.get(key):
                lines.append(f"{key.upper()} {_quote(str(self.config[key]))}")
        options = dict(self.params)
        options.update(extra_options or {})
        for key in sorted(options):
            value = options[key]
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"PARAMETER {key} {_quote(gojson.gofmt_v(item))}")
        for lic in self.licenses:
            lines.append(f"LICENSE {_quote(lic)}")
        for msg in self.messages:
            lines.append(f"MESSAGE {msg.get('role', '')} {_quote(str(msg.get('content', '')))}")
        return "\n".join(lines) + "\n"


def _quote(s: str) -> str:
    """parser.quote: quote only values with a newline or a leading/trailing space."""
    if "\n" in s or s.startswith(" ") or s.endswith(" "):
        return f'"""{s}"""' if '"' in s else f'"{s}"'
    return s


def load_view(store: Store, inst: Installed) -> ModelView | None:
    """Read a model's config and text layers; None where Ollama would skip the model."""
    cfg_layer = inst.config_layer
    config: dict[str, Any] = {}
    if cfg_layer.get("digest"):
        loaded = store.read_blob_json(cfg_layer["digest"])
        if not isinstance(loaded, dict):
            return None
        config = loaded

    # GetModel walks every layer: for single-valued kinds the last layer wins.
    def last(*media: str) -> dict[str, Any] | None:
        found = [x for x in inst.layers if x.get("mediaType") in media]
        return found[-1] if found else None

    template = None
    tl = last(MEDIA_TEMPLATE, MEDIA_PROMPT)
    if tl is not None:
        template = store.read_blob_text(tl["digest"])
        if template is None:
            return None
    sl = last(MEDIA_SYSTEM)
    system = (store.read_blob_text(sl["digest"]) or "") if sl else ""
    licenses = [store.read_blob_text(x["digest"]) or "" for x in inst.all(MEDIA_LICENSE)]
    params: Any = {}
    for pl in inst.all(MEDIA_PARAMS):  # decoded into one map: keys accumulate
        loaded_params = store.read_blob_json(pl["digest"])
        if isinstance(loaded_params, dict):
            params.update(loaded_params)
    ml = last(MEDIA_MESSAGES)
    messages = store.read_blob_json(ml["digest"]) if ml else None
    info = None
    model_path = ""
    mlayer = last(MEDIA_MODEL)
    if mlayer is not None:
        path = store.blob_path(mlayer["digest"])
        model_path = str(path)
        try:
            info = read_info(path, mlayer["digest"])
        except (OSError, ValueError):
            info = None
    return ModelView(
        inst=inst,
        config=config,
        template=template,
        system=system,
        licenses=licenses,
        params=params if isinstance(params, dict) else {},
        messages=messages if isinstance(messages, list) else [],
        gguf=info,
        model_path=model_path,
    )


__all__ = ["MEDIA_CONFIG", "ModelView", "load_view", "template_thinks", "template_vars"]
