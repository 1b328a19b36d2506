"""Adapters recognised and checked from headers alone, on files the reference libraries wrote."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from tests.adapter_factories import (
    HIDDEN,
    adapter_config,
    lora_tensors,
    write_config,
    write_gguf,
    write_mlx_dir,
    write_peft_dir,
)
from tools.errors import (
    AdapterBaseMismatch,
    GGUFFormatError,
    InvalidAdapter,
    OutsideAllowedRoots,
    SafetensorsFormatError,
)
from tools.local.adapter_base import BaseModelFacts, check_base, guess_architecture
from tools.local.adapter_summary import AdapterLayout
from tools.local.adapters import inspect_adapter
from tools.local.gguf_reader import read_gguf_header
from tools.local.path_gate import AllowedRoots
from tools.local.safetensors_reader import read_safetensors_header

LLAMA = BaseModelFacts(
    name="llama3.2:latest",
    architecture="llama",
    embedding_length=HIDDEN,
    capabilities=("completion",),
)


@pytest.fixture
def gate(tmp_path: Path) -> AllowedRoots:
    return AllowedRoots([tmp_path])


# --- accepted layouts ---------------------------------------------------------------------


def test_a_peft_directory_is_recognised(tmp_path: Path, gate: AllowedRoots) -> None:
    folder = write_peft_dir(tmp_path / "peft")
    info = inspect_adapter(folder, allowed=gate)
    assert info.layout is AdapterLayout.PEFT_DIRECTORY
    assert [(f.key, f.path) for f in info.files] == [
        ("adapter_config.json", folder.resolve() / "adapter_config.json"),
        ("adapter_model.safetensors", folder.resolve() / "adapter_model.safetensors"),
    ]
    assert (info.rank, info.alpha, info.lora_pairs, info.hidden_size) == (4, 16.0, 4, HIDDEN)
    assert info.target_modules == ["q_proj", "v_proj"]
    assert info.base_model_name_or_path == "meta-llama/Llama-3.2-1B-Instruct"
    assert info.needs_conversion and info.warnings == ()


def test_a_safetensors_file_with_its_config_beside_it(tmp_path: Path, gate: AllowedRoots) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    save_file(lora_tensors(), str(folder / "checkpoint-500.safetensors"))
    write_config(folder)
    info = inspect_adapter(folder / "checkpoint-500.safetensors", allowed=gate)
    assert info.layout is AdapterLayout.SAFETENSORS_FILE
    assert [f.key for f in info.files] == ["adapter_config.json", "checkpoint-500.safetensors"]


def test_a_symlinked_weights_file_keeps_its_given_name_as_key(
    tmp_path: Path, gate: AllowedRoots
) -> None:
    """A hub cache's snapshot links to blobs with hashed names; Ollama needs `.safetensors`."""
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    save_file(lora_tensors(), str(blobs / "9f2c1e"))
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "adapter_model.safetensors").symlink_to(blobs / "9f2c1e")
    write_config(snapshot)
    info = inspect_adapter(snapshot, allowed=gate)
    assert info.files[1].key == "adapter_model.safetensors"
    assert info.files[1].path == (blobs / "9f2c1e").resolve()


def test_an_mlx_adapter_directory(tmp_path: Path, gate: AllowedRoots) -> None:
    info = inspect_adapter(write_mlx_dir(tmp_path / "mlx"), allowed=gate)
    assert [f.key for f in info.files] == ["adapter_config.json", "adapters.safetensors"]
    assert (info.rank, info.alpha, info.lora_pairs, info.hidden_size) == (4, 16.0, 2, HIDDEN)


def test_a_gguf_lora(tmp_path: Path, gate: AllowedRoots) -> None:
    info = inspect_adapter(write_gguf(tmp_path / "lora.gguf", alpha=32.0), allowed=gate)
    assert info.layout is AdapterLayout.GGUF_FILE
    assert (info.architecture, info.alpha, info.lora_pairs) == ("llama", 32.0, 4)
    assert [f.key for f in info.files] == ["lora.gguf"]
    assert not info.needs_conversion


