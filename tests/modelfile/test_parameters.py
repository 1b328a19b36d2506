"""PARAMETER names and values as `ollama create` checks them (contract 3.1, 3.2)."""

from __future__ import annotations

import json
import warnings

import pytest

from tools.errors import ParameterError
from tools.modelfile.go_literals import go_unquote
from tools.modelfile.parameters import (
    DEPRECATED_PARAMETERS,
    PARAMETER_TYPES,
    DeprecatedParameterWarning,
    ParameterWarning,
    TypedParameters,
    parameter_texts,
    parse_parameter_value,
    show_parameter_texts,
    typed_parameters,
)


def test_the_known_names_and_types_are_contract_3_1() -> None:
    assert dict(PARAMETER_TYPES) == {
        "num_keep": "int",
        "seed": "int",
        "num_predict": "int",
        "top_k": "int",
        "top_p": "float",
        "min_p": "float",
        "typical_p": "float",
        "repeat_last_n": "int",
        "temperature": "float",
        "repeat_penalty": "float",
        "presence_penalty": "float",
        "frequency_penalty": "float",
        "stop": "string_list",
        "num_ctx": "int",
        "num_batch": "int",
        "num_gpu": "int",
        "main_gpu": "int",
        "use_mmap": "bool",
        "num_thread": "int",
        "draft_num_predict": "int",
    }
    assert {
        "penalize_newline",
        "low_vram",
        "f16_kv",
        "logits_all",
        "vocab_only",
        "use_mlock",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
    } == DEPRECATED_PARAMETERS


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [  # the upstream TestParseFileParameters lines, typed as CreateRequest types them
        ("num_ctx", "1", 1),
        ("num_batch", "1", 1),
        ("num_gpu", "1", 1),
        ("main_gpu", "1", 1),
        ("use_mmap", "true", True),
        ("num_thread", "1", 1),
        ("num_keep", "1", 1),
        ("seed", "1", 1),
        ("num_predict", "1", 1),
        ("top_k", "1", 1),
        ("top_p", "1.0", 1.0),
        ("min_p", "0.05", 0.05),
        ("typical_p", "1.0", 1.0),
        ("repeat_last_n", "1", 1),
        ("temperature", "1.0", 1.0),
        ("repeat_penalty", "1.0", 1.0),
        ("presence_penalty", "1.0", 1.0),
        ("frequency_penalty", "1.0", 1.0),
        ("draft_num_predict", "4", 4),
        ("stop", "### User:", "### User:"),
        ("seed", "-1", -1),
        ("num_gpu", "+5", 5),
        ("num_ctx", "007", 7),
        ("seed", "9223372036854775807", 2**63 - 1),
        ("seed", "-9223372036854775808", -(2**63)),
        ("temperature", "0.7", 0.7),
        ("temperature", ".5", 0.5),
        ("temperature", "5.", 5.0),
        ("temperature", "+.5", 0.5),
        ("temperature", "1e-3", 0.001),
        ("temperature", "1_000.5", 1000.5),
        ("temperature", "0x1p-2", 0.25),
        ("temperature", "0x1.8p1", 3.0),
        ("temperature", "0x_1p0", 1.0),
        ("temperature", "1e-50", 0.0),  # underflow is not an error in Go
        ("temperature", "3.4028235e38", 3.4028235e38),  # the largest float32
        ("temperature", "0.1234567891", 0.12345679),  # float32, sent as its shortest decimal
        ("temperature", "16777217", 16777216.0),
    ],
)
def test_values_are_typed(name: str, text: str, expected: object) -> None:
    value = parse_parameter_value(name, text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_true(text: str) -> None:
    assert parse_parameter_value("use_mmap", text) is True


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_go_false(text: str) -> None:
    assert parse_parameter_value("use_mmap", text) is False


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("temperature", "hot", "invalid float value [hot]"),
        ("temperature", "", "invalid float value []"),
        ("temperature", "a b", "invalid float value [a b]"),
        ("temperature", " 1", "invalid float value [ 1]"),
        ("temperature", "1e39", "invalid float value [1e39]"),  # overflows float32
        ("temperature", "3.4028236e38", "invalid float value [3.4028236e38]"),
        ("temperature", "1__0", "invalid float value [1__0]"),
        ("temperature", "_1", "invalid float value [_1]"),
        ("temperature", "1_", "invalid float value [1_]"),
        ("temperature", "1_.5", "invalid float value [1_.5]"),
        ("temperature", "0x1", "invalid float value [0x1]"),  # hex needs an exponent
        ("temperature", "1e", "invalid float value [1e]"),
        ("temperature", ".", "invalid float value [.]"),
        ("temperature", "0,5", "invalid float value [0,5]"),
        ("temperature", "inf", "invalid float value [inf]"),  # Go parses; JSON cannot carry it
        ("temperature", "NaN", "invalid float value [NaN]"),
        ("temperature", "٣", "invalid float value [٣]"),
        ("top_k", "1.0", "invalid int value [1.0]"),
        ("top_k", "40.5", "invalid int value [40.5]"),
        ("top_k", "5_000", "invalid int value [5_000]"),
        ("top_k", "0x10", "invalid int value [0x10]"),
        ("top_k", "٣", "invalid int value [٣]"),
        ("seed", "9223372036854775808", "invalid int value [9223372036854775808]"),
        ("main_gpu", "first", "invalid int value [first]"),
        ("use_mmap", "yes", "invalid bool value [yes]"),
        ("use_mmap", "tRUE", "invalid bool value [tRUE]"),
        ("use_mmap", "", "invalid bool value []"),
        ("Temperature", "1", "unknown parameter 'Temperature'"),
        ("numa", "true", "unknown parameter 'numa'"),
        ("tfs_z", "1", "unknown parameter 'tfs_z'"),
        ("num_gqa", "1", "unknown parameter 'num_gqa'"),
        ("mirostat", "1", "unknown parameter 'mirostat'"),  # deprecated: typed_parameters drops
        ("", "x", "unknown parameter ''"),
    ],
)
def test_bad_parameters_have_ollamas_wording(name: str, text: str, message: str) -> None:
    with pytest.raises(ParameterError) as caught:
        parse_parameter_value(name, text)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_create_request_vector() -> None:  # TestCreateRequest
    typed = typed_parameters([("temperature", "0.5"), ("top_k", "1")])
    assert typed == TypedParameters({"temperature": 0.5, "top_k": 1})
    assert json.dumps(typed.values) == '{"temperature": 0.5, "top_k": 1}'


