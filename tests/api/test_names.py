"""The model-name grammar of contract section 7, by example and by property."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tools.api.names import (
    ModelName,
    display_shortest,
    is_valid_model_name,
    normalize_model_name,
    parse_model_name,
    pull_name,
    same_model,
)
from tools.errors import InvalidModelName

# --- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "full"),
    [
        ("llama3", "registry.ollama.ai/library/llama3:latest"),
        ("llama3.2:1b", "registry.ollama.ai/library/llama3.2:1b"),
        ("me/my-model:v1", "registry.ollama.ai/me/my-model:v1"),
        ("example.com:5000/team/m", "example.com:5000/team/m:latest"),
        ("https://example.com/team/m:q4_K_M", "example.com/team/m:q4_K_M"),
        ("  padded  ", "registry.ollama.ai/library/padded:latest"),
        ("_u/_m:_t", "registry.ollama.ai/_u/_m:_t"),
        ("Llama3:8B", "registry.ollama.ai/library/Llama3:8B"),  # case is kept
        # Ollama leaves the scheme unchecked, and `scheme://` without a host is the default host.
        ("ftp://h/n/m", "h/n/m:latest"),
        ("a@b://h/n/m", "h/n/m:latest"),
        ("h:///n/m", "registry.ollama.ai/n/m:latest"),
    ],
)
def test_valid_names_normalise_with_defaults(text: str, full: str) -> None:
    assert normalize_model_name(text) == full
    assert str(parse_model_name(text)) == full


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("mm:", "tag is missing"),
        ("/nn/mm", "host is missing"),
        ("//", "model is missing"),
        ("hh//", "model is missing"),
        ("nn/", "model is missing"),
        ("m@d", "'@'"),
        ("@t", "'@'"),
        ("00@", "'@'"),
        ("bad/na/me/x", "contains '/'"),
        ("dotted.ns/m", "namespace 'dotted.ns' contains '.'"),
        ("-lead", "must start with"),
        ("m:.tag", "must start with"),
        ("m:t:u", "contains ':'"),
        ("sp ace", "contains ' '"),
        ("héllo", "contains 'é'"),
        ("a" * 81, "81 bytes long"),
        ("é" * 41, "82 bytes long"),  # lengths are in bytes, as Ollama counts them
        ("m:" + "t" * 81, "tag is 81 bytes long"),
        ("h" * 351 + "/n/m", "host is 351 bytes long"),
        ("a://b://h/n/m", "host 'b://h' contains '/'"),
        ("x:local:cloud", 'use either :local or :cloud, not both: "x:local:cloud"'),
        ("x:cloud:LOCAL", "not both"),
        ("x:8b-cloud:local", "not both"),
    ],
)
def test_invalid_names_say_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(InvalidModelName) as caught:
        parse_model_name(text)
    message = str(caught.value)
    assert repr(text) in message  # the name is quoted
    assert complaint in message
    assert isinstance(caught.value, ValueError)
    assert not is_valid_model_name(text)


def test_length_limits_are_inclusive() -> None:
    assert is_valid_model_name("m" * 80 + ":" + "t" * 80)
    assert is_valid_model_name("h" * 350 + "/" + "n" * 80 + "/m")


@pytest.mark.parametrize(
    ("text", "shortest"),
    [
        ("llama3", "llama3:latest"),
        ("registry.ollama.ai/library/llama3:8b", "llama3:8b"),
        ("REGISTRY.OLLAMA.AI/LIBRARY/m", "m:latest"),  # defaults compare case-insensitively
        ("me/m", "me/m:latest"),
        ("registry.ollama.ai/me/m:t", "me/m:t"),
        ("example.com/library/m", "example.com/library/m:latest"),
    ],
)
def test_display_shortest(text: str, shortest: str) -> None:
    assert display_shortest(text) == shortest
    assert display_shortest(parse_model_name(text)) == shortest


def test_names_match_case_insensitively_with_defaults_applied() -> None:
    assert same_model("llama3", "REGISTRY.ollama.ai/Library/LLAMA3:Latest")
    assert same_model(parse_model_name("me/m:v1"), "me/M:V1")
    assert not same_model("me/m:v1", "me/m:v2")
    assert not same_model("me/m", "you/m")
    # Dataclass equality stays exact, so a new name keeps the case it was written in.
    assert parse_model_name("M") != parse_model_name("m")


def test_scheme_does_not_change_identity() -> None:
    assert parse_model_name("http://h.io/n/m") == parse_model_name("h.io/n/m")
    assert parse_model_name("http://h.io/n/m").scheme == "http"
    assert parse_model_name("h.io/n/m").scheme == parse_model_name("://h.io/n/m").scheme == "https"


@pytest.mark.parametrize(
    ("text", "source", "model", "tag", "pulled"),
    [
        ("x:cloud", "cloud", "x", "latest", "x:cloud"),
        ("x:8b:cloud", "cloud", "x", "8b", "x:8b-cloud"),
        ("x:8b-cloud", "cloud", "x", "8b", "x:8b-cloud"),
        ("x:CLOUD", "cloud", "x", "latest", "x:cloud"),
        ("x:local", "local", "x", "latest", "x"),
        ("x:8b:local", "local", "x", "8b", "x:8b"),
        ("h.io:5000/n/x", None, "x", "latest", "h.io:5000/n/x"),
        ("x:8b", None, "x", "8b", "x:8b"),
    ],
)
def test_local_and_cloud_suffixes(
    text: str, source: str | None, model: str, tag: str, pulled: str
) -> None:
    name = parse_model_name(text)
    assert (name.source, name.model, name.tag) == (source, model, tag)
    assert pull_name(text) == pulled


# --- properties -------------------------------------------------------------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


def _part(rest: str, max_size: int) -> st.SearchStrategy[str]:
    return st.builds(
        lambda first, more: first + more,
        st.sampled_from(_ALNUM),
        st.text(alphabet=_ALNUM + rest, max_size=max_size - 1),
    )


hosts = _part("-.:", 40)
namespaces = _part("-", 80)
models = _part("-.", 80)
tags = _part("-.", 80)


def _is_source_tag(tag: str) -> bool:
    lowered = tag.lower()
    return lowered in {"cloud", "local"} or lowered.endswith("-cloud")


@st.composite
def written_names(draw: st.DrawFn) -> tuple[str, ModelName]:
    """A valid name written in one of its shapes, and the parts it must parse to."""
    host = draw(st.none() | hosts)
    namespace = draw(st.none() | namespaces) if host is None else draw(namespaces)
    model = draw(models)
    tag = draw(st.none() | tags.filter(lambda t: not _is_source_tag(t)))
    text = model
    if namespace is not None:
        text = f"{namespace}/{text}"
    if host is not None:
        text = f"{host}/{text}"
    if tag is not None:
        text = f"{text}:{tag}"
    expected = ModelName(
        host=host or "registry.ollama.ai",
        namespace=namespace or "library",
        model=model,
        tag=tag or "latest",
    )
    return text, expected


@given(written_names())
def test_valid_names_parse_to_their_parts(case: tuple[str, ModelName]) -> None:
    text, expected = case
    assert parse_model_name(text) == expected


@given(written_names())
def test_normal_and_shortest_forms_parse_back_to_the_same_name(case: tuple[str, ModelName]) -> None:
    text, _ = case
    name = parse_model_name(text)
    assert parse_model_name(name.full) == name
    assert parse_model_name(name.shortest).same_model(name)
    assert display_shortest(name.shortest) == name.shortest


@given(written_names())
def test_matching_ignores_case(case: tuple[str, ModelName]) -> None:
    text, _ = case
    assert same_model(text, text.swapcase())
    assert same_model(text.upper(), text.lower())


@given(written_names(), st.sampled_from(list("@ /\\!#$%&*+,;<=>?[]^`{|}~\"'é\t")))
def test_a_forbidden_character_in_the_model_is_rejected(
    case: tuple[str, ModelName], bad: str
) -> None:
    _, name = case
    text = f"{name.namespace}/{name.model}{bad}x:{name.tag}"
    assume(not (bad == "/" and is_valid_model_name(text)))  # '/' may just shift the parts
    with pytest.raises(InvalidModelName):
        parse_model_name(text)


# An independent statement of the grammar as one regular expression: the host comes only with a
# namespace, the tag only after the model, and each part has its own characters and length. A
# scheme is anything up to the first `://`, and the host may then be left out.
_HOST = r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}"
_ORACLE = re.compile(
    rf"(?:(?:(?:(?:(?!://).)*://(?:{_HOST})?|{_HOST})/)?[A-Za-z0-9_][A-Za-z0-9_-]{{0,79}}/)?"
    r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,79})?"
)


@given(st.text(alphabet="aZ9_-.:/@ ", max_size=24))
def test_the_grammar_agrees_with_a_regular_expression(text: str) -> None:
    assume(text == text.strip())
    lowered = text.lower()
    assume("cloud" not in lowered and "local" not in lowered)
    assert is_valid_model_name(text) == bool(_ORACLE.fullmatch(text)), text


@given(st.text(max_size=40))
def test_parsing_any_text_either_succeeds_or_raises_invalid_model_name(text: str) -> None:
    try:
        name = parse_model_name(text)
    except InvalidModelName as exc:
        assert repr(text) in str(exc)
    else:
        assert parse_model_name(name.full).same_model(name)


def test_a_name_checked_again_is_not_parsed_again_and_a_bad_one_still_fails_each_time() -> None:
    """generate and chat check their model's name twice per call: the second is a lookup."""
    assert parse_model_name("llama3.2:latest") is parse_model_name("llama3.2:latest")
    for _ in range(2):
        with pytest.raises(InvalidModelName):
            parse_model_name("bad name")
