"""`to_create_request`: a Modelfile and the files it names turned into `/api/create` JSON plus
the uploads, by the `ollama create` rules of contract 5.5, on real files in temp folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tools.errors import (
    AdapterFormatError,
    ContentTypeError,
    CreatePlanError,
    InsecurePathError,
    ModelfileError,
    NoModelFilesError,
    NotARegularFile,
    ParameterError,
)
from tools.modelfile.create_plan import CreatePlan, PlannedUpload, expand_path, to_create_request
from tools.modelfile.document import ModelfileMessage
from tools.modelfile.parameters import DeprecatedParameterWarning

GGUF = b"GGUF\x03\x00\x00\x00" + bytes(24)  # magic, version 3: sniffed as binary, like a real one
ZIP = b"PK\x03\x04" + bytes(16)
JSON = b'{"architectures": ["LlamaForCausalLM"]}'


class Gate:
    """A `readable` gate that records every path and allows only files under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.calls: list[Path] = []

    def __call__(self, path: Path) -> Path:
        self.calls.append(path)
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(self.root):
            raise PermissionError(f"refusing to read {str(path)!r}")
        if not real.is_file():
            raise FileNotFoundError(f"no such file: {str(path)!r}")
        return real


def write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def plan_for(text: str, folder: Path, gate: Gate | None = None) -> CreatePlan:
    return to_create_request(text, folder, readable=gate or Gate(folder))


def uploads(plan: CreatePlan) -> set[tuple[str, str]]:
    return {(u.section, u.key) for u in plan.uploads}


def fake_digests(plan: CreatePlan) -> dict[Path, str]:
    return {u.path: f"sha256:{u.key}" for u in plan.uploads}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path.resolve()


# --- upstream TestCreateRequest -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("FROM test", {"from": "test"}),
        ("FROM test\nTEMPLATE some template\n", {"from": "test", "template": "some template"}),
        (
            "FROM test\nLICENSE single license\nPARAMETER temperature 0.5\nMESSAGE user Hello\n",
            {
                "from": "test",
                "license": ["single license"],
                "parameters": {"temperature": 0.5},
                "messages": [{"role": "user", "content": "Hello"}],
            },
        ),
        (
            "FROM test\nPARAMETER temperature 0.5\nPARAMETER top_k 1\nSYSTEM You are a bot.\n"
            "LICENSE license1\nLICENSE license2\nMESSAGE user Hello there!\n"
            "MESSAGE assistant Hi! How are you?\n",
            {
                "from": "test",
                "license": ["license1", "license2"],
                "system": "You are a bot.",
                "parameters": {"temperature": 0.5, "top_k": 1},
                "messages": [
                    {"role": "user", "content": "Hello there!"},
                    {"role": "assistant", "content": "Hi! How are you?"},
                ],
            },
        ),
    ],
)
def test_upstream_create_requests(text: str, body: dict[str, object], folder: Path) -> None:
    plan = plan_for(text, folder)
    assert plan.uploads == ()
    assert plan.request_body({}) == body


def test_the_plan_fields(folder: Path) -> None:
    plan = plan_for(
        "FROM a\nSYSTEM one\nSYSTEM two\nTEMPLATE t1\nTEMPLATE t2\nRENDERER r1\nRENDERER r2\n"
        "PARSER p1\nPARSER p2\nREQUIRES v0.14.0\nPARAMETER stop x\nPARAMETER stop y\n"
        "MESSAGE system be kind\nFROM b\n",
        folder,
    )
    assert plan == CreatePlan(
        from_model="b",
        template="t2",
        system="two",
        parameters={"stop": ["x", "y"]},
        messages=(ModelfileMessage("system", "be kind"),),
        renderer="r2",
        parser="p2",
        requires="0.14.0",
    )
    assert json.loads(json.dumps(plan.request_body({}))) == {
        "from": "b",
        "template": "t2",
        "system": "two",
        "parameters": {"stop": ["x", "y"]},
        "messages": [{"role": "system", "content": "be kind"}],
        "renderer": "r2",
        "parser": "p2",
        "requires": "0.14.0",
    }


