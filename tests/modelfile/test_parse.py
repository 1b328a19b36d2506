"""`parse` against the Modelfile grammar of contract 6.1, with Ollama's own test vectors
(parser/parser_test.go at v0.33.0-rc2) and the contract's [ran] examples as expected values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.errors import ModelfileError
from tools.modelfile.document import (
    Command,
    Instruction,
    Modelfile,
    ModelfileMessage,
    Parameter,
    parse,
)
from tools.modelfile.syntax import lex

INVALID_COMMAND = (
    'command must be one of "from", "license", "template", "system", "adapter", "draft", '
    '"renderer", "parser", "parameter", "message", or "requires"'
)
INVALID_ROLE = 'message role must be one of "system", "user", or "assistant"'
LLAMA3_TEMPLATE = (
    "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>"
    "{{ end }}{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}"
    "<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>"
)


def FROM(value: str) -> Instruction:
    return Instruction("from", value)


def commands(text: str | bytes) -> list[Command]:
    return list(parse(text).commands)


def error_text(text: str | bytes) -> str:
    with pytest.raises(ModelfileError) as caught:
        parse(text)
    return str(caught.value)


# --- upstream vectors -------------------------------------------------------------------------


def test_a_full_modelfile() -> None:  # TestParseFileFile
    text = (
        "\nFROM model1\nADAPTER adapter1\nLICENSE MIT\nPARAMETER param1 value1\n"
        'PARAMETER param2 value2\nTEMPLATE """' + LLAMA3_TEMPLATE + '"""    \n'
    )
    assert commands(text) == [
        FROM("model1"),
        Instruction("adapter", "adapter1"),
        Instruction("license", "MIT"),
        Parameter("param1", "value1"),
        Parameter("param2", "value2"),
        Instruction("template", LLAMA3_TEMPLATE),
    ]


def test_draft() -> None:  # TestParseFileDraft
    assert commands("\nFROM base\nDRAFT ./assistant\n") == [
        FROM("base"),
        Instruction("draft", "./assistant"),
    ]


def test_spaces_are_trimmed_outside_quotes_and_kept_inside() -> None:  # TestParseFileTrimSpace
    template = "   " + LLAMA3_TEMPLATE + "   "
    text = (
        '\nFROM "     model 1"\nADAPTER      adapter3\nLICENSE "MIT       "\n'
        "PARAMETER param1        value1\nPARAMETER param2    value2\n"
        'TEMPLATE """' + template + '"""    \n'
    )
    assert commands(text) == [
        FROM("     model 1"),
        Instruction("adapter", "adapter3"),
        Instruction("license", "MIT       "),
        Parameter("param1", "value1"),
        Parameter("param2", "value2"),
        Instruction("template", template),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # TestParseFileFrom
        ('FROM "FOO  BAR  "', [FROM("FOO  BAR  ")]),
        (
            'FROM "FOO BAR"\nPARAMETER param1 value1',
            [FROM("FOO BAR"), Parameter("param1", "value1")],
        ),
        ("FROM     FOOO BAR    ", [FROM("FOOO BAR")]),
        ("FROM /what/is/the path ", [FROM("/what/is/the path")]),
        ("FROM foo", [FROM("foo")]),
        ("FROM /path/to/model", [FROM("/path/to/model")]),
        ("FROM /path/to/model/fp16.bin", [FROM("/path/to/model/fp16.bin")]),
        ("FROM llama3:latest", [FROM("llama3:latest")]),
        ("FROM llama3:7b-instruct-q4_K_M", [FROM("llama3:7b-instruct-q4_K_M")]),
        ("PARAMETER param1 value1\nFROM foo", [Parameter("param1", "value1"), FROM("foo")]),
        (
            "PARAMETER what the \nFROM lemons make lemonade ",
            [Parameter("what", "the"), FROM("lemons make lemonade")],
        ),
    ],
)
def test_from(text: str, expected: list[Command]) -> None:
    assert commands(text) == expected


@pytest.mark.parametrize(
    "text", ["", "PARAMETER param1 value1", "# only a comment\n", "SYSTEM hi\nLICENSE MIT\n"]
)
def test_no_from_line(text: str) -> None:
    with pytest.raises(ModelfileError) as caught:
        parse(text)
    assert str(caught.value) == "no FROM line"
    assert caught.value.line is None


def test_parameter_without_value_mid_file() -> None:  # TestParseFileParametersMissingValue
    assert error_text("\nFROM foo\nPARAMETER param1\n") == "unexpected EOF: param1"


def test_bad_command_names_its_line() -> None:  # TestParseFileBadCommand
    with pytest.raises(ModelfileError) as caught:
        parse("\nFROM foo\nBADCOMMAND param1 value1\n")
    assert str(caught.value) == f"(line 3): {INVALID_COMMAND}"
    assert caught.value.line == 3
    assert caught.value.message == INVALID_COMMAND


def test_renderer_and_parser() -> None:  # TestParseFileRenderer, TestParseFileParser
    assert commands("\nFROM foo\nRENDERER renderer1\nPARSER parser1\n") == [
        FROM("foo"),
        Instruction("renderer", "renderer1"),
        Instruction("parser", "parser1"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # TestParseFileMessages
        (
            "\nFROM foo\nMESSAGE system You are a file parser. Always parse things.\n",
            [
                FROM("foo"),
                ModelfileMessage("system", "You are a file parser. Always parse things."),
            ],
        ),
        (
            "\nFROM foo\nMESSAGE system You are a file parser. Always parse things.",
            [
                FROM("foo"),
                ModelfileMessage("system", "You are a file parser. Always parse things."),
            ],
        ),
        (
            "\nFROM foo\nMESSAGE system You are a file parser. Always parse things.\n"
            "MESSAGE user Hey there!\nMESSAGE assistant Hello, I want to parse all the things!\n",
            [
                FROM("foo"),
                ModelfileMessage("system", "You are a file parser. Always parse things."),
                ModelfileMessage("user", "Hey there!"),
                ModelfileMessage("assistant", "Hello, I want to parse all the things!"),
            ],
        ),
        (
            '\nFROM foo\nMESSAGE system """\nYou are a multiline file parser. Always parse '
            'things.\n"""\n\t\t\t',
            [
                FROM("foo"),
                ModelfileMessage(
                    "system", "\nYou are a multiline file parser. Always parse things.\n"
                ),
            ],
        ),
    ],
)
def test_messages(text: str, expected: list[Command]) -> None:
    assert commands(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\nFROM foo\nMESSAGE badguy I'm a bad guy!\n", f"(line 3): {INVALID_ROLE}"),
        ("\nFROM foo\nMESSAGE system\n", "unexpected EOF: system"),
        ("\nFROM foo\nMESSAGE system", "unexpected EOF"),
        # Roles are case-sensitive, and `tool` is not one of them.
        ("FROM foo\nMESSAGE System hi\n", f"(line 2): {INVALID_ROLE}"),
        ("FROM foo\nMESSAGE tool hi\n", f"(line 2): {INVALID_ROLE}"),
        ("FROM foo\nMESSAGE  hi\n", f"(line 2): {INVALID_ROLE}"),
        ("FROM foo\nMESSAGE us3r hi\n", "unexpected EOF: us"),
    ],
)
def test_message_errors(text: str, message: str) -> None:
    assert error_text(text) == message


