"""A tool's text never floods the agent's context: a 30,000-token license stays out unless
asked for, and asked for, the text is cut at a bound that says what was left out and how to get
it, while the structured result holds all of it."""

from __future__ import annotations

from server.results import MAX_TEXT_CHARS, bounded
from tests.server.conftest import Connect
from tests.server.reliability.helpers import structured, text

LICENSE = " ".join(f"clause{i}" for i in range(30_000))  # about 30,000 tokens, 240 KB


async def test_a_huge_license_is_left_out_or_cut_with_a_pointer(connect: Connect) -> None:
    modelfile = f'FROM llama3.2\nLICENSE """{LICENSE}"""'
    async with connect() as client:
        created = await client.call_tool(
            "create_model", {"name": "lawyered", "modelfile": modelfile}
        )
        plain = await client.call_tool("show_model", {"name": "lawyered"})
        asked = await client.call_tool("show_model", {"name": "lawyered", "include": ["license"]})
    assert not created.is_error, text(created)
    assert "clause1 " not in text(plain) and len(text(plain)) < 1_000
    cut = len(text(asked)) - MAX_TEXT_CHARS
    assert text(asked).endswith(
        " more characters left out of this text: the structured result holds all of it; or "
        "read the resource ollama://models/lawyered, or ask for one include at a time]"
    )
    assert 0 < cut < 300
    assert structured(asked)["license"].endswith(LICENSE)  # after the base model's licenses


def test_the_bound_says_how_much_was_left_out() -> None:
    assert bounded("short") == "short"
    assert bounded("x" * MAX_TEXT_CHARS) == "x" * MAX_TEXT_CHARS
    assert bounded("x" * (MAX_TEXT_CHARS + 1234), "call again") == (
        "x" * MAX_TEXT_CHARS + "\n[1,234 more characters left out of this text: the structured "
        "result holds all of it; call again]"
    )