def test_empty_texts_are_left_out_as_go_leaves_them_out(folder: Path) -> None:
    plan = plan_for('FROM a\nSYSTEM "x"\nSYSTEM ""\nLICENSE ""\n', folder)
    assert plan.request_body({}) == {"from": "a", "license": [""]}


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("0.14.0", "0.14.0"),
        ("v0.14.0", "0.14.0"),
        ("0.14", "0.14"),
        ("1", "1"),
        ("1.2.3-rc.1+build.05", "1.2.3-rc.1+build.05"),
        ("0.0.0-0A-.x", "0.0.0-0A-.x"),
    ],
)
def test_requires_is_semver(written: str, sent: str, folder: Path) -> None:
    assert plan_for(f"FROM a\nREQUIRES {written}\n", folder).requires == sent


@pytest.mark.parametrize(
    "written",
    ["latest", "01.2.3", "0.14.0.1", '""', "V1.0.0", "1.2-rc1", "1.2.3-01", "1.2.3+", "vv1"],
)
def test_requires_that_is_not_semver(written: str, folder: Path) -> None:
    with pytest.raises(CreatePlanError) as caught:
        plan_for(f"FROM a\nREQUIRES {written}\n", folder)
    assert str(caught.value) == "requires must be a valid semver (e.g. 0.14.0)"


def test_parameters_are_typed_and_checked(folder: Path) -> None:
    with pytest.warns(DeprecatedParameterWarning):
        plan = plan_for("FROM a\nPARAMETER mirostat 2\nPARAMETER use_mmap True\n", folder)
    assert plan.parameters == {"use_mmap": True}
    assert plan.warnings == ("parameter mirostat is deprecated",)
    with pytest.raises(ParameterError, match=r"^unknown parameter 'numa'$"):
        plan_for("FROM a\nPARAMETER numa true\n", folder)


def test_modelfile_errors_come_from_the_parser(folder: Path) -> None:
    with pytest.raises(ModelfileError, match=r"^no FROM line$"):
        to_create_request(b"SYSTEM x\n", folder, readable=Gate(folder))


# --- FROM -------------------------------------------------------------------------------------


def test_from_a_gguf_file(folder: Path) -> None:
    model = write(folder / "weights" / "model.gguf", GGUF)
    gate = Gate(folder)
    plan = plan_for("FROM ./weights/model.gguf\n", folder, gate)
    assert plan.from_model is None
    assert plan.uploads == (PlannedUpload("model.gguf", model, "files"),)
    assert plan.request_body({model: "sha256:abc"}) == {"files": {"model.gguf": "sha256:abc"}}
    assert gate.calls == [model]


def test_a_path_that_does_not_exist_is_a_model_name(folder: Path) -> None:
    plan = plan_for("FROM ./missing.gguf\n", folder)
    assert plan.from_model == "./missing.gguf"
    assert plan.uploads == ()


def test_a_file_shadows_a_model_of_the_same_name(folder: Path) -> None:  # ollama#4538
    write(folder / "llama3", GGUF)
    plan = plan_for("FROM llama3\n", folder)
    assert plan.from_model is None
    assert uploads(plan) == {("files", "llama3")}


def test_several_from_files_are_named_below_their_common_folder(folder: Path) -> None:
    first = write(folder / "split" / "a" / "part-1.gguf", GGUF)
    second = write(folder / "split" / "b" / "part-2.gguf", GGUF)
    plan = plan_for("FROM split/a/part-1.gguf\nFROM split/b/part-2.gguf\n", folder)
    assert plan.uploads == (
        PlannedUpload("a/part-1.gguf", first, "files"),
        PlannedUpload("b/part-2.gguf", second, "files"),
    )


def test_home_expands(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(folder))
    model = write(folder / "m.gguf", GGUF)
    plan = to_create_request("FROM ~/m.gguf\n", "/", readable=Gate(folder))
    assert plan.uploads == (PlannedUpload("m.gguf", model, "files"),)
    assert expand_path("~", Path("/x")) == folder