@pytest.mark.parametrize(
    ("text", "system"),
    [  # TestParseFileQuoted
        (
            '\nFROM foo\nSYSTEM """\nThis is a\nmultiline system.\n"""\n\t\t\t',
            "\nThis is a\nmultiline system.\n",
        ),
        (
            '\nFROM foo\nSYSTEM """\nThis is a\nmultiline system."""\n\t\t\t',
            "\nThis is a\nmultiline system.",
        ),
        (
            '\nFROM foo\nSYSTEM """This is a\nmultiline system."""\n\t\t\t',
            "This is a\nmultiline system.",
        ),
        (
            '\nFROM foo\nSYSTEM """This is a multiline system."""\n\t\t\t',
            "This is a multiline system.",
        ),
        (
            '\nFROM foo\nSYSTEM """\nThis is a multiline system with "quotes".\n"""\n',
            '\nThis is a multiline system with "quotes".\n',
        ),
        ('\nFROM foo\nSYSTEM """"""\n', ""),
        ('\nFROM foo\nSYSTEM ""\n', ""),
        ('\nFROM foo\nSYSTEM "\'"\n', "'"),
        (
            '\nFROM foo\nSYSTEM """\'\'"\'""\'""\'"\'\'\'\'\'""\'""\'"""\n',
            "''\"'\"\"'\"\"'\"'''''\"\"'\"\"'",
        ),
    ],
)
def test_quoted_values(text: str, system: str) -> None:
    assert commands(text) == [FROM("foo"), Instruction("system", system)]


