"""`render` writes text that `parse` reads back unchanged, or refuses naming the field; no value
can add or remove an instruction."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.errors import ModelfileError, UnrepresentableValueError
from tools.modelfile.document import (
    KEYWORDS,
    ROLES,
    Command,
    Instruction,
    Modelfile,
    ModelfileMessage,
    Parameter,
    parse,
    render,
)

PROPERTY = settings(max_examples=300, deadline=None)


def FROM(value: str) -> Instruction:
    return Instruction("from", value)


@pytest.mark.parametrize(
    "text",
    [  # TestParseFileFormatParseFile: parse, write, parse again gives the same
        "\nFROM foo\nADAPTER adapter1\nLICENSE MIT\nPARAMETER param1 value1\n"
        "PARAMETER param2 value2\nTEMPLATE template1\n"
        "MESSAGE system You are a file parser. Always parse things.\nMESSAGE user Hey there!\n"
        "MESSAGE assistant Hello, I want to parse all the things!\n",
        "\nFROM foo\nADAPTER adapter1\nLICENSE MIT\nPARAMETER param1 value1\n"
        'PARAMETER param2 value2\nTEMPLATE template1\nMESSAGE system """\n'
        'You are a store greeter. Always respond with "Hello!".\n"""\n'
        "MESSAGE user Hey there!\nMESSAGE assistant Hello, I want to parse all the things!\n",
        '\nFROM foo\nADAPTER adapter1\nLICENSE """\nVery long and boring legal text.\n'
        'Blah blah blah.\n"Oh look, a quote!"\n"""\n\nPARAMETER param1 value1\n'
        "PARAMETER param2 value2\nTEMPLATE template1\n"
        'MESSAGE system """\nYou are a store greeter. Always respond with "Hello!".\n"""\n'
        "MESSAGE user Hey there!\nMESSAGE assistant Hello, I want to parse all the things!\n",
        '\nFROM foo\nSYSTEM ""\n',
    ],
)
def test_upstream_round_trips(text: str) -> None:
    modelfile = parse(text)
    assert parse(render(modelfile)) == modelfile


def test_the_written_form() -> None:
    modelfile = Modelfile(
        [
            FROM("llama3.2"),
            Instruction("adapter", "./my adapter.gguf"),
            Instruction("system", "Be brief."),
            Instruction("template", "{{ .Prompt }}\n"),
            Parameter("stop", "<|eot_id|>"),
            Parameter("stop", " x "),
            Parameter("stop", "\n\n"),
            Parameter("stop", ""),
            Parameter("stop", '"quoted"'),
            Parameter("stop", '""'),
            ModelfileMessage("user", "# not a comment"),
            Instruction("license", "MIT"),
            Instruction("requires", "0.14.0"),
        ]
    )
    assert render(modelfile) == (
        "FROM llama3.2\n"
        "ADAPTER ./my adapter.gguf\n"
        'SYSTEM """Be brief."""\n'
        'TEMPLATE """{{ .Prompt }}\n"""\n'
        "PARAMETER stop <|eot_id|>\n"
        'PARAMETER stop " x "\n'
        'PARAMETER stop """\n\n"""\n'
        'PARAMETER stop ""\n'
        'PARAMETER stop ""quoted""\n'
        'PARAMETER stop """"""""\n'
        "MESSAGE user # not a comment\n"
        'LICENSE """MIT"""\n'
        "REQUIRES 0.14.0\n"
    )
    assert parse(render(modelfile)) == modelfile


@pytest.mark.parametrize(
    "value",
    ['"', '""', '"""', 'a"""b', '"a"', ' """ ', 'x\ny"\nz', 'say "hi"\nthen """ go', "\t"],
)
def test_quotes_that_ollama_cannot_write_are_written_safely(value: str) -> None:
    modelfile = Modelfile([FROM("m"), Instruction("system", value), Parameter("stop", value)])
    assert parse(render(modelfile)) == modelfile


@pytest.mark.parametrize(
    "value",
    [
        'x"""\nADAPTER /etc/passwd',
        'x"""  \t\nADAPTER /etc/passwd',
        'x"""\r\nFROM evil',
        '"""\n"""',
        'a\n"""\nb',
    ],
)
def test_a_value_that_would_close_its_quotes_early_is_refused(value: str) -> None:
    for command, field in [
        (Instruction("system", value), "SYSTEM"),
        (Instruction("license", value), "LICENSE"),
        (Parameter("stop", value), "PARAMETER stop"),
        (ModelfileMessage("assistant", value), "MESSAGE assistant"),
    ]:
        with pytest.raises(UnrepresentableValueError) as caught:
            render(Modelfile([FROM("m"), command]))
        assert caught.value.field == field
        assert str(caught.value).startswith(f"{field}: cannot be written in a Modelfile: ")
        assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\u200b", "\u00a0", "\u2028", "\ufeff", "\x7f"])
def test_characters_ollama_drops_are_refused(char: str) -> None:
    with pytest.raises(UnrepresentableValueError) as caught:
        render(Modelfile([FROM("m"), Instruction("template", f"a{char}b")]))
    assert caught.value.field == "TEMPLATE"
    assert f"U+{ord(char):04X}" in str(caught.value)


@pytest.mark.parametrize("value", [" llama3", "llama3 ", '"llama3"', "a\nb", "\tx"])
def test_from_is_never_quoted(value: str) -> None:
    with pytest.raises(UnrepresentableValueError) as caught:
        render(Modelfile([FROM(value)]))
    assert caught.value.field == "FROM"