def test_an_unknown_user_home(folder: Path) -> None:
    with pytest.raises(CreatePlanError, match=r"^failed to find user 'no-such-user-here'$"):
        plan_for("FROM ~no-such-user-here/m.gguf\n", folder)


def test_paths_resolve_against_the_modelfile_folder(folder: Path) -> None:
    model = write(folder / "m.gguf", GGUF)
    sub = folder / "sub"
    sub.mkdir()
    plan = to_create_request("FROM ../m.gguf\n", sub, readable=Gate(folder))
    assert plan.uploads == (PlannedUpload("m.gguf", model, "files"),)
    absolute = to_create_request(f"FROM {model}\n", "/", readable=Gate(folder))
    assert absolute.uploads == plan.uploads


def test_a_safetensors_model_folder(folder: Path) -> None:  # TestFilesForModel cases
    model = folder / "model"
    for name in [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "consolidated.safetensors",
        "2_Dense/model.safetensors",
    ]:
        write(model / name)
    for name in ["config.json", "tokenizer.json", "2_Dense/config.json", "chat_template.jinja"]:
        write(model / name, JSON)
    write(model / "tokenizer.model", bytes(range(256)) * 2)
    write(model / "README.md", b"# not uploaded")
    gate = Gate(folder)
    plan = plan_for("FROM ./model\n", folder, gate)
    keys = {
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "2_Dense/model.safetensors",
        "config.json",
        "tokenizer.json",
        "2_Dense/config.json",
        "chat_template.jinja",
        "tokenizer.model",
    }
    assert uploads(plan) == {("files", key) for key in keys}
    assert {u.path for u in plan.uploads} == {model / key for key in keys}
    assert set(gate.calls) == {model / key for key in keys}
    assert set(plan.request_body(fake_digests(plan))["files"]) == keys


@pytest.mark.parametrize(
    ("files", "keys"),
    [
        ({"consolidated.safetensors": b"x", "config.json": JSON}, {"consolidated.safetensors"}),
        (
            {"pytorch_model-00001-of-00002.bin": ZIP, "pytorch_model-00002-of-00002.bin": ZIP},
            {"pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"},
        ),
        (
            {"consolidated.00.pth": ZIP, "consolidated.01.pth": ZIP},
            {"consolidated.00.pth", "consolidated.01.pth"},
        ),
        ({"model.gguf": GGUF, "config.json": JSON}, {"model.gguf"}),
        ({"model.bin": GGUF}, {"model.bin"}),
        # A text file (an unfetched git-lfs pointer, say) does not count as weights.
        ({"pytorch_model.bin": b"version https://git-lfs", "model.gguf": GGUF}, {"model.gguf"}),
        ({"a.gguf": GGUF, "b.gguf": b"text", "model.bin": GGUF}, {"model.bin"}),
    ],
)
def test_model_folder_weight_rules(files: dict[str, bytes], keys: set[str], folder: Path) -> None:
    for name, data in files.items():
        write(folder / "m" / name, data)
    names = {u.key for u in plan_for("FROM m\n", folder).uploads}
    expected_json = {"config.json"} if "config.json" in files else set()
    assert names == keys | expected_json


@pytest.mark.parametrize(
    "files",
    [
        {"README.md": b"x", "config.json": JSON},
        {"pytorch_model.bin": b"plain text content", "config.json": JSON},
        {},
    ],
)
def test_a_folder_without_weights(files: dict[str, bytes], folder: Path) -> None:
    (folder / "m").mkdir()
    for name, data in files.items():
        write(folder / "m" / name, data)
    with pytest.raises(NoModelFilesError) as caught:
        plan_for("FROM m\n", folder)
    assert str(caught.value).startswith("no Modelfile or safetensors files found in ")


