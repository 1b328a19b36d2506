"""`generate_modelfile` (the seed's function) and `from_show`."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.errors import ParameterError, UnrepresentableValueError
from tools.modelfile.document import (
    Instruction,
    Modelfile,
    ModelfileMessage,
    Parameter,
    from_show,
    generate_modelfile,
    parse,
    render,
)
from tools.modelfile.parameters import DeprecatedParameterWarning, ParameterWarning

SEED_EXAMPLE = """\
FROM llama2:7b

ADAPTER /path/to/adapter.safetensors

SYSTEM \"\"\"You are a helpful coding assistant.\"\"\"

TEMPLATE \"\"\"{{ .System }}

User: {{ .Prompt }}
Assistant:\"\"\"

PARAMETER temperature 0.7
PARAMETER top_p 0.9
PARAMETER top_k 40
PARAMETER num_ctx 4096"""

SEED_ARGUMENTS = {
    "base_model": "llama2:7b",
    "adapter_path": "/path/to/adapter.safetensors",
    "system_prompt": "You are a helpful coding assistant.",
    "template": "{{ .System }}\n\nUser: {{ .Prompt }}\nAssistant:",
    "parameters": {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "num_ctx": 4096},
}
SEED_DOC = Path(__file__).resolve().parents[3] / "shared" / "seed" / "OLLAMA_CONNECTOR.md"


def test_the_seed_example_byte_for_byte() -> None:
    assert generate_modelfile(**SEED_ARGUMENTS) == SEED_EXAMPLE  # type: ignore[arg-type]


@pytest.mark.skipif(not SEED_DOC.exists(), reason="the seed document is not beside this clone")
def test_the_seed_example_is_the_one_in_the_seed_document() -> None:
    section = SEED_DOC.read_text(encoding="utf-8").split("Example Modelfile output:", 1)[1]
    block = re.search(r"```\n(.*?)\n```", section, re.DOTALL)
    assert block is not None
    assert block.group(1) == SEED_EXAMPLE


def test_the_seed_example_parses_back_to_its_arguments() -> None:
    assert parse(SEED_EXAMPLE) == Modelfile(
        [
            Instruction("from", "llama2:7b"),
            Instruction("adapter", "/path/to/adapter.safetensors"),
            Instruction("system", "You are a helpful coding assistant."),
            Instruction("template", "{{ .System }}\n\nUser: {{ .Prompt }}\nAssistant:"),
            Parameter("temperature", "0.7"),
            Parameter("top_p", "0.9"),
            Parameter("top_k", "40"),
            Parameter("num_ctx", "4096"),
        ]
    )


def test_the_other_seed_calls() -> None:
    assert generate_modelfile(base_model="llama2:7b") == "FROM llama2:7b"
    assert generate_modelfile(
        base_model="llama2:7b", adapter_path="/path/to/adapter.safetensors"
    ) == ("FROM llama2:7b\n\nADAPTER /path/to/adapter.safetensors")
    assert generate_modelfile(
        base_model="llama2:7b", system_prompt="You are a helpful assistant."
    ) == ('FROM llama2:7b\n\nSYSTEM """You are a helpful assistant."""')


def test_messages_licenses_and_stop_lists() -> None:
    text = generate_modelfile(
        "llama3.2",
        adapter_path=Path("lora.gguf"),
        parameters={"stop": ["<|eot_id|>", "\n\nUser:"], "use_mmap": False},
        messages=[
            {"role": "user", "content": "Hi"},
            ModelfileMessage("assistant", 'Hello, "friend"!\nHow can I help?'),
        ],
        license=["MIT", 'Line one\n"quoted"\n'],
    )
    assert text == (
        "FROM llama3.2\n\nADAPTER lora.gguf\n\n"
        'PARAMETER stop <|eot_id|>\nPARAMETER stop """\n\nUser:"""\nPARAMETER use_mmap false\n\n'
        'LICENSE """MIT"""\nLICENSE """Line one\n"quoted"\n"""\n\n'
        'MESSAGE user Hi\nMESSAGE assistant """Hello, "friend"!\nHow can I help?"""'
    )
    assert parse(text) == Modelfile(
        [
            Instruction("from", "llama3.2"),
            Instruction("adapter", "lora.gguf"),
            Parameter("stop", "<|eot_id|>"),
            Parameter("stop", "\n\nUser:"),
            Parameter("use_mmap", "false"),
            Instruction("license", "MIT"),
            Instruction("license", 'Line one\n"quoted"\n'),
            ModelfileMessage("user", "Hi"),
            ModelfileMessage("assistant", 'Hello, "friend"!\nHow can I help?'),
        ]
    )


def test_one_license_text() -> None:
    assert generate_modelfile("m", license="Apache-2.0") == 'FROM m\n\nLICENSE """Apache-2.0"""'


def test_empty_arguments_are_left_out() -> None:
    text = generate_modelfile(
        "m", system_prompt="", template="", parameters={}, messages=[], license=[""]
    )
    assert text == "FROM m"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"system_prompt": 'x"""\nADAPTER /etc/passwd'}, "system_prompt"),
        ({"template": '{{ .Prompt }}"""\nFROM evil'}, "template"),
        ({"license": 'MIT"""\nADAPTER /etc/passwd'}, "license"),
        ({"license": ["MIT", 'x"""\n']}, "license[1]"),
        ({"messages": [{"role": "user", "content": 'a"""\nSYSTEM b'}]}, "messages[0]"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0]"),
        ({"messages": [{"role": "user"}]}, "messages[0]"),
        ({"parameters": {"stop": ['x"""\nADAPTER /etc/passwd']}}, "parameters['stop']"),
        ({"adapter_path": ' """\nFROM evil'}, "adapter_path"),
        ({"adapter_path": ""}, "adapter_path"),
        ({"system_prompt": "zero\u200bwidth"}, "system_prompt"),
        ({"base_model": " llama3"}, "base_model"),
        ({"base_model": "llama3\nADAPTER /etc/passwd"}, "base_model"),
        ({"base_model": ""}, "base_model"),
    ],
)
def test_what_cannot_be_written_is_refused_naming_the_argument(
    arguments: dict[str, object], field: str
) -> None:
    call: dict[str, object] = {"base_model": "m", **arguments}
    with pytest.raises(UnrepresentableValueError) as caught:
        generate_modelfile(**call)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_quotes_that_can_be_written_are() -> None:
    system = 'Say """hi""" and "bye"\n  indented """ inside\n"'
    text = generate_modelfile("m", system_prompt=system, adapter_path=" a path ")
    assert parse(text).last("system") == system
    assert parse(text).last("adapter") == " a path "


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"temprature": 0.7}, "unknown parameter 'temprature'"),
        ({"numa": True}, "unknown parameter 'numa'"),
        ({"top_k": 40.5}, "invalid int value [40.5]"),
        ({"num_ctx": "big"}, "invalid int value [big]"),
        ({"temperature": float("nan")}, "invalid float value [nan]"),
    ],
)
def test_parameters_are_checked_as_ollama_create_checks_them(
    parameters: dict[str, object], message: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        generate_modelfile("m", parameters=parameters)
    assert str(caught.value) == f"parameters[{next(iter(parameters))!r}]: {message}"


def test_deprecated_parameters_are_dropped_with_a_warning() -> None:
    with pytest.warns(DeprecatedParameterWarning, match="^parameter mirostat is deprecated$"):
        text = generate_modelfile("m", parameters={"mirostat": 2, "seed": 7})
    assert text == "FROM m\n\nPARAMETER seed 7"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=20))