def test_a_gguf_lora_without_the_extension_gets_a_gguf_key(
    tmp_path: Path, gate: AllowedRoots
) -> None:
    info = inspect_adapter(write_gguf(tmp_path / "lora.safetensors"), allowed=gate)
    assert info.files[0].key == "lora.safetensors.gguf"


# --- refusals -------------------------------------------------------------------------------


def test_a_directory_without_adapter_config_json(tmp_path: Path, gate: AllowedRoots) -> None:
    folder = write_peft_dir(tmp_path / "peft")
    (folder / "adapter_config.json").unlink()
    with pytest.raises(InvalidAdapter) as caught:
        inspect_adapter(folder, allowed=gate)
    assert str(caught.value) == (
        f"{folder}: the directory has no adapter_config.json; a PEFT LoRA adapter directory holds "
        "adapter_config.json and adapter_model.safetensors (written by PEFT's save_pretrained)"
    )


def test_a_safetensors_file_without_config_beside_it(tmp_path: Path, gate: AllowedRoots) -> None:
    weights = tmp_path / "adapter_model.safetensors"
    save_file(lora_tensors(), str(weights))
    with pytest.raises(InvalidAdapter) as caught:
        inspect_adapter(weights, allowed=gate)
    assert str(caught.value) == (
        f"{weights}: no adapter_config.json beside adapter_model.safetensors; Ollama needs the "
        "adapter's adapter_config.json (it reads lora_alpha from it) next to the weights"
    )


def test_a_pickle_adapter_is_refused(tmp_path: Path, gate: AllowedRoots) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    write_config(folder)
    (folder / "adapter_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(InvalidAdapter, match=r"adapter_model\.bin: PyTorch \.bin \(pickle\)"):
        inspect_adapter(folder, allowed=gate)


def test_a_gguf_model_is_not_an_adapter(tmp_path: Path, gate: AllowedRoots) -> None:
    model = write_gguf(tmp_path / "model.gguf", kind="model", adapter_type=None)
    with pytest.raises(InvalidAdapter) as caught:
        inspect_adapter(model, allowed=gate)
    assert str(caught.value) == (
        f"{model}: this GGUF is a model, not an adapter (general.type is 'model')"
    )
    untyped = write_gguf(tmp_path / "old.gguf", kind=None, adapter_type=None)
    with pytest.raises(
        InvalidAdapter, match=r"is a model, not an adapter \(it has no general.type\)"
    ):
        inspect_adapter(untyped, allowed=gate)


def test_a_gguf_control_vector_is_not_a_lora(tmp_path: Path, gate: AllowedRoots) -> None:
    path = write_gguf(tmp_path / "cv.gguf", adapter_type="control_vector")
    with pytest.raises(InvalidAdapter, match=r"not a LoRA \(adapter.type is 'control_vector'\)"):
        inspect_adapter(path, allowed=gate)


def test_a_float_lora_alpha_is_refused_with_the_reason(tmp_path: Path, gate: AllowedRoots) -> None:
    folder = write_peft_dir(tmp_path / "peft", config=adapter_config(lora_alpha=16.0))
    with pytest.raises(InvalidAdapter) as caught:
        inspect_adapter(folder, allowed=gate)
    assert str(caught.value) == (
        f"{folder.resolve() / 'adapter_config.json'}: lora_alpha is 16.0, written with a decimal "
        "point; Ollama reads lora_alpha as an unsigned integer and rejects it (json: cannot "
        "unmarshal number 16.0 into uint32); write 16 instead"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"peft_type": "LOHA"}, "peft_type is 'LOHA', not 'LORA'; Ollama only takes LoRA adapters"),
        ({"peft_type": None}, 'does not say it is a LoRA adapter: no "peft_type"'),
        ({"lora_alpha": 16.5}, "lora_alpha must be a whole number from 0 to 4294967295, not 16.5"),
        ({"lora_alpha": -1}, "lora_alpha must be a whole number from 0 to 4294967295, not -1"),
        ({"lora_alpha": "16"}, "lora_alpha must be a whole number from 0 to 4294967295, not '16'"),
        ({"r": 0}, "r (the LoRA rank) must be a positive integer, not 0"),
    ],
)
def test_bad_adapter_configs(
    tmp_path: Path, gate: AllowedRoots, overrides: dict[str, object], message: str
) -> None:
    config = adapter_config(**overrides)
    config = {k: v for k, v in config.items() if v is not None}
    folder = write_peft_dir(tmp_path / "peft", config=config)
    with pytest.raises(InvalidAdapter) as caught:
        inspect_adapter(folder, allowed=gate)
    assert message in str(caught.value)