def test_a_json_file_that_is_not_text(folder: Path) -> None:
    write(folder / "m" / "model.gguf", GGUF)
    write(folder / "m" / "config.json", b"\x00\x01binary")
    with pytest.raises(ContentTypeError, match="is application/octet-stream, expected text/plain"):
        plan_for("FROM m\n", folder)


def test_a_symlink_out_of_the_folder_is_insecure(folder: Path) -> None:
    outside = write(folder / ".cache" / "blobs" / "abc", b"x")
    write(folder / "snapshot" / "config.json", JSON)
    (folder / "snapshot" / "model.safetensors").symlink_to(outside)
    with pytest.raises(InsecurePathError) as caught:
        plan_for("FROM snapshot\n", folder)
    assert str(caught.value).startswith("insecure path: ../.cache/blobs/abc\n\nUse --local-dir")


def test_a_subfolder_symlinked_out_is_refused_before_it_is_listed(folder: Path) -> None:
    outside = write(folder / "outside" / "private_keys.json", JSON).parent
    write(folder / "m" / "model.gguf", GGUF)
    (folder / "m" / "sub").symlink_to(outside, target_is_directory=True)
    gate = Gate(folder / "m")
    with pytest.raises(InsecurePathError) as caught:
        plan_for("FROM m\n", folder, gate)
    assert str(caught.value) == "insecure path: ../outside"
    assert not any("private_keys" in str(path) for path in gate.calls)


def test_a_fifo_swapped_in_after_the_gate_does_not_block_sniffing(folder: Path) -> None:
    write(folder / "m" / "model.gguf", GGUF)
    os.mkfifo(folder / "m" / "pipe")
    swapped = (folder / "m" / "pipe").resolve()
    with pytest.raises(NotARegularFile, match="FIFO"):
        to_create_request("FROM m\n", folder, readable=lambda path: swapped)


def test_a_symlinked_folder_is_read_where_it_really_is(folder: Path) -> None:
    real = write(folder / "real" / "model.gguf", GGUF)
    (folder / "link").symlink_to(folder / "real")
    plan = plan_for("FROM link\n", folder)
    assert plan.uploads == (PlannedUpload("model.gguf", real, "files"),)


# --- ADAPTER and DRAFT ------------------------------------------------------------------------


def test_a_gguf_adapter(folder: Path) -> None:
    lora = write(folder / "lora.gguf", GGUF)
    plan = plan_for("FROM llama3.2\nADAPTER lora.gguf\n", folder)
    assert plan.request_body({lora: "sha256:1"}) == {
        "from": "llama3.2",
        "adapters": {"lora.gguf": "sha256:1"},
    }


def test_a_peft_adapter_folder(folder: Path) -> None:
    adapter = folder / "out" / "checkpoint-100"
    config = write(adapter / "adapter_config.json", b'{"lora_alpha": 16, "r": 8}')
    weights = write(adapter / "adapter_model.safetensors")
    write(adapter / "README.md")
    write(adapter / "tokenizer.json", JSON)
    write(adapter / "training_args.bin", ZIP)
    gate = Gate(folder)
    plan = plan_for("FROM llama3.2\nADAPTER ./out/checkpoint-100\n", folder, gate)
    assert plan.uploads == (
        PlannedUpload("adapter_config.json", config, "adapters"),
        PlannedUpload("adapter_model.safetensors", weights, "adapters"),
    )
    assert gate.calls == [config, weights]


def test_an_mlx_adapter_folder(folder: Path) -> None:
    write(folder / "mlx" / "adapter_config.json", JSON)
    write(folder / "mlx" / "adapters.safetensors")
    plan = plan_for("FROM m\nADAPTER mlx\n", folder)
    assert uploads(plan) == {
        ("adapters", "adapter_config.json"),
        ("adapters", "adapters.safetensors"),
    }


def test_a_pickled_peft_adapter_is_refused(folder: Path) -> None:
    write(folder / "peft" / "adapter_config.json", JSON)
    write(folder / "peft" / "adapter_model.bin", ZIP)
    with pytest.raises(AdapterFormatError, match="PyTorch pickle"):
        plan_for("FROM m\nADAPTER peft\n", folder)