def test_floats_are_sent_as_go_sends_float32() -> None:
    typed = typed_parameters([("temperature", "0.7"), ("top_p", "0.9"), ("min_p", "1e-45")])
    assert json.dumps(typed.values) == '{"temperature": 0.7, "top_p": 0.9, "min_p": 1e-45}'


def test_stop_accumulates_and_other_names_keep_the_last_value() -> None:
    typed = typed_parameters(
        [("stop", "a"), ("top_k", "1"), ("stop", "b"), ("top_k", "2"), ("stop", "a")]
    )
    assert typed.values == {"stop": ["a", "b", "a"], "top_k": 2}


@pytest.mark.parametrize("name", sorted(DEPRECATED_PARAMETERS))
def test_deprecated_names_are_warned_about_and_dropped_whatever_their_value(name: str) -> None:
    with pytest.warns(DeprecatedParameterWarning, match=f"^parameter {name} is deprecated$"):
        typed = typed_parameters([(name, "not even a number"), ("seed", "3")])
    assert typed == TypedParameters({"seed": 3}, (name,))


def test_the_first_bad_parameter_stops_typing() -> None:
    with pytest.raises(ParameterError, match=r"^invalid int value \[x\]$"):
        typed_parameters([("top_k", "x"), ("numa", "1")])