def test_template_closing_at_end_of_file() -> None:
    assert commands('\nFROM foo\nTEMPLATE """\n{{ .Prompt }}\n"""') == [
        FROM("foo"),
        Instruction("template", "\n{{ .Prompt }}\n"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        '\nFROM foo\nSYSTEM """This is a multiline system.""\n\t\t\t',
        '\nFROM foo\nSYSTEM "\n\t\t\t',
    ],
)
def test_unterminated_quotes_run_to_the_end(text: str) -> None:
    assert error_text(text) == "unexpected EOF"


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [  # TestParseFileParameters
        ("numa true", "numa", "true"),
        ("num_ctx 1", "num_ctx", "1"),
        ("num_batch 1", "num_batch", "1"),
        ("num_gqa 1", "num_gqa", "1"),
        ("num_gpu 1", "num_gpu", "1"),
        ("main_gpu 1", "main_gpu", "1"),
        ("use_mmap true", "use_mmap", "true"),
        ("num_thread 1", "num_thread", "1"),
        ("num_keep 1", "num_keep", "1"),
        ("seed 1", "seed", "1"),
        ("num_predict 1", "num_predict", "1"),
        ("top_k 1", "top_k", "1"),
        ("top_p 1.0", "top_p", "1.0"),
        ("min_p 0.05", "min_p", "0.05"),
        ("typical_p 1.0", "typical_p", "1.0"),
        ("repeat_last_n 1", "repeat_last_n", "1"),
        ("temperature 1.0", "temperature", "1.0"),
        ("repeat_penalty 1.0", "repeat_penalty", "1.0"),
        ("presence_penalty 1.0", "presence_penalty", "1.0"),
        ("frequency_penalty 1.0", "frequency_penalty", "1.0"),
        ("penalize_newline true", "penalize_newline", "true"),
        ("stop ### User:", "stop", "### User:"),
        ("stop ### User: ", "stop", "### User:"),
        ('stop "### User:"', "stop", "### User:"),
        ('stop "### User: "', "stop", "### User: "),
        ('stop """### User:"""', "stop", "### User:"),
        ('stop """### User:\n"""', "stop", "### User:\n"),
        ("stop <|endoftext|>", "stop", "<|endoftext|>"),
        ("stop <|eot_id|>", "stop", "<|eot_id|>"),
        ("stop </s>", "stop", "</s>"),
    ],
)
def test_parameters(line: str, name: str, value: str) -> None:
    assert commands(f"FROM foo\nPARAMETER {line}\n") == [FROM("foo"), Parameter(name, value)]


def test_comments() -> None:  # TestParseFileComments
    assert commands("\n# comment\nFROM foo\n\t") == [FROM("foo")]