def test_an_adapter_config_without_weights(folder: Path) -> None:
    write(folder / "peft" / "adapter_config.json", JSON)
    with pytest.raises(NoModelFilesError, match=r"^no \*\.safetensors weights beside"):
        plan_for("FROM m\nADAPTER peft\n", folder)


def test_an_adapter_folder_without_config_follows_the_model_rules(folder: Path) -> None:
    write(folder / "loras" / "lora.gguf", GGUF)
    assert uploads(plan_for("FROM m\nADAPTER loras\n", folder)) == {("adapters", "lora.gguf")}


def test_a_safetensors_adapter_file_takes_its_config_along(folder: Path) -> None:
    weights = write(folder / "run" / "adapter_model.safetensors")
    config = write(folder / "run" / "adapter_config.json", JSON)
    plan = plan_for("FROM m\nADAPTER run/adapter_model.safetensors\n", folder)
    assert plan.uploads == (
        PlannedUpload("adapter_model.safetensors", weights, "adapters"),
        PlannedUpload("adapter_config.json", config, "adapters"),
    )


def test_a_safetensors_adapter_file_without_config(folder: Path) -> None:
    write(folder / "adapter_model.safetensors")
    with pytest.raises(FileNotFoundError) as caught:
        plan_for("FROM m\nADAPTER adapter_model.safetensors\n", folder)
    assert caught.value.filename == str(folder / "adapter_config.json")
    assert "needs adapter_config.json beside it" in str(caught.value)


def test_an_adapter_that_is_neither_gguf_nor_safetensors(folder: Path) -> None:
    write(folder / "adapter_model.bin", ZIP)
    with pytest.raises(
        AdapterFormatError, match=r"neither a GGUF file nor a \.safetensors adapter"
    ):
        plan_for("FROM m\nADAPTER adapter_model.bin\n", folder)


@pytest.mark.parametrize("keyword", ["ADAPTER", "DRAFT"])
def test_adapter_and_draft_must_exist(keyword: str, folder: Path) -> None:
    def lenient(path: Path) -> Path:  # a gate that leaves existence to the caller
        return Path(os.path.realpath(path))

    with pytest.raises(FileNotFoundError) as caught:
        to_create_request(f"FROM m\n{keyword} ./nowhere.gguf\n", folder, readable=lenient)
    assert caught.value.filename == str(folder / "nowhere.gguf")
    assert f"{keyword} path does not exist" in str(caught.value)
    # A gate that checks existence itself reports it its own way.
    with pytest.raises(FileNotFoundError, match=r"no such file: .*nowhere\.gguf"):
        plan_for(f"FROM m\n{keyword} ./nowhere.gguf\n", folder)


@pytest.mark.parametrize("keyword", ["ADAPTER", "DRAFT"])
def test_a_refused_path_reads_the_same_whether_it_exists(keyword: str, folder: Path) -> None:
    write(folder / "outside" / "lora.gguf", GGUF)
    gate = Gate(folder / "allowed")
    for name in ("lora.gguf", "missing.gguf"):
        with pytest.raises(PermissionError, match="refusing to read"):
            plan_for(f"FROM m\n{keyword} outside/{name}\n", folder, gate)


@pytest.mark.parametrize("name", ["secret.gguf", "missing.gguf"])
def test_a_from_path_outside_the_gate_is_refused_whether_it_exists(name: str, folder: Path) -> None:
    write(folder / "outside" / "secret.gguf", GGUF)
    gate = Gate(folder / "allowed")
    with pytest.raises(PermissionError, match="refusing to read"):
        plan_for(f"FROM {folder / 'outside' / name}\n", folder, gate)
    with pytest.raises(PermissionError, match="refusing to read"):
        plan_for(f"FROM ../outside/{name}\n", folder / "allowed", gate)


def test_a_missing_from_path_inside_the_gate_stays_a_name(folder: Path) -> None:
    assert plan_for("FROM ./missing.gguf\n", folder).from_model == "./missing.gguf"
    assert plan_for("FROM llama3.2\n", folder, Gate(folder / "elsewhere")).from_model == "llama3.2"