@pytest.mark.parametrize(
    ("name", "value", "texts"),
    [
        ("temperature", 0.7, ["0.7"]),
        ("temperature", 1, ["1"]),
        ("temperature", 1e-7, ["1e-07"]),
        ("top_k", 40, ["40"]),
        ("use_mmap", True, ["true"]),
        ("use_mmap", False, ["false"]),
        ("stop", "</s>", ["</s>"]),
        ("stop", ["<|eot_id|>", "\n\n"], ["<|eot_id|>", "\n\n"]),
        ("stop", ("a",), ["a"]),
    ],
)
def test_python_values_as_modelfile_text(name: str, value: object, texts: list[str]) -> None:
    assert parameter_texts(name, value) == texts


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("top_k", 40.0, "invalid int value [40.0]"),
        ("top_k", True, "invalid int value [true]"),
        ("temperature", float("nan"), "invalid float value [nan]"),
        ("temperature", float("inf"), "invalid float value [inf]"),
        ("temperature", "warm", "invalid float value [warm]"),
        ("use_mmap", 1.5, "invalid bool value [1.5]"),
        ("top_k", [1, 2], "parameter 'top_k' takes one value, not 2"),
        ("top_k", {"a": 1}, "parameter 'top_k' cannot take a value of type dict: {'a': 1}"),
        ("nope", 1, "unknown parameter 'nope'"),
    ],
)
def test_bad_python_values(name: str, value: object, message: str) -> None:
    with pytest.raises(ParameterError) as caught:
        parameter_texts(name, value)
    assert str(caught.value) == message


def test_show_parameters_become_modelfile_texts() -> None:
    shown = "\n".join(
        [
            f"{'stop':<30} " + '"<|start_header_id|>"',
            f"{'stop':<30} " + '"\\n\\nUser:"',
            f"{'num_ctx':<30} 1.048576e+06",
            f"{'temperature':<30} 0.7",
            f"{'top_k':<30} 40",
            f"{'use_mmap':<30} false",
            f"{'draft_num_predict_with_a_long_name':<30} 4",
            f"{'mirostat':<30} 0",
            f"{'numa':<30} true",
            f"{'seed':<30} 1.5",
            "",
        ]
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = show_parameter_texts(shown)
    assert pairs == [
        ("stop", "<|start_header_id|>"),
        ("stop", "\n\nUser:"),
        ("num_ctx", "1048576"),
        ("temperature", "0.7"),
        ("top_k", "40"),
        ("use_mmap", "false"),
    ]
    assert all(issubclass(w.category, ParameterWarning) for w in caught)
    assert [str(w.message) for w in caught] == [
        "parameter draft_num_predict_with_a_long_name left out: "
        "unknown parameter 'draft_num_predict_with_a_long_name'",
        "parameter mirostat left out: parameter mirostat is deprecated",
        "parameter numa left out: unknown parameter 'numa'",
        "parameter seed left out: invalid int value [1.5]",
    ]


@pytest.mark.parametrize(
    ("literal", "text"),
    [
        ('"<|eot_id|>"', "<|eot_id|>"),
        ('"a\\nb\\tc\\"d\\\\e"', 'a\nb\tc"d\\e'),
        ('"\\a\\b\\f\\r\\v"', "\a\b\f\r\v"),
        ('"\\x41\\101\\u00e9\\U0001F44B"', "AAé👋"),
        ('"\\xe4\\xbd\\xa0"', "你"),  # bytes that make one UTF-8 character
        ('"\\xff"', "\ufffd"),
        ('"你好"', "你好"),
        ('""', ""),
    ],
)
def test_go_string_literals(literal: str, text: str) -> None:
    assert go_unquote(literal) == text


@pytest.mark.parametrize(
    "literal", ['"', "abc", '"a"b"', '"\\q"', '"\\x4"', '"\\400"', '"\\ud800"', '"a\nb"', '"\\']
)
def test_not_go_string_literals(literal: str) -> None:
    with pytest.raises(ValueError):
        go_unquote(literal)
