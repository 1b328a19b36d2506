"""generate, chat and embed options are checked before anything is sent: a misspelt name that
Ollama would silently ignore, a value of the wrong type that it would fail on with a 500, a
number that JSON cannot carry or that means nothing negative."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ollama_double.server import OllamaDouble
from tools import OllamaClient, ParameterError
from tools.api.options import check_options


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": "hot"}, "options['temperature']: must be a number, not 'hot'"),
        ({"temperature": True}, "options['temperature']: must be a number, not True"),
        ({"top_k": 4.5}, "options['top_k']: must be a whole number, not 4.5"),
        ({"top_p": float("inf")}, "options['top_p']: must be a finite number, not inf"),
        ({"min_p": float("nan")}, "options['min_p']: must be a finite number, not nan"),
        ({"seed": None}, "options['seed']: must be a number, not null (JSON carries NaN and "
                         "infinity as null)"),
        ({"num_ctx": -2048}, "options['num_ctx']: must not be negative, not -2048"),
        ({"use_mmap": 1}, "options['use_mmap']: must be true or false, not 1"),
        ({"stop": [1]}, "options['stop']: must be a string or a list of strings, not [1]"),
        ({"temprature": 0}, "options['temprature']: unknown option (did you mean "
                            "'temperature'?); the options are "
                            "draft_num_predict, frequency_penalty, main_gpu, min_p, num_batch, "
                            "num_ctx, num_gpu, num_keep, num_predict, num_thread, "
                            "presence_penalty, repeat_last_n, repeat_penalty, seed, stop, "
                            "temperature, top_k, top_p, typical_p, use_mmap"),
    ],
)  # fmt: skip
def test_a_bad_option_is_named(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError) as caught:
        check_options(options)
    assert str(caught.value) == message


def test_an_option_nothing_like_any_gets_no_guess() -> None:
    with pytest.raises(ParameterError) as caught:
        check_options({"xyzzy": 1})
    assert str(caught.value).startswith("options['xyzzy']: unknown option; the options are ")


@pytest.mark.parametrize(
    "options",
    [
        {"temperature": 0, "top_k": 40, "num_predict": -1, "seed": -1, "stop": ["\n"]},
        {"stop": "END", "use_mmap": False, "num_ctx": 4096.0, "mirostat": 2},
        None,
    ],
)
def test_good_options_pass(options: dict[str, Any] | None) -> None:
    check_options(options)


async def test_nothing_is_sent_for_a_bad_option(ollama_double: OllamaDouble) -> None:
    async with OllamaClient(ollama_double.url) as client:
        with pytest.raises(ParameterError):
            await client.chat("llama3.2", [], options={"temperature": "hot"})
        with pytest.raises(ParameterError):
            await client.embed("all-minilm", "x", options={"num_ctx": -1})
        with pytest.raises(ParameterError):
            await client.generate("llama3.2", "x", options={"top_p": float("nan")})
    assert ollama_double.requests.entries() == []