def test_a_special_file_is_refused_even_by_a_lenient_gate(folder: Path) -> None:
    os.mkfifo(folder / "pipe.gguf")
    with pytest.raises(CreatePlanError, match="neither a regular file nor a folder"):
        to_create_request("FROM ./pipe.gguf\n", folder, readable=lambda p: p)


def test_only_one_adapter(folder: Path) -> None:
    write(folder / "a.gguf", GGUF)
    write(folder / "b.gguf", GGUF)
    with pytest.raises(CreatePlanError, match=r"^only one adapter is currently supported$"):
        plan_for("FROM m\nADAPTER a.gguf\nADAPTER b.gguf\n", folder)


def test_a_draft_model(folder: Path) -> None:
    draft = write(folder / "draft.gguf", GGUF)
    plan = plan_for("FROM base\nDRAFT ./draft.gguf\n", folder)
    assert plan.request_body({draft: "sha256:d"}) == {
        "from": "base",
        "draft_files": {"draft.gguf": "sha256:d"},
    }


@pytest.mark.parametrize(
    "text",
    [
        "FROM ./model.gguf\nDRAFT ./model.gguf\n",
        "DRAFT ./model.gguf\nFROM model.gguf\n",
        "FROM .\nDRAFT .\n",
    ],
)
def test_draft_must_not_be_the_from_path(text: str, folder: Path) -> None:
    write(folder / "model.gguf", GGUF)
    with pytest.raises(
        CreatePlanError, match=r"^DRAFT must not reference the same local path as FROM: "
    ):
        plan_for(text, folder)


# --- the gate ---------------------------------------------------------------------------------


def test_a_refusal_of_the_gate_propagates_unchanged(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere").resolve()
    write(elsewhere / "secret.gguf", GGUF)
    with pytest.raises(PermissionError, match="refusing to read"):
        plan_for(f"FROM {elsewhere}/secret.gguf\n", folder)

    class Refused(ValueError):
        pass

    refusal = Refused("not allowed")

    def refuse(path: Path) -> Path:
        raise refusal

    write(folder / "lora.gguf", GGUF)
    with pytest.raises(Refused) as caught:
        to_create_request("FROM m\nADAPTER lora.gguf\n", folder, readable=refuse)
    assert caught.value is refusal


def test_the_gate_is_asked_before_any_file_is_opened(folder: Path) -> None:
    write(folder / "m" / "model.gguf", GGUF)
    write(folder / "m" / "config.json", JSON)
    opened: list[Path] = []

    def gate(path: Path) -> Path:
        opened.append(path)
        raise PermissionError("no")

    with pytest.raises(PermissionError):
        to_create_request("FROM m\n", folder, readable=gate)
    assert opened == [folder / "m" / "model.gguf"]


def test_folders_go_through_listable_when_given(folder: Path) -> None:
    write(folder / "m" / "model.gguf", GGUF)
    listed: list[Path] = []

    def listable(path: Path) -> Path:
        listed.append(path)
        return Path(os.path.realpath(path))

    plan = to_create_request("FROM m\n", folder, readable=Gate(folder), listable=listable)
    assert listed == [folder / "m"]
    assert uploads(plan) == {("files", "model.gguf")}

    def refuse(path: Path) -> Path:
        raise PermissionError("may not list")

    with pytest.raises(PermissionError, match="may not list"):
        to_create_request("FROM m\n", folder, readable=Gate(folder), listable=refuse)


def test_request_body_needs_every_digest(folder: Path) -> None:
    model = write(folder / "m.gguf", GGUF)
    plan = plan_for("FROM m.gguf\n", folder)
    with pytest.raises(KeyError, match="no digest given for"):
        plan.request_body({})
    assert plan.request_body({model: "sha256:x", folder / "other": "sha256:y"}) == {
        "files": {"m.gguf": "sha256:x"}
    }
