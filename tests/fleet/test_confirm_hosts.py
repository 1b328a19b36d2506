"""Confirmation with several hosts: the question names the host the change is made on (the one
named by `host`, else the default), and a call refused for its host is not asked about."""

from __future__ import annotations

import mcp.types as types
from mcp import Client

from server.app import build_server
from tests.fleet.conftest import Hosts
from tests.server.test_confirm import (
    NOT_YES,
    QWEN,
    QWEN_SIZE,
    YES,
    Person,
    folder_hashes,
    not_replaced,
    text,
)


async def test_the_question_names_the_host_and_a_no_leaves_it_untouched(
    hosts: Hosts, mode: str
) -> None:
    person = Person(NOT_YES["decline"])
    before = folder_hashes(hosts["b"].models_dir)
    async with Client(
        build_server(hosts.settings), mode=mode, elicitation_callback=person
    ) as client:
        declined = await client.call_tool("delete_model", {"name": "qwen3", "host": "b"})
        kept = await client.call_tool(
            "copy_model", {"source": "llama3.2", "destination": "qwen3", "host": "b"}
        )
    assert person.asked == [
        f"Delete {QWEN} ({QWEN_SIZE}) from b?",
        f"Replace the existing model {QWEN} ({QWEN_SIZE}) on b with a copy of llama3.2?",
    ]
    assert text(declined) == (
        "Error executing tool delete_model: not deleted: the person declined deleting qwen3; "
        "nothing was changed. Do not try again on your own: ask them first whether it should "
        "still be deleted"
    )
    assert text(kept) == not_replaced("copy_model", "qwen3")
    assert folder_hashes(hosts["b"].models_dir) == before


async def test_without_host_the_default_is_asked_about(hosts: Hosts, mode: str) -> None:
    person = Person(YES)
    async with Client(
        build_server(hosts.settings), mode=mode, elicitation_callback=person
    ) as client:
        deleted = await client.call_tool("delete_model", {"name": "gemma2:2b"})
    assert len(person.asked) == 1 and person.asked[0].endswith(") from a?")
    assert person.asked[0].startswith("Delete gemma2:2b (")
    assert text(deleted) == "deleted gemma2:2b\n[host a]"
    assert "gemma2:2b" not in hosts["a"].installed_names()


async def test_a_call_refused_for_its_host_is_not_asked_about(hosts: Hosts, mode: str) -> None:
    person = Person(YES)
    async with Client(
        build_server(hosts.settings), mode=mode, elicitation_callback=person
    ) as client:
        ambiguous = await client.call_tool("delete_model", {"name": "llama3.2"})
        unknown = await client.call_tool("delete_model", {"name": "qwen3", "host": "nope"})
    assert person.asked == []
    assert text(ambiguous).startswith(
        "Error executing tool delete_model: model 'llama3.2' is on several hosts (a, b)"
    )
    assert text(unknown).startswith("Error executing tool delete_model: no host is named 'nope'")
    assert all("llama3.2:latest" in hosts[n].installed_names() for n in ("a", "b"))


async def test_ollama_status_on_several_hosts_tells_of_confirmation(
    hosts: Hosts, mode: str
) -> None:
    async with Client(build_server(hosts.settings), mode=mode) as client:
        status = await client.call_tool("ollama_status", {})
    assert isinstance(status.content[0], types.TextContent)
    assert (
        "confirmation: on, but this client cannot ask the person (no elicitation): deletes and "
        "replacements go ahead unasked"
    ) in text(status).splitlines()