def test_an_adapter_config_that_is_not_json(tmp_path: Path, gate: AllowedRoots) -> None:
    folder = write_peft_dir(tmp_path / "peft")
    write_config(folder, raw="{not json")
    with pytest.raises(InvalidAdapter, match=r"adapter_config\.json: not valid JSON"):
        inspect_adapter(folder, allowed=gate)


def test_a_full_model_safetensors_is_not_an_adapter(tmp_path: Path, gate: AllowedRoots) -> None:
    weights = {"model.layers.0.self_attn.q_proj.weight": np.zeros((HIDDEN, HIDDEN), np.float16)}
    folder = write_peft_dir(tmp_path / "peft", tensors=weights)
    with pytest.raises(InvalidAdapter, match="holds no LoRA weights: no tensor name contains"):
        inspect_adapter(folder, allowed=gate)


def test_unpaired_lora_weights_are_refused(tmp_path: Path, gate: AllowedRoots) -> None:
    weights = lora_tensors()
    del weights["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"]
    folder = write_peft_dir(tmp_path / "peft", tensors=weights)
    with pytest.raises(InvalidAdapter, match="not in lora_A/lora_B pairs"):
        inspect_adapter(folder, allowed=gate)


def test_an_integer_dtype_cannot_be_converted(tmp_path: Path, gate: AllowedRoots) -> None:
    weights = {k: v.astype(np.int8) for k, v in lora_tensors().items()}
    folder = write_peft_dir(tmp_path / "peft", tensors=weights)
    with pytest.raises(
        InvalidAdapter, match="has dtype I8; Ollama converts only F32, F16 and BF16"
    ):
        inspect_adapter(folder, allowed=gate)


def test_extra_tensors_and_dora_only_warn(tmp_path: Path, gate: AllowedRoots) -> None:
    weights = lora_tensors()
    weights["base_model.model.lm_head.weight"] = np.zeros((8, HIDDEN), np.float16)
    config = adapter_config(use_dora=True)
    info = inspect_adapter(
        write_peft_dir(tmp_path / "p", tensors=weights, config=config), allowed=gate
    )
    assert len(info.warnings) == 2
    assert "DoRA" in info.warnings[0]
    assert (
        "1 tensor(s) are not LoRA weights (e.g. 'base_model.model.lm_head.weight')"
        in info.warnings[1]
    )


def test_a_missing_path_is_file_not_found(tmp_path: Path, gate: AllowedRoots) -> None:
    with pytest.raises(FileNotFoundError):
        inspect_adapter(tmp_path / "nope", allowed=gate)


def test_an_adapter_outside_the_roots_is_refused(tmp_path: Path) -> None:
    folder = write_peft_dir(tmp_path / "peft")
    with pytest.raises(OutsideAllowedRoots):
        inspect_adapter(folder, allowed=AllowedRoots([tmp_path / "elsewhere"]))


def test_a_config_that_links_outside_the_roots_is_refused(tmp_path: Path) -> None:
    inside = write_peft_dir(tmp_path / "inside" / "peft")
    outside = tmp_path / "outside"
    outside.mkdir()
    (inside / "adapter_config.json").rename(outside / "adapter_config.json")
    (inside / "adapter_config.json").symlink_to(outside / "adapter_config.json")
    with pytest.raises(OutsideAllowedRoots):
        inspect_adapter(inside, allowed=AllowedRoots([tmp_path / "inside"]))