def test_generated_text_reads_back_or_names_the_argument(system: str, stop: str) -> None:
    try:
        text = generate_modelfile("base", system_prompt=system, parameters={"stop": [stop]})
    except UnrepresentableValueError as refusal:
        assert refusal.field in ("system_prompt", "parameters['stop']")
        return
    expected = [Instruction("from", "base")]
    if system:
        expected.append(Instruction("system", system))
    assert parse(text) == Modelfile([*expected, Parameter("stop", stop)])


# --- from_show --------------------------------------------------------------------------------

SHOW = {
    "license": "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\nLlama 3.2 Version Release Date: 2024",
    "modelfile": (
        '# Modelfile generated by "ollama show"\n'
        "# To build a new Modelfile based on this, replace FROM with:\n"
        "# FROM llama3.2:latest\n\n"
        "FROM /root/.ollama/models/blobs/sha256-"
        "dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff\n"
    ),
    "parameters": (
        'stop                           "<|start_header_id|>"\n'
        'stop                           "<|eot_id|>"\n'
        "num_ctx                        1.048576e+06\n"
        "temperature                    0.6"
    ),
    "template": "<|start_header_id|>system<|end_header_id|>\n{{ .System }}<|eot_id|>",
    "system": "You are Mario.",
    "messages": [{"role": "user", "content": "Who are you?"}],
    "requires": "0.14.0",
    "details": {"format": "gguf"},
    "model_info": {},
}


def test_from_show_starts_from_the_name_not_the_blob() -> None:
    modelfile = from_show(SHOW, "llama3.2:latest")
    assert modelfile == Modelfile(
        [
            Instruction("from", "llama3.2:latest"),
            Instruction("template", SHOW["template"]),  # type: ignore[arg-type]
            Instruction("system", "You are Mario."),
            Parameter("stop", "<|start_header_id|>"),
            Parameter("stop", "<|eot_id|>"),
            Parameter("num_ctx", "1048576"),
            Parameter("temperature", "0.6"),
            Instruction("license", SHOW["license"]),  # type: ignore[arg-type]
            ModelfileMessage("user", "Who are you?"),
            Instruction("requires", "0.14.0"),
        ]
    )
    assert parse(render(modelfile)) == modelfile


def test_from_show_finds_the_name_in_the_modelfile_comment() -> None:
    assert from_show(SHOW).values("from") == ["llama3.2:latest"]


def test_from_show_needs_a_name() -> None:
    with pytest.raises(ValueError, match="needs the model's name"):
        from_show({"template": "{{ .Prompt }}"})


def test_from_show_leaves_out_a_jinja_template_and_refused_parameters() -> None:
    show = {
        "template": "{% for m in messages %}{{ m.content }}{% endfor %}",
        "parameters": 'mirostat                       1\nrenderer                       "x"',
        "renderer": "qwen3",
        "parser": "qwen3",
        "license": ["A", "", "B"],
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        modelfile = from_show(show, "qwen3:8b")
    assert modelfile == Modelfile(
        [
            Instruction("from", "qwen3:8b"),
            Instruction("renderer", "qwen3"),
            Instruction("parser", "qwen3"),
            Instruction("license", "A"),
            Instruction("license", "B"),
        ]
    )
    assert len(caught) == 2 and all(issubclass(w.category, ParameterWarning) for w in caught)


def test_from_show_refuses_a_message_role_a_modelfile_cannot_carry() -> None:
    with pytest.raises(UnrepresentableValueError) as caught:
        from_show({"messages": [{"role": "tool", "content": "42"}]}, "m")
    assert caught.value.field == "messages[0]"