UTF16_TEXT = "FROM bob\nPARAMETER param1 1\nPARAMETER param2 4096\nSYSTEM You are a utf16 file.\n"
UTF16_COMMANDS = [
    FROM("bob"),
    Parameter("param1", "1"),
    Parameter("param2", "4096"),
    Instruction("system", "You are a utf16 file."),
]


def test_utf16_little_endian_with_bom() -> None:  # TestParseFileUTF16ParseFile
    assert commands(b"\xff\xfe" + UTF16_TEXT.encode("utf-16-le")) == UTF16_COMMANDS


def test_utf16_big_endian_with_bom() -> None:
    assert commands(b"\xfe\xff" + UTF16_TEXT.encode("utf-16-be")) == UTF16_COMMANDS


@pytest.mark.parametrize(
    "encoded",
    [
        "FROM test\n\tSYSTEM 你好👋".encode(),
        b"\xff\xfe" + "FROM test\n\tSYSTEM 你好👋".encode("utf-16-le"),
        b"\xfe\xff" + "FROM test\n\tSYSTEM 你好👋".encode("utf-16-be"),
    ],
)
def test_multibyte_text(encoded: bytes) -> None:  # TestParseMultiByte
    assert commands(encoded) == [FROM("test"), Instruction("system", "你好👋")]


# --- the contract's [ran] examples and the rest of 6.1 --------------------------------------


def test_hash_after_the_start_of_a_line_is_text() -> None:
    assert commands("FROM foo\nSYSTEM hi # x\n   # indented comment\n") == [
        FROM("foo"),
        Instruction("system", "hi # x"),
    ]


def test_a_bare_from_is_reported_on_the_next_line() -> None:
    assert error_text("FROM\nSYSTEM hi\n") == f"(line 2): {INVALID_COMMAND}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM foo\nFROM1 bar\n", f"(line 2): {INVALID_COMMAND}"),
        ("FROM foo\nFR-OM bar\n", f"(line 2): {INVALID_COMMAND}"),
        ("FROM foo\n1FROM bar\n", f"(line 2): {INVALID_COMMAND}"),
        ("FROM foo\nINCLUDE bar\n", f"(line 2): {INVALID_COMMAND}"),
        # A carriage return is a line break of its own, also for the line count.
        ("FROM foo\r\nBAD bar\r\n", f"(line 3): {INVALID_COMMAND}"),
        ("FROM foo\nSYS", "unexpected EOF"),
        ("FROM foo\nPARAMETER", "unexpected EOF"),
        ("FROM foo\nPARAMETER top_k", "unexpected EOF"),
        ("FROM foo\nPARAMETER top-k 40\n", "unexpected EOF: top"),
        ("FROM foo\nPARAMETER -x 1\n", "unexpected EOF: "),
    ],
)
def test_reading_errors(text: str, message: str) -> None:
    assert error_text(text) == message


def test_eof_errors_carry_no_line_but_say_where_reading_stopped() -> None:
    with pytest.raises(ModelfileError) as caught:
        parse("FROM foo\n\nPARAMETER top-k 40\n")
    assert caught.value.line is None
    assert caught.value.near_line == 3


def test_instructions_are_case_insensitive_names_and_roles_are_not() -> None:
    assert commands("from foo\nSyStEm hi\nparameter Temperature 1\nmessage user x\n") == [
        FROM("foo"),
        Instruction("system", "hi"),
        Parameter("Temperature", "1"),
        ModelfileMessage("user", "x"),
    ]


def test_no_escape_sequences() -> None:
    assert commands('FROM foo\nSYSTEM "a \\"b\\" c\\n"\n') == [
        FROM("foo"),
        Instruction("system", 'a \\"b\\" c\\n'),
    ]


def test_single_quotes_mean_nothing() -> None:
    assert commands("FROM foo\nSYSTEM 'a b'\n")[1] == Instruction("system", "'a b'")


