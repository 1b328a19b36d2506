"""Confirmation through elicitation (issue 23): delete_model asks, create_model, copy_model and
package_adapter ask before they replace an installed model; any answer but yes changes nothing.
The SDK's real client in both eras (its `elicitation_callback` is the person), the Ollama double
behind the server, and its model folder compared byte for byte."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mcp.types as types
import pytest
from mcp import Client, StdioServerParameters

from server.app import build_server
from server.settings import Settings, SettingsError, _settings, parse_args
from server.tasks.protocol import HAND_OFF_AFTER
from server.tasks.records import RELATED_TASK
from tests.adapter_factories import write_peft_dir
from tests.ollama_double.server import OllamaDouble
from tests.server.conftest import Connect, with_settings
from tests.server.tasks_client import TasksClient, call_as_task, get_task, task_result
from tests.server.test_building_tools import LLAMA_HIDDEN
from tests.server.test_stdio import server_args

# The double's seeded models, as /api/tags lists them.
LLAMA = "llama3.2:latest"
LLAMA_SIZE = "18.8 KB"
QWEN = "qwen3:latest"
QWEN_SIZE = "18.4 KB"

DELETE_LLAMA = f"Delete {LLAMA} ({LLAMA_SIZE})?"
NOT_DELETED = (
    "Error executing tool delete_model: not deleted: the person declined deleting llama3.2; "
    "nothing was changed. Do not try again on your own: ask them first whether it should still "
    "be deleted"
)


def not_replaced(tool: str, name: str) -> str:
    return (
        f"Error executing tool {tool}: not replaced: the person declined replacing the existing "
        f"model {name}; nothing was changed. Do not try again on your own: ask them first, or "
        "whether to use another name"
    )


# Each answer a person can give that is not yes: decline, dismiss, or accept the form with "no".
NOT_YES = {
    "decline": types.ElicitResult(action="decline"),
    "cancel": types.ElicitResult(action="cancel"),
    "accept-no": types.ElicitResult(action="accept", content={"confirm": False}),
}
YES = types.ElicitResult(action="accept", content={"confirm": True})


class Person:
    """The elicitation callback: every question it was asked, and one answer for all."""

    def __init__(self, answer: types.ElicitResult = YES) -> None:
        self.answer = answer
        self.asked: list[str] = []
        self.fields: list[dict[str, Any]] = []

    async def __call__(self, ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestFormParams)
        self.asked.append(params.message)
        self.fields.append(params.requested_schema["properties"])
        return self.answer


def folder_hashes(folder: Path) -> dict[str, str]:
    """Every file under `folder`, by relative path, with the SHA-256 of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def changes_sent(double: OllamaDouble) -> list[str]:
    """Requests that change a model (reads are GET /api/tags, POST /api/show, HEAD blobs)."""
    reads = {("GET", "/api/tags"), ("POST", "/api/show"), ("GET", "/api/version")}
    return [
        f"{e.method} {e.path}"
        for e in double.requests.entries()
        if (e.method, e.path) not in reads and e.method != "HEAD"
    ]


def text(result: types.CallToolResult) -> str:
    content = result.content[0]
    assert isinstance(content, types.TextContent)
    return content.text


# --- delete_model -------------------------------------------------------------------------------