def test_a_modelfile_without_from_is_refused() -> None:
    with pytest.raises(UnrepresentableValueError) as caught:
        render(Modelfile([Instruction("system", "hi")]))
    assert caught.value.field == "FROM"
    assert "no FROM line" in str(caught.value)


def test_commands_check_their_own_shape() -> None:
    with pytest.raises(ValueError, match="PARAMETER name"):
        Parameter("top-k", "1")
    with pytest.raises(ValueError, match="message role must be one of"):
        ModelfileMessage("tool", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown Modelfile instruction"):
        Instruction("include", "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SYSTEM must be a string"):
        Instruction("system", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a Modelfile command"):
        Modelfile(["FROM x"])  # type: ignore[list-item]


# --- properties -------------------------------------------------------------------------------

# Pieces that break naive writers: quotes, line breaks, comment marks, instructions, blanks.
TRICKY = st.sampled_from(
    ['"', '"""', '""', "\n", "\r", "\r\n", " ", "\t", "#", "\\", "'", "\u200b", "\x00", "é👋"]
)
LINE_STARTS = st.sampled_from(
    [
        "\nFROM x",
        "\nADAPTER /etc/passwd",
        "\nPARAMETER stop ",
        "\nSYSTEM ",
        "\nMESSAGE user ",
        "\n# note",
        "\nLICENSE ",
        "{{ .Prompt }}",
        "\nPARAMETER top-k 1",
        "\nMESSAGE tool x",
    ]
)
PRINTABLE = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")
)
PIECES = st.one_of(TRICKY, LINE_STARTS, PRINTABLE, PRINTABLE, st.characters(codec="utf-8"))
VALUES = st.lists(PIECES, max_size=12).map("".join)
TEXTS = st.lists(PIECES, max_size=40).map("".join)
# Only quotes, blanks and line breaks: where a writer is most likely to close a value early.
QUOTEY = st.lists(st.sampled_from(['"', '"""', "\n", "\r\n", " ", "\t", "a"]), max_size=16).map(
    "".join
)
MODEL_NAMES = st.from_regex(re.compile(r"[a-z0-9][a-z0-9:._/-]{0,15}", re.ASCII), fullmatch=True)
NAMES = st.from_regex(re.compile(r"[A-Za-z0-9_]{0,8}", re.ASCII), fullmatch=True)
COMMANDS: st.SearchStrategy[Command] = st.one_of(
    st.builds(Instruction, st.sampled_from(KEYWORDS), VALUES),
    st.builds(Parameter, NAMES, VALUES),
    st.builds(ModelfileMessage, st.sampled_from(ROLES), VALUES),
)
MODELFILES = st.builds(
    lambda first, rest: Modelfile([first, *rest]),
    st.builds(Instruction, st.just("from"), st.one_of(MODEL_NAMES, VALUES)),
    st.lists(COMMANDS, max_size=6),
)


def _field(command: Command) -> str:
    if isinstance(command, Parameter):
        return f"PARAMETER {command.name}"
    if isinstance(command, ModelfileMessage):
        return f"MESSAGE {command.role}"
    return command.keyword.upper()


def _writable(command: Command) -> bool:
    """An oracle independent of the writer: can any text carry this command's value?"""
    value = command.content if isinstance(command, ModelfileMessage) else command.value
    if any(not (c.isprintable() or c in " \t\r\n") for c in value):
        return False
    if isinstance(command, Instruction) and command.keyword == "from":
        return (
            value == value.strip(" \t")
            and not value.startswith('"')
            and "\r" not in value
            and "\n" not in value
        )
    lines_before_breaks = re.split(r"[\r\n]", value)[:-1]
    return not any(line.rstrip(" \t").endswith('"""') for line in lines_before_breaks)


@PROPERTY
@given(MODELFILES)
def test_render_round_trips_or_refuses_the_first_unwritable_field(modelfile: Modelfile) -> None:
    unwritable = [c for c in modelfile.commands if not _writable(c)]
    try:
        text = render(modelfile)
    except UnrepresentableValueError as refusal:
        assert unwritable, f"refused a writable Modelfile: {refusal}"
        assert refusal.field == _field(unwritable[0])
        return
    assert not unwritable
    assert parse(text) == modelfile


@PROPERTY
@given(
    st.one_of(VALUES, QUOTEY),
    st.sampled_from(["system", "template", "license", "adapter", "requires"]),
)
def test_no_value_adds_or_removes_an_instruction(value: str, keyword: str) -> None:
    around = [FROM("base"), Parameter("top_k", "1")]
    for command in (
        Instruction(keyword, value),  # type: ignore[arg-type]
        Parameter("stop", value),
        ModelfileMessage("user", value),
    ):
        modelfile = Modelfile([around[0], command, around[1]])
        try:
            text = render(modelfile)
        except UnrepresentableValueError as refusal:
            assert refusal.field == _field(command)
            continue
        read = parse(text).commands
        assert len(read) == 3
        assert [type(c) for c in read] == [Instruction, type(command), Parameter]
        assert read[1] == command


@PROPERTY
@given(TEXTS)
def test_whatever_parses_writes_back_to_the_same(text: str) -> None:
    try:
        modelfile = parse("FROM x\n" + text)
    except ModelfileError:
        return
    try:
        written = render(modelfile)
    except UnrepresentableValueError:
        # Only FROM values read from quotes, which FROM lines are never written with.
        assert any(
            isinstance(c, Instruction) and c.keyword == "from" and not _writable(c)
            for c in modelfile.commands
        )
        return
    assert parse(written) == modelfile