def test_a_value_that_starts_with_a_quote_swallows_lines_until_one_ends_in_a_quote() -> None:
    text = 'FROM foo\nSYSTEM "a" b\nPARAMETER top_k 1\nLICENSE "c"\nPARAMETER seed 1\n'
    assert commands(text) == [
        FROM("foo"),
        Instruction("system", 'a" b\nPARAMETER top_k 1\nLICENSE "c'),
        Parameter("seed", "1"),
    ]
    assert error_text('FROM foo\nSYSTEM "a" b\nPARAMETER top_k 1\n') == "unexpected EOF"


def test_double_quoted_values_span_lines_and_keep_carriage_returns() -> None:
    assert commands('FROM foo\r\nSYSTEM "a\r\nb"\r\nLICENSE """x\ry"""\r\n') == [
        FROM("foo"),
        Instruction("system", "a\r\nb"),
        Instruction("license", "x\ry"),
    ]


def test_unprintable_characters_are_dropped_tabs_and_spaces_kept() -> None:
    text = "FROM foo\nSYSTEM a\x00b\x1bc\u200bd\u00a0e\tf g\x7f\n"
    assert commands(text)[1] == Instruction("system", "abcde\tf g")


def test_an_unprintable_character_before_an_instruction_is_ignored() -> None:
    assert commands("FROM foo\n\x01SYSTEM hi\n\ufeffLICENSE MIT\n") == [
        FROM("foo"),
        Instruction("system", "hi"),
        Instruction("license", "MIT"),
    ]


def test_boms() -> None:
    assert commands(b"\xef\xbb\xbfFROM foo\n") == [FROM("foo")]
    assert commands("\ufeffFROM foo\n") == [FROM("foo")]
    # Without a BOM, bytes are UTF-8; bytes that are not become U+FFFD.
    assert commands(b"FROM foo\nSYSTEM a\xffb\n")[1] == Instruction("system", "a\ufffdb")


def test_tabs_separate_like_spaces() -> None:
    assert commands("FROM\tfoo\nPARAMETER\ttop_k\t1\nMESSAGE\tuser\thi\n") == [
        FROM("foo"),
        Parameter("top_k", "1"),
        ModelfileMessage("user", "hi"),
    ]


def test_empty_values_and_an_empty_parameter_name() -> None:
    assert commands("FROM foo\nSYSTEM \nPARAMETER  x y\n") == [
        FROM("foo"),
        Instruction("system", ""),
        Parameter("", "x y"),
    ]


def test_several_from_lines_anywhere() -> None:
    assert commands("SYSTEM s\nFROM a\nFROM b\n") == [
        Instruction("system", "s"),
        FROM("a"),
        FROM("b"),
    ]


def test_parse_returns_a_modelfile_with_accessors() -> None:
    modelfile = parse("FROM a\nLICENSE x\nLICENSE y\nSYSTEM s1\nSYSTEM s2\nPARAMETER top_k 1\n")
    assert isinstance(modelfile, Modelfile)
    assert modelfile.values("license") == ["x", "y"]
    assert modelfile.last("system") == "s2"
    assert modelfile.last("template") is None
    assert modelfile.parameters == [Parameter("top_k", "1")]
    assert modelfile.messages == []


# --- the reader against a plain, rune-at-a-time model of the same rules ------------------------

_INSTRUCTIONS = {"from", "license", "template", "system", "adapter", "draft", "renderer"}
_INSTRUCTIONS |= {"parser", "parameter", "message", "requires"}


def _unquote(text: str) -> str | None:
    if text.startswith('"""'):
        return text[3:-3] if len(text) >= 6 and text.endswith('"""') else None
    if text.startswith('"'):
        return text[1:-1] if len(text) >= 2 and text.endswith('"') else None
    return text