async def test_yes_deletes_after_naming_the_model_and_its_size(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    person = Person(YES)
    async with connect(elicitation_callback=person) as client:
        result = await client.call_tool("delete_model", {"name": "llama3.2"})
    assert not result.is_error, text(result)
    assert text(result) == "deleted llama3.2"
    assert person.asked == [DELETE_LLAMA]
    assert list(person.fields[0]) == ["confirm"]
    assert person.fields[0]["confirm"]["type"] == "boolean"
    assert LLAMA not in ollama_double.installed_names()


@pytest.mark.parametrize("answer", sorted(NOT_YES))
async def test_any_answer_but_yes_leaves_the_store_byte_for_byte(
    connect: Connect, ollama_double: OllamaDouble, answer: str
) -> None:
    before = folder_hashes(ollama_double.models_dir)
    person = Person(NOT_YES[answer])
    async with connect(elicitation_callback=person) as client:
        result = await client.call_tool("delete_model", {"name": "llama3.2"})
    assert result.is_error
    assert text(result) == NOT_DELETED
    assert person.asked == [DELETE_LLAMA]
    assert changes_sent(ollama_double) == []
    assert folder_hashes(ollama_double.models_dir) == before


async def test_the_size_is_the_one_list_models_shows(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    person = Person(NOT_YES["decline"])
    async with connect(elicitation_callback=person) as client:
        listed = await client.call_tool("list_models", {})
        await client.call_tool("delete_model", {"name": "qwen3"})
    assert f"{QWEN}  {QWEN_SIZE}  " in text(listed)
    assert person.asked == [f"Delete {QWEN} ({QWEN_SIZE})?"]


async def test_a_model_that_is_not_installed_is_not_asked_about(connect: Connect) -> None:
    person = Person(YES)
    async with connect(elicitation_callback=person) as client:
        result = await client.call_tool("delete_model", {"name": "nope"})
    assert person.asked == []
    assert text(result) == (
        "Error executing tool delete_model: model 'nope' is not installed: pull it with "
        "pull_model, or call list_models for the installed names"
    )


async def test_a_call_refused_for_an_unknown_argument_is_not_asked_about(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    person = Person(YES)
    async with connect(elicitation_callback=person) as client:
        refused = await client.call_tool("delete_model", {"name": "llama3.2", "force": True})
        deleted = await client.call_tool("delete_model", {"name": "llama3.2"})
    assert text(refused) == (
        "Error executing tool delete_model: unknown argument 'force': delete_model takes name"
    )
    assert person.asked == [DELETE_LLAMA]  # only the second call, which ran
    assert text(deleted) == "deleted llama3.2"


async def test_with_ollama_down_and_nothing_known_delete_still_asks(
    connect: Connect, ollama_double: OllamaDouble, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "no-such-folder"))  # no offline answer
    ollama_double.faults.refuse_connections()
    person = Person(NOT_YES["decline"])
    async with connect(elicitation_callback=person) as client:
        result = await client.call_tool("delete_model", {"name": "llama3.2"})
    assert person.asked == ["Delete llama3.2? (its size is unknown)"]
    assert text(result) == NOT_DELETED


async def test_with_ollama_down_the_cached_list_gives_the_size(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    person = Person(YES)
    async with connect(elicitation_callback=person) as client:
        await client.call_tool("list_models", {})  # fills the cache
        ollama_double.faults.refuse_connections()
        result = await client.call_tool("delete_model", {"name": "llama3.2"})
    assert person.asked == [DELETE_LLAMA]
    assert text(result).startswith(
        f"Error executing tool delete_model: Ollama is not running at {ollama_double.url}"
    )


# --- replacing an installed model ---------------------------------------------------------------


def _adapter(allowed_dir: Path) -> str:
    return str(write_peft_dir(allowed_dir / "peft", hidden=LLAMA_HIDDEN))


def over_qwen(tool: str, allowed_dir: Path) -> tuple[dict[str, Any], str]:
    """Arguments that replace qwen3 with `tool`, and the question that asks first."""
    head = f"Replace the existing model {QWEN} ({QWEN_SIZE}) with"
    if tool == "create_model":
        return {
            "name": "qwen3",
            "modelfile": "FROM llama3.2\nSYSTEM Be brief.",
        }, f"{head} a new one?"
    if tool == "copy_model":
        return {"source": "llama3.2", "destination": "qwen3"}, f"{head} a copy of llama3.2?"
    path = _adapter(allowed_dir)
    arguments = {"path": path, "name": "qwen3", "base_model": "llama3.2"}
    return arguments, f"{head} a new one built from the adapter {path}?"


def to_new_name(tool: str, allowed_dir: Path) -> dict[str, Any]:
    if tool == "create_model":
        return {"name": "brief", "modelfile": "FROM llama3.2\nSYSTEM Be brief."}
    if tool == "copy_model":
        return {"source": "llama3.2", "destination": "brief"}
    return {"path": _adapter(allowed_dir), "name": "brief", "base_model": "llama3.2"}


REPLACERS = ("create_model", "copy_model", "package_adapter")


@pytest.mark.parametrize("tool", REPLACERS)
async def test_replacing_an_installed_model_asks_and_yes_replaces_it(
    connect: Connect, ollama_double: OllamaDouble, allowed_dir: Path, tool: str
) -> None:
    arguments, question = over_qwen(tool, allowed_dir)
    before = folder_hashes(ollama_double.models_dir)
    person = Person(YES)
    async with connect(elicitation_callback=person) as client:
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, text(result)
    assert person.asked == [question]
    assert folder_hashes(ollama_double.models_dir) != before  # qwen3's manifest was rewritten


@pytest.mark.parametrize("answer", sorted(NOT_YES))
@pytest.mark.parametrize("tool", REPLACERS)
async def test_not_replacing_sends_nothing_and_changes_nothing(
    connect: Connect, ollama_double: OllamaDouble, allowed_dir: Path, tool: str, answer: str
) -> None:
    arguments, question = over_qwen(tool, allowed_dir)
    before = folder_hashes(ollama_double.models_dir)
    person = Person(NOT_YES[answer])
    async with connect(elicitation_callback=person) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert text(result) == not_replaced(tool, "qwen3")
    assert person.asked == [question]
    assert changes_sent(ollama_double) == []
    assert folder_hashes(ollama_double.models_dir) == before


@pytest.mark.parametrize("tool", REPLACERS)
async def test_a_new_name_is_not_asked_about(
    connect: Connect, ollama_double: OllamaDouble, allowed_dir: Path, tool: str
) -> None:
    person = Person(NOT_YES["decline"])
    async with connect(elicitation_callback=person) as client:
        result = await client.call_tool(tool, to_new_name(tool, allowed_dir))
    assert not result.is_error, text(result)
    assert person.asked == []
    assert "brief:latest" in ollama_double.installed_names()


async def test_copying_a_model_that_is_not_there_is_not_asked_about(connect: Connect) -> None:
    person = Person(YES)
    async with connect(elicitation_callback=person) as client:
        result = await client.call_tool("copy_model", {"source": "nope", "destination": "qwen3"})
    assert result.is_error and person.asked == []


async def test_with_ollama_down_a_replacement_is_not_asked_and_fails_as_before(
    connect: Connect, ollama_double: OllamaDouble, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "no-such-folder"))
    ollama_double.faults.refuse_connections()
    person = Person(YES)
    async with connect(elicitation_callback=person) as client:
        result = await client.call_tool(
            "copy_model", {"source": "llama3.2", "destination": "qwen3"}
        )
    assert person.asked == []
    assert text(result) == (
        f"Error executing tool copy_model: Ollama is not running at {ollama_double.url} (nothing "
        "answered): start it with `ollama serve`, or set OLLAMA_HOST to where it runs"
    )


# --- when nothing is asked ----------------------------------------------------------------------


async def test_a_client_without_elicitation_is_never_asked(
    connect: Connect, ollama_double: OllamaDouble
) -> None:
    async with connect() as client:
        deleted = await client.call_tool("delete_model", {"name": "llama3.2"})
        copied = await client.call_tool(
            "copy_model", {"source": "gemma2:2b", "destination": "qwen3"}
        )
        status = await client.call_tool("ollama_status", {})
    assert text(deleted) == "deleted llama3.2"
    assert text(copied) == "copied gemma2:2b to qwen3"
    assert LLAMA not in ollama_double.installed_names()
    assert (
        "confirmation: on, but this client cannot ask the person (no elicitation): deletes and "
        "replacements go ahead unasked"
    ) in text(status).splitlines()


async def test_no_confirm_skips_every_question(
    connect: Connect, settings: Settings, ollama_double: OllamaDouble
) -> None:
    person = Person(NOT_YES["decline"])
    async with connect(with_settings(settings, no_confirm=True), elicitation_callback=person) as c:
        deleted = await c.call_tool("delete_model", {"name": "llama3.2"})
        copied = await c.call_tool("copy_model", {"source": "gemma2:2b", "destination": "qwen3"})
        status = await c.call_tool("ollama_status", {})
    assert person.asked == []
    assert text(deleted) == "deleted llama3.2" and text(copied) == "copied gemma2:2b to qwen3"
    assert status.structured_content is not None
    assert status.structured_content["confirm_changes"] is False
    assert (
        "confirmation: off (--no-confirm): deletes and replacements are not asked"
        in text(status).splitlines()
    )


async def test_ollama_status_says_a_client_with_elicitation_is_asked(connect: Connect) -> None:
    async with connect(elicitation_callback=Person()) as client:
        status = await client.call_tool("ollama_status", {})
    assert status.structured_content is not None
    assert status.structured_content["confirm_changes"] is True
    assert (
        "confirmation: the person is asked before a model is deleted or replaced"
        in text(status).splitlines()
    )


async def test_the_env_twin_skips_the_question_too(
    settings: Settings, mode: str, ollama_double: OllamaDouble
) -> None:
    env = {"OLLAMA_MCP_NO_CONFIRM": "1"}
    parsed = parse_args(["--ollama-host", ollama_double.url], env)
    assert parsed.no_confirm is True
    person = Person(NOT_YES["decline"])
    server = build_server(with_settings(settings, no_confirm=parsed.no_confirm))
    async with Client(server, mode=mode, elicitation_callback=person) as client:
        deleted = await client.call_tool("delete_model", {"name": "llama3.2"})
    assert person.asked == [] and text(deleted) == "deleted llama3.2"


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, False),
        (["--no-confirm"], {}, True),
        ([], {"OLLAMA_MCP_NO_CONFIRM": "yes"}, True),
        ([], {"OLLAMA_MCP_NO_CONFIRM": "off"}, False),
    ],
)
def test_no_confirm_from_the_flag_or_its_env_twin(
    argv: list[str], env: Mapping[str, str], expected: bool
) -> None:
    assert parse_args(argv, env).no_confirm is expected


