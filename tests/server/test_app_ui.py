"""The model library App on the wire: what a client that negotiated MCP Apps gets (the page, the
`_meta.ui` of three tools, `library_view`), and that a client without Apps gets exactly what it
got before. The page itself is tested in a real browser (tests/browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mcp.types as types
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import TextContent

from server.app import build_server
from server.app_ui import LIBRARY_URI, UI_TOOLS
from server.app_ui.wiring import library_html
from server.settings import Settings
from tests.adapter_factories import write_peft_dir
from tests.server.conftest import Connect, with_settings

APPS = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
HTML_BUDGET = 60_000  # bytes: the goal (bench/ reports the size against it)
LLAMA_HIDDEN = 3072


def text(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def listed(client: Client) -> tuple[dict[str, Any], list[str]]:
    tools = {
        t.name: t.model_dump(by_alias=True, exclude_none=True, mode="json")
        for t in (await client.list_tools()).tools
    }
    uris = [str(r.uri) for r in (await client.list_resources()).resources]
    return tools, uris


async def test_a_client_without_apps_sees_no_change(connect: Connect) -> None:
    async with connect() as client:
        tools, uris = await listed(client)
        result = await client.call_tool("list_models", {})
    assert "library_view" not in tools
    assert all("_meta" not in tool for tool in tools.values())
    assert not any(uri.startswith("ui://") for uri in uris)
    assert set(result.structured_content or {}) == {"models", "source", "cached_at"}
    assert "ui" not in (result.meta or {})


async def test_a_client_with_apps_gets_the_app(connect: Connect) -> None:
    async with connect(extensions=APPS) as client:
        tools, uris = await listed(client)
        read = await client.read_resource(LIBRARY_URI)
        plain = await client.call_tool("list_models", {})
    for name in UI_TOOLS:
        assert tools[name]["_meta"] == {"ui": {"resourceUri": LIBRARY_URI}}, name
    assert tools["library_view"]["_meta"]["ui"] == {
        "resourceUri": LIBRARY_URI,
        "visibility": ["app"],
    }
    assert tools["library_view"]["annotations"]["readOnlyHint"] is True
    assert LIBRARY_URI in uris
    (page,) = read.contents
    assert page.mime_type == APP_MIME_TYPE
    dumped = page.model_dump(by_alias=True, mode="json")
    assert dumped["_meta"]["ui"]["csp"] == {"connectDomains": [], "resourceDomains": []}
    assert dumped["text"] == library_html()
    # the results themselves are the same for both kinds of client
    assert set(plain.structured_content or {}) == {"models", "source", "cached_at"}


def test_the_page_is_one_self_contained_file_under_budget() -> None:
    html = library_html()
    assert len(html.encode()) < HTML_BUDGET
    lowered = html.lower()
    for outside in ("http://", "https://", "src=", "@import", "fetch(", "xmlhttprequest"):
        assert outside not in lowered, outside  # nothing loaded from anywhere
    assert "default-src 'none'" in html and "connect-src 'none'" in html


async def test_library_view_is_refused_to_a_client_without_apps(connect: Connect) -> None:
    async with connect() as client:
        result = await client.call_tool("library_view", {})
    assert result.is_error
    assert text(result) == (
        "library_view is a tool of the model library App (MCP Apps, io.modelcontextprotocol/ui), "
        "and this client did not negotiate Apps: use list_models, list_running and pull_status"
    )


async def test_library_view_shows_everything_and_the_offered_actions(connect: Connect) -> None:
    async with connect(extensions=APPS) as client:
        result = await client.call_tool("library_view", {})
    assert not result.is_error, text(result)
    view = result.structured_content
    assert view is not None
    lengths = {m["name"]: m["context_length"] for m in view["installed"]}
    assert lengths["all-minilm:latest"] == 512
    assert view["running"] == [] and view["pulls"] == [] and view["last_package"] is None
    assert view["actions"] == {
        "pull": True, "cancel_pull": True, "delete": True, "browse": True, "push": True,
        "delete_asks": False,  # this client cannot ask its user: the page asks before a delete
    }  # fmt: skip
    assert text(result) == "the model library App's view: 4 model(s) installed"


@pytest.mark.parametrize(
    ("changes", "delete_asks"),
    [({}, True), ({"no_confirm": True}, False), ({"read_only": True}, False)],
)
async def test_the_page_leaves_the_question_to_a_client_that_asks_its_user(
    connect: Connect, settings: Settings, changes: dict[str, Any], delete_asks: bool
) -> None:
    async def person(ctx: Any, params: Any) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    async with connect(
        with_settings(settings, **changes), extensions=APPS, elicitation_callback=person
    ) as client:
        view = (await client.call_tool("library_view", {})).structured_content
    assert view is not None
    assert view["actions"]["delete_asks"] is delete_asks


@pytest.mark.parametrize(
    ("changes", "actions"),
    [
        (
            {"read_only": True},
            {"pull": False, "cancel_pull": False, "delete": False, "push": False},
        ),
        ({"toolsets": ("models",)}, {"pull": False, "cancel_pull": False, "browse": False}),
        ({"allow_push": False}, {"push": False, "pull": True, "delete": True}),
    ],
)
async def test_read_only_toolsets_and_push_take_the_buttons_away(
    connect: Connect, settings: Settings, changes: dict[str, Any], actions: dict[str, bool]
) -> None:
    async with connect(with_settings(settings, **changes), extensions=APPS) as client:
        view = (await client.call_tool("library_view", {})).structured_content
    assert view is not None
    assert {k: v for k, v in view["actions"].items() if k in actions} == actions
    if "toolsets" in changes:
        assert view["pulls"] is None  # pull_status is not offered: the section has no data


async def test_no_app_when_no_tool_opens_it(settings: Settings) -> None:
    server = build_server(with_settings(settings, toolsets=("inference",)))
    async with Client(server, extensions=APPS) as client:
        tools, uris = await listed(client)
    assert "library_view" not in tools and LIBRARY_URI not in uris


async def test_the_last_packaging_report_is_kept_for_the_app(
    connect: Connect, allowed_dir: Path
) -> None:
    adapter = write_peft_dir(allowed_dir / "peft", hidden=LLAMA_HIDDEN)
    async with connect(extensions=APPS) as client:
        packaged = await client.call_tool(
            "package_adapter",
            {"path": str(adapter), "name": "my-finetune", "base_model": "llama3.2"},
        )
        failed = await client.call_tool(
            "package_adapter",
            {"path": str(allowed_dir / "nothing"), "name": "other", "base_model": "llama3.2"},
        )
        view = (await client.call_tool("library_view", {})).structured_content
    assert not packaged.is_error and failed.is_error  # a failure leaves the last report alone
    assert view is not None
    assert view["last_package"] == {**(packaged.structured_content or {}), "host": None}