def reference_reading(text: str) -> list[tuple[str, str, str]] | str:
    """Contract 6.1 one character at a time, with no shortcuts: the commands, or the error."""
    found: list[tuple[str, str, str]] = []
    state, line, buffer, instruction, name = "between", 1, "", "", ""
    for char in text:
        if char in "\r\n":
            line += 1
        if state == "between":
            if char == "#":
                state = "comment"
            elif char not in " \t\r\n":
                state, buffer = "instruction", char if char.isprintable() else ""
        elif state == "comment":
            if char in "\r\n":
                state = "between"
        elif state == "instruction":
            if char.isascii() and char.isalpha():
                buffer += char
            elif char in " \t" and buffer.lower() in _INSTRUCTIONS:
                instruction, name, buffer = buffer.lower(), "", ""
                state = {"parameter": "name", "message": "role"}.get(instruction, "value")
            else:
                return f"(line {line}): {INVALID_COMMAND}"
        elif state == "name":
            if char.isascii() and (char.isalnum() or char == "_"):
                buffer += char
            elif char in " \t":
                state, name, buffer = "value", buffer, ""
            else:
                return f"unexpected EOF: {buffer}"
        elif state == "role":
            if char.isascii() and char.isalpha():
                buffer += char
            elif char in " \t":
                if buffer not in ("system", "user", "assistant"):
                    return f"(line {line}): {INVALID_ROLE}"
                state, name, buffer = "value", buffer, ""
            else:
                return f"unexpected EOF: {buffer}"
        elif char in "\r\n":
            value = _unquote(buffer.strip(" \t\r\n"))
            if value is None:
                buffer += char
            else:
                found.append((instruction, name, value))
                state, buffer = "between", ""
        elif char in " \t" or char.isprintable():
            buffer += char
    if state == "value":
        value = _unquote(buffer.strip(" \t\r\n"))
        if value is None:
            return "unexpected EOF"
        found.append((instruction, name, value))
    elif state in ("instruction", "name", "role"):
        return "unexpected EOF"
    return found


PIECES = st.one_of(
    st.sampled_from(['"', '"""', "\n", "\r", " ", "\t", "#", "\\", "\x00", "\u200b", "é"]),
    st.sampled_from(["FROM ", "SYSTEM ", "PARAMETER ", "MESSAGE ", "user ", "tool ", "top_k "]),
    st.sampled_from(["from", "x", "1", "-", "\nLICENSE ", "\n# c\n", '\nTEMPLATE """']),
    st.characters(codec="utf-8"),
)


STARTS = st.sampled_from(
    [
        "FROM",
        "SYSTEM",
        "template",
        "PARAMETER stop",
        "PARAMETER top-k",
        "MESSAGE user",
        "MESSAGE tool",
        "# note",
        "",
        "BAD",
        "LICENSE",
        "  PARAMETER",
    ]
)
VALUE_PIECES = st.one_of(
    st.sampled_from(['"', '"""', "\n", "\r\n", " ", "\t", "#", "a b", "\x01"]),
    st.characters(codec="utf-8"),
)
LINES = st.tuples(
    STARTS,
    st.sampled_from([" ", "\t", "  ", ""]),
    st.sampled_from(["", '"', '"""']),
    st.lists(VALUE_PIECES, max_size=8),
).map(lambda parts: "".join(parts[:3]) + "".join(parts[3]))
MODELFILE_LIKE = st.tuples(st.lists(LINES, max_size=8), st.sampled_from(["\n", "\r\n", "\r"])).map(
    lambda parts: parts[1].join(parts[0])
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.lists(PIECES, max_size=40).map("".join), MODELFILE_LIKE))
def test_the_reader_matches_a_plain_model_of_the_rules(text: str) -> None:
    expected = reference_reading(text)
    try:
        got: list[tuple[str, str, str]] | str = [
            (raw.instruction, raw.name, raw.value) for raw in lex(text)
        ]
    except ModelfileError as error:
        got = str(error)
    assert got == expected