# --- base model fit -------------------------------------------------------------------------


def test_safetensors_adapters_fit_only_llama_and_gemma2_bases(
    tmp_path: Path, gate: AllowedRoots
) -> None:
    info = inspect_adapter(write_peft_dir(tmp_path / "peft"), allowed=gate)
    assert check_base(info, LLAMA) == []
    gemma = BaseModelFacts(name="gemma2:2b", architecture="gemma2", capabilities=("completion",))
    assert (
        "was trained on 'meta-llama/Llama-3.2-1B-Instruct' (a llama model)"
        in check_base(info, gemma)[0]
    )
    qwen = BaseModelFacts(name="qwen2.5:0.5b", architecture="qwen2", capabilities=("completion",))
    with pytest.raises(AdapterBaseMismatch) as caught:
        check_base(info, qwen)
    assert str(caught.value) == (
        "base model 'qwen2.5:0.5b' has architecture 'qwen2'; Ollama converts safetensors LoRA "
        "adapters only onto 'llama' or 'gemma2' bases; pick such a base, or convert the adapter "
        "to GGUF first (llama.cpp convert_lora_to_gguf.py)"
    )


def test_an_embedding_base_cannot_take_an_adapter(tmp_path: Path, gate: AllowedRoots) -> None:
    info = inspect_adapter(write_peft_dir(tmp_path / "peft"), allowed=gate)
    bert = BaseModelFacts(
        name="all-minilm:latest", architecture="bert", capabilities=("embedding",)
    )
    with pytest.raises(AdapterBaseMismatch) as caught:
        check_base(info, bert)
    assert str(caught.value) == (
        "base model 'all-minilm:latest' cannot generate text (capabilities: embedding); "
        "a LoRA adapter needs a completion model"
    )


def test_a_gguf_adapter_must_match_the_base_architecture(
    tmp_path: Path, gate: AllowedRoots
) -> None:
    info = inspect_adapter(write_gguf(tmp_path / "a.gguf", arch="qwen2"), allowed=gate)
    qwen = BaseModelFacts(name="qwen2.5:0.5b", architecture="qwen2", capabilities=("completion",))
    assert check_base(info, qwen) == []  # no conversion, so any matching architecture is fine
    with pytest.raises(AdapterBaseMismatch) as caught:
        check_base(info, LLAMA)
    assert str(caught.value) == (
        "the GGUF adapter was made for architecture 'qwen2' but base model 'llama3.2:latest' "
        "is 'llama'"
    )


def test_a_hidden_size_mismatch_is_refused(tmp_path: Path, gate: AllowedRoots) -> None:
    info = inspect_adapter(write_peft_dir(tmp_path / "peft", hidden=32), allowed=gate)
    with pytest.raises(AdapterBaseMismatch, match="inputs of size 32 but base model"):
        check_base(info, LLAMA)


@pytest.mark.parametrize(
    ("hub_id", "arch"),
    [
        ("meta-llama/Llama-3.2-1B-Instruct", "llama"),
        ("mistralai/Mistral-7B-v0.1", "llama"),
        ("google/gemma-2-2b-it", "gemma2"),
        ("Qwen/Qwen2.5-0.5B", "qwen2"),
        ("/home/me/checkpoints/base", None),
    ],
)
def test_architecture_guess_from_hub_ids(hub_id: str, arch: str | None) -> None:
    assert guess_architecture(hub_id) == arch


# --- the header readers against the reference libraries -------------------------------------


def test_safetensors_header_matches_the_reference_reader(tmp_path: Path) -> None:
    path = tmp_path / "x.safetensors"
    tensors = lora_tensors()
    save_file(tensors, str(path), metadata={"format": "pt"})
    header = read_safetensors_header(path)
    assert header.metadata == {"format": "pt"}
    loaded = load_file(str(path))
    assert {n: (t.dtype, t.shape) for n, t in header.tensors.items()} == {
        n: ("F16", tuple(a.shape)) for n, a in loaded.items()
    }


