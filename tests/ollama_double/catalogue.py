"""The registry the double pulls from: model recipes whose layers are generated on demand.

A recipe becomes real blobs (a GGUF model layer of a chosen size plus text layers and a
config) in the registry directory the first time it is needed; pulls then copy those
blobs into the store with progress, as Ollama downloads from registry.ollama.ai.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import gojson
from .ggufs import FILE_TYPES, ModelSpec, write_model
from .names import Name
from .store import (
    MEDIA_CONFIG,
    MEDIA_LICENSE,
    MEDIA_MANIFEST,
    MEDIA_MODEL,
    MEDIA_PARAMS,
    MEDIA_SYSTEM,
    MEDIA_TEMPLATE,
    layer,
)

LLAMA32_TEMPLATE = (
    "<|start_header_id|>system<|end_header_id|>\n\n"
    "Cutting Knowledge Date: December 2023\n\n"
    "{{ if .System }}{{ .System }}\n{{ end }}"
    "{{- if .Tools }}When you receive a tool call response, use the output to format an answer."
    "\n\nYou have access to the following functions:\n{{ range $.Tools }}{{ . }}\n{{ end }}"
    "{{ end }}<|eot_id|>"
    "{{- range $i, $_ := .Messages }}"
    "<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}"
    "{{- if .ToolCalls }}{{ range .ToolCalls }}"
    '{"name": "{{ .Function.Name }}", "parameters": {{ .Function.Arguments }}}{{ end }}{{ end }}'
    "<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n"
)
QWEN3_TEMPLATE = (
    "{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{- if .Tools }}<tools>{{ range .Tools }}{{ . }}{{ end }}</tools>{{ end }}"
    "{{- range $i, $_ := .Messages }}"
    '{{- if eq .Role "assistant" }}<|im_start|>assistant\n'
    "{{- if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}{{ .Content }}<|im_end|>\n"
    "{{- else }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}{{ end }}"
    "<|im_start|>assistant\n"
)
GEMMA2_TEMPLATE = (
    "{{- range $i, $_ := .Messages }}<start_of_turn>"
    '{{ if eq .Role "user" }}user{{ else }}model{{ end }}\n{{ .Content }}<end_of_turn>\n'
    "{{ end }}<start_of_turn>model\n"
)
TINYLLAMA_TEMPLATE = "<|system|>\n{{ .System }}</s>\n<|user|>\n{{ .Prompt }}</s>\n<|assistant|>\n"
CODE_TEMPLATE = (
    "{{- if .Suffix }}<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>{{ else }}{{ .Prompt }}{{ end }}"
)


@dataclass
class Recipe:
    name: str
    arch: str
    parameter_size: str
    file_type: int = 15
    model_size: int = 16 * 1024  # approximate bytes of the GGUF model layer
    template: str | None = None
    system: str | None = None
    licenses: list[str] = field(default_factory=list)
    params: dict[str, Any] | None = None
    pooling_type: int | None = None
    context_length: int = 4096
    embedding_length: int = 8


@dataclass
class Built:
    """A recipe turned into registry blobs: the manifest bytes and where each blob lives."""

    manifest: bytes
    layers: list[dict[str, Any]]  # in pull order: the layers, then the config
    files: dict[str, Path]  # digest -> file in the registry directory


def default_recipes() -> list[Recipe]:
    llama_license = "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\n(test double copy)"
    return [
        Recipe(
            "llama3.2:latest",
            "llama",
            "3.2B",
            template=LLAMA32_TEMPLATE,
            licenses=[llama_license, "Llama 3.2 Acceptable Use Policy\n(test double copy)"],
            params={"stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]},
            context_length=131072,
            embedding_length=3072,
        ),
        Recipe(
            "all-minilm:latest",
            "bert",
            "23M",
            file_type=1,
            pooling_type=1,
            context_length=512,
            embedding_length=384,
            licenses=["Apache License 2.0 (test double copy)"],
        ),
        Recipe(
            "qwen3:latest",
            "qwen3",
            "8.2B",
            template=QWEN3_TEMPLATE,
            params={
                "repeat_penalty": 1,
                "stop": ["<|im_start|>", "<|im_end|>"],
                "temperature": 0.6,
                "top_k": 20,
                "top_p": 0.95,
            },
            context_length=40960,
            embedding_length=4096,
        ),
        Recipe(
            "gemma2:2b",
            "gemma2",
            "2.6B",
            file_type=2,
            template=GEMMA2_TEMPLATE,
            params={"stop": ["<start_of_turn>", "<end_of_turn>"]},
            context_length=8192,
            embedding_length=2304,
        ),
        Recipe(
            "tinyllama:latest",
            "llama",
            "1B",
            file_type=2,
            template=TINYLLAMA_TEMPLATE,
            system="You are a helpful AI assistant.",
            params={"stop": ["<|system|>", "<|user|>", "<|assistant|>", "</s>"]},
            context_length=2048,
            embedding_length=2048,
        ),
        Recipe(
            "library/smollm:135m",
            "llama",
            "135M",
            file_type=2,
            template=TINYLLAMA_TEMPLATE,
            context_length=2048,
            embedding_length=576,
        ),
        Recipe(
            "nomic-embed-text:latest",
            "nomic-bert",
            "137M",
            file_type=1,
            pooling_type=1,
            context_length=2048,
            embedding_length=768,
        ),
        Recipe(
            "codellama:7b-code",
            "llama",
            "7B",
            file_type=2,
            template=CODE_TEMPLATE,
            context_length=16384,
            embedding_length=4096,
        ),
        Recipe(
            "mistral:7b",
            "llama",
            "7.2B",
            template="[INST] {{ .Prompt }} [/INST]",
            params={"stop": ["[INST]", "[/INST]"]},
            context_length=32768,
            embedding_length=4096,
        ),
    ]


SEEDED = ("llama3.2:latest", "all-minilm:latest", "qwen3:latest", "gemma2:2b")


_shared_lock = threading.Lock()
_shared_built: dict[str, Built] = {}
_shared_dir: Path | None = None


def _registry_dir() -> Path:
    """One directory per process for generated blobs: every double reuses them (immutable)."""
    global _shared_dir
    if _shared_dir is None:
        _shared_dir = Path(tempfile.mkdtemp(prefix="ollama-double-registry-"))
        atexit.register(shutil.rmtree, _shared_dir, True)
    return _shared_dir


class Catalogue:
    """Pullable models by name (matched case-insensitively); tests may add, resize or remove."""

    def __init__(self) -> None:
        self.registry_dir = _registry_dir()
        self._lock = threading.Lock()
        self._recipes: dict[tuple[str, str, str, str], Recipe] = {}
        self._built: dict[tuple[str, str, str, str], Built] = {}
        self.pushed: set[str] = set()  # digests the registry received by push
        for recipe in default_recipes():
            self.put(recipe)

    def put(self, recipe: Recipe) -> None:
        key = Name.parse(recipe.name).key
        with self._lock:
            self._recipes[key] = recipe
            self._built.pop(key, None)

    def add(
        self,
        name: str,
        *,
        arch: str = "llama",
        model_size: int = 16 * 1024,
        parameter_size: str = "1B",
        **kwargs: Any,
    ) -> Recipe:
        """Add (or replace) a pullable model; `model_size` sets the model layer's byte size."""
        recipe = Recipe(name, arch, parameter_size, model_size=model_size, **kwargs)
        self.put(recipe)
        return recipe

    def set_model_size(self, name: str, size: int) -> None:
        recipe = self.get(Name.parse(name))
        if recipe is None:
            raise KeyError(name)
        recipe.model_size = size
        self.put(recipe)

    def remove(self, name: str) -> None:
        key = Name.parse(name).key
        with self._lock:
            self._recipes.pop(key, None)
            self._built.pop(key, None)

    def names(self) -> list[str]:
        with self._lock:
            return [Name.parse(r.name).display_shortest() for r in self._recipes.values()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(Name.parse(name)) is not None

    def get(self, name: Name) -> Recipe | None:
        with self._lock:
            return self._recipes.get(name.key)

    def has_blob(self, digest: str) -> bool:
        if digest in self.pushed:
            return True
        with self._lock:
            return any(digest in b.files for b in self._built.values())

    def build(self, name: Name) -> Built | None:
        """The registry blobs for `name`, generated on first use."""
        recipe = self.get(name)
        if recipe is None:
            return None
        with self._lock:
            built = self._built.get(name.key)
        if built is None:
            key = repr(recipe)
            with _shared_lock:
                built = _shared_built.get(key)
                if built is None:
                    built = self._generate(recipe)
                    _shared_built[key] = built
            with self._lock:
                self._built[name.key] = built
        return built

    def _write(self, files: dict[str, Path], data: bytes) -> tuple[str, int]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.registry_dir / digest.replace(":", "-")
        if not path.exists():
            path.write_bytes(data)
        files[digest] = path
        return digest, len(data)

    def _generate(self, recipe: Recipe) -> Built:
        files: dict[str, Path] = {}
        display = Name.parse(recipe.name).display_shortest()
        tmp = self.registry_dir / f"build-{hashlib.sha256(display.encode()).hexdigest()[:16]}.gguf"
        spec = ModelSpec(
            arch=recipe.arch,
            name=display,
            context_length=recipe.context_length,
            embedding_length=recipe.embedding_length,
            file_type=recipe.file_type,
            pooling_type=recipe.pooling_type,
            filler_bytes=max(0, recipe.model_size - 2048),
        )
        write_model(tmp, spec)
        digest = _sha256_file(tmp)
        model_path = self.registry_dir / digest.replace(":", "-")
        tmp.replace(model_path)
        files[digest] = model_path
        layers = [layer(MEDIA_MODEL, digest, model_path.stat().st_size)]
        if recipe.template is not None:
            layers.append(layer(MEDIA_TEMPLATE, *self._write(files, recipe.template.encode())))
        if recipe.system:
            layers.append(layer(MEDIA_SYSTEM, *self._write(files, recipe.system.encode())))
        for text in recipe.licenses:
            layers.append(layer(MEDIA_LICENSE, *self._write(files, text.encode())))
        if recipe.params:
            params = dict(sorted(recipe.params.items()))
            layers.append(layer(MEDIA_PARAMS, *self._write(files, gojson.encode_line(params))))
        config = {
            "model_format": "gguf",
            "model_family": recipe.arch,
            "model_families": [recipe.arch],
            "model_type": recipe.parameter_size,
            "file_type": FILE_TYPES.get(recipe.file_type, "unknown"),
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [x["digest"] for x in layers]},
        }
        cdigest, csize = self._write(files, gojson.encode_line(config))
        config_layer = layer(MEDIA_CONFIG, cdigest, csize)
        manifest = gojson.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MEDIA_MANIFEST,
                "config": config_layer,
                "layers": layers,
            }
        )
        return Built(manifest, [*layers, config_layer], files)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()