def test_a_bad_env_value_says_which_values_work() -> None:
    with pytest.raises(SettingsError) as caught:
        _settings({}, {"OLLAMA_MCP_NO_CONFIRM": "maybe"})
    assert str(caught.value) == (
        "OLLAMA_MCP_NO_CONFIRM='maybe': use 1/true/yes/on or 0/false/no/off"
    )


def test_help_shows_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"], {})
    shown = " ".join(capsys.readouterr().out.split())
    assert (
        "--no-confirm never ask the person before deleting or replacing a model, for unattended "
        "agents (env OLLAMA_MCP_NO_CONFIRM)"
    ) in shown


async def test_the_answer_is_no_argument_of_the_published_tools(connect: Connect) -> None:
    async with connect(elicitation_callback=Person()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("delete_model", *REPLACERS):
        assert "answer" not in tools[name].input_schema["properties"], name


# --- tasks, stdio -------------------------------------------------------------------------------


async def test_a_2026_task_call_asks_before_the_task_starts(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    tasks = TasksClient()
    person = Person(NOT_YES["decline"])
    before = folder_hashes(ollama_double.models_dir)
    async with Client(
        build_server(settings), extensions=[tasks], elicitation_callback=person
    ) as client:
        result = await client.call_tool("create_model", over_qwen("create_model", Path())[0])
    assert text(result) == not_replaced("create_model", "qwen3")
    assert person.asked == [f"Replace the existing model {QWEN} ({QWEN_SIZE}) with a new one?"]
    assert tasks.handles == []  # answered as a plain call: no task was handed out
    assert folder_hashes(ollama_double.models_dir) == before


async def test_a_2026_call_slow_to_decide_still_asks_as_a_plain_call(
    settings: Settings, ollama_double: OllamaDouble
) -> None:
    """Deciding to ask (the model list) outlasts the task hand-off time: the question still
    reaches the caller, since a call becomes a task only once its body began."""
    ollama_double.faults.delay("/api/tags", 2 * HAND_OFF_AFTER)
    tasks = TasksClient()
    person = Person(NOT_YES["decline"])
    async with Client(
        build_server(settings), extensions=[tasks], elicitation_callback=person
    ) as client:
        result = await client.call_tool("create_model", over_qwen("create_model", Path())[0])
    assert person.asked == [f"Replace the existing model {QWEN} ({QWEN_SIZE}) with a new one?"]
    assert text(result) == not_replaced("create_model", "qwen3")
    assert tasks.handles == []


@pytest.mark.parametrize("answer", ["yes", "decline"])
async def test_a_handshake_task_asks_on_the_connection(
    settings: Settings, ollama_double: OllamaDouble, answer: str
) -> None:
    person = Person(YES if answer == "yes" else NOT_YES["decline"])
    while_asked: list[tuple[str, str]] = []  # (the task the question names, its status then)

    async def asked_in_a_task(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        task_id = (params.meta or {})[RELATED_TASK]["taskId"]
        while_asked.append((task_id, (await get_task(client, task_id))["status"]))
        return await person(ctx, params)

    before = folder_hashes(ollama_double.models_dir)
    server = build_server(settings)
    async with Client(server, mode="legacy", elicitation_callback=asked_in_a_task) as client:
        arguments = over_qwen("create_model", Path())[0]
        created = await call_as_task(client, "create_model", arguments)
        outcome = await task_result(client, created["task"]["taskId"])
    assert person.asked == [f"Replace the existing model {QWEN} ({QWEN_SIZE}) with a new one?"]
    assert while_asked == [(created["task"]["taskId"], "input_required")]
    if answer == "yes":
        assert outcome["isError"] is False
        assert outcome["content"][0]["text"].startswith("created qwen3:latest")
    else:
        assert outcome["isError"] is True
        assert outcome["content"][0]["text"] == not_replaced("create_model", "qwen3")
        assert folder_hashes(ollama_double.models_dir) == before


async def test_over_stdio_the_question_reaches_the_person(
    ollama_double: OllamaDouble, tmp_path: Path, mode: str
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=server_args(ollama_double, tmp_path)
    )
    person = Person(NOT_YES["decline"])
    async with Client(params, mode=mode, read_timeout_seconds=30, elicitation_callback=person) as c:
        declined = await c.call_tool("delete_model", {"name": "llama3.2"})
        person.answer = YES
        deleted = await c.call_tool("delete_model", {"name": "qwen3"})
    assert text(declined) == NOT_DELETED
    assert text(deleted) == "deleted qwen3"
    assert person.asked == [DELETE_LLAMA, f"Delete {QWEN} ({QWEN_SIZE})?"]
    assert LLAMA in ollama_double.installed_names() and QWEN not in ollama_double.installed_names()
    unattended = StdioServerParameters(
        command=sys.executable,
        args=server_args(ollama_double, tmp_path),
        env={"OLLAMA_MCP_NO_CONFIRM": "1"},
    )
    async with Client(
        unattended, mode=mode, read_timeout_seconds=30, elicitation_callback=person
    ) as c:
        unasked = await c.call_tool("delete_model", {"name": "llama3.2"})
    assert text(unasked) == "deleted llama3.2"
    assert len(person.asked) == 2  # the env twin: no third question