def _corrupt(path: Path, header: dict[str, object], data: bytes, pad: int = 0) -> Path:
    raw = json.dumps(header).encode() + b" " * pad
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


@pytest.mark.parametrize(
    ("header", "data", "problem"),
    [
        (
            {
                "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]},
            },
            b"\0" * 12,
            "invalid offset for tensor b",
        ),
        (
            {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
            b"\0" * 8,
            "invalid shape, data type, or offset",
        ),
        (
            {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
            b"\0" * 8,
            "incomplete metadata, file not fully covered",
        ),
        ({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 1]}}, b"\0", "unknown data type"),
        ({"__metadata__": {"n": 1}}, b"", "__metadata__ must map strings to strings"),
    ],
)
def test_bad_safetensors_are_refused_like_the_reference(
    tmp_path: Path, header: dict[str, object], data: bytes, problem: str
) -> None:
    path = _corrupt(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(SafetensorsFormatError, match=problem):
        read_safetensors_header(path)
    with pytest.raises((SafetensorError, ValueError)):
        load_file(str(path))


def test_truncated_and_tiny_safetensors(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.safetensors"
    tiny.write_bytes(b"\x01\x02")
    with pytest.raises(SafetensorsFormatError, match="header too small"):
        read_safetensors_header(tiny)
    long = tmp_path / "long.safetensors"
    long.write_bytes(struct.pack("<Q", 1000) + b"{}")
    with pytest.raises(SafetensorsFormatError, match="invalid header length"):
        read_safetensors_header(long)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 200_000_000) + b"{}")
    with pytest.raises(SafetensorsFormatError, match="header too large"):
        read_safetensors_header(huge)


def test_gguf_header_reads_scalars_and_skips_arrays(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", kind="model", adapter_type=None)
    header = read_gguf_header(path)
    assert header.version == 3 and header.tensor_count == 4
    assert header.metadata == {
        "general.architecture": "llama",
        "general.type": "model",
        "llama.embedding_length": HIDDEN,
    }
    assert header.array_lengths == {"tokenizer.ggml.tokens": 3}


def test_gguf_reading_stops_once_the_wanted_keys_are_seen(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", kind="model", adapter_type=None)
    header = read_gguf_header(path, wanted=("general.architecture",))
    assert header.metadata == {"general.architecture": "llama"} and not header.complete


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"GGML" + b"\0" * 20, "not a GGUF file"),
        (b"GGUF" + struct.pack("<I", 7) + b"\0" * 16, "unsupported GGUF version 7"),
        (
            b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 10**12),
            "longer than the file",
        ),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 10**15), "metadata count"),
        (b"GGUF" + struct.pack("<IQ", 3, 0), "truncated header"),
    ],
)
def test_bad_gguf_headers(tmp_path: Path, data: bytes, problem: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(data)
    with pytest.raises(GGUFFormatError, match=problem):
        read_gguf_header(path)


def test_gguf_version_1_counts_in_32_bits_and_ends_strings_in_nul(tmp_path: Path) -> None:
    def text(value: str) -> bytes:
        raw = value.encode() + b"\0"
        return struct.pack("<Q", len(raw)) + raw

    body = b"GGUF" + struct.pack("<III", 1, 0, 2)
    body += text("general.architecture") + struct.pack("<I", 8) + text("llama")
    body += text("llama.context_length") + struct.pack("<II", 4, 2048)
    path = tmp_path / "old.gguf"
    path.write_bytes(body)
    header = read_gguf_header(path)
    assert header.version == 1
    assert header.metadata == {"general.architecture": "llama", "llama.context_length": 2048}


def test_gguf_reading_stops_before_the_key_the_caller_names(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "model.gguf", kind="model", adapter_type=None)
    header = read_gguf_header(path, stop_before=lambda key, _seen: key.startswith("tokenizer."))
    assert not header.complete
    assert header.string("general.architecture") == "llama"
    assert not any(key.startswith("tokenizer.") for key in header.metadata)
