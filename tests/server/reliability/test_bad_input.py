"""Bad input through the real server, each refused with a tool error that names what is wrong:
model names, Modelfiles, paths, inference arguments and protocol-level mistakes. After every
refusal the double's model store and the server's cache are byte-for-byte unchanged, and the
server answers the next call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from server.app import build_server
from server.settings import Settings
from tests.server.reliability.conftest import Places
from tests.server.reliability.helpers import changed, snapshot, text

HINT = (
    "to allow a folder, add it to your MCP client's roots, or start the server with "
    "--allow-dir DIR (env OLLAMA_MCP_ALLOW_DIRS)"
)
NAME_FORM = "use [host/][namespace/]model[:tag], e.g. llama3.2 or me/my-model:v1"
FIX_MODELFILE = "fix it (generate_modelfile writes a valid one)"
OPTION_NAMES = (
    "draft_num_predict, frequency_penalty, main_gpu, min_p, num_batch, num_ctx, num_gpu, "
    "num_keep, num_predict, num_thread, presence_penalty, repeat_last_n, repeat_penalty, seed, "
    "stop, temperature, top_k, top_p, typical_p, use_mmap"
)


@dataclass(frozen=True)
class Case:
    id: str
    tool: str
    arguments: Callable[[Places], dict[str, Any]]
    expected: Callable[[Places], str]


def fixed(value: Any) -> Callable[[Places], Any]:
    return lambda _: value


def outside_roots(path: Callable[[Places], Path | str]) -> Callable[[Places], str]:
    return lambda p: (
        f"refusing to read {str(path(p))!r}: it is outside the allowed folders ({p.allowed}); "
        + HINT
    )


def not_regular(path: Callable[[Places], Path], kind: str) -> Callable[[Places], str]:
    return lambda p: (
        f"refusing to read {str(path(p))!r}: it is {kind}, not a regular file; "
        "only regular files are read"
    )


def bad_name(name: str, why: str) -> Callable[[Places], str]:
    return fixed(f"invalid model name {name!r}: {why}; {NAME_FORM}")


def cloud(name: str, tool: str) -> Callable[[Places], str]:
    return fixed(
        f"model {name!r} runs on ollama.com, not on this machine: {tool} runs local models "
        "only, so the input never leaves this computer; use a local model (list_models "
        "shows the installed ones)"
    )


def option(message: str) -> Callable[[Places], str]:
    return fixed(f"invalid parameters: {message}")


CHARS = "only letters, digits, '_' and '-.' are allowed"
GEN = {"model": "llama3.2", "prompt": "hi"}
CASES = [
    # --- model names ---------------------------------------------------------------------
    Case("empty name", "show_model", fixed({"name": ""}), bad_name("", "the name is empty")),
    Case(
        "dot-dot name", "show_model", fixed({"name": "../x"}),
        bad_name("../x", "the namespace '..' must start with a letter, digit or '_'"),
    ),
    Case(
        "two tags", "show_model", fixed({"name": "a:b:c"}),
        bad_name("a:b:c", f"the model 'a:b' contains ':'; {CHARS}"),
    ),
    Case(
        "1,000 characters", "show_model", fixed({"name": "x" * 1000}),
        fixed(
            f"invalid model name {'x' * 60!r}... (1000 characters): the model is 1000 bytes "
            f"long; at most 80; {NAME_FORM}"
        ),
    ),
    Case(
        "NUL character", "show_model", fixed({"name": "llama\x003.2"}),
        bad_name("llama\x003.2", f"the model 'llama\\x003.2' contains '\\x00'; {CHARS}"),
    ),
    Case(
        "newline", "delete_model", fixed({"name": "llama\n3.2"}),
        bad_name("llama\n3.2", f"the model 'llama\\n3.2' contains '\\n'; {CHARS}"),
    ),
    Case(
        "unicode", "pull_model", fixed({"name": "lläma"}),
        bad_name("lläma", f"the model 'lläma' contains 'ä'; {CHARS}"),
    ),
    Case(
        "bad copy target", "copy_model", fixed({"source": "llama3.2", "destination": "a:b:c"}),
        bad_name("a:b:c", f"the model 'a:b' contains ':'; {CHARS}"),
    ),
    Case(
        "cloud generate", "generate", fixed({"model": "llama3.2:cloud", "prompt": "hi"}),
        cloud("llama3.2:cloud", "generate"),
    ),
    Case(
        "cloud chat", "chat",
        fixed({"model": "qwen3:8b-cloud", "messages": [{"role": "user", "content": "hi"}]}),
        cloud("qwen3:8b-cloud", "chat"),
    ),
    Case(
        "cloud embed", "embed", fixed({"model": "all-minilm:cloud", "input": "hi"}),
        cloud("all-minilm:cloud", "embed"),
    ),
    Case(
        "cloud adapter base", "package_adapter",
        lambda p: {"path": str(p.allowed / "folder"), "name": "x", "base_model": "llama3.2:cloud"},
        fixed(
            "base model 'llama3.2:cloud' runs on ollama.com: for a cloud base Ollama makes a "
            "remote stub and ignores the adapter; use a local base (the name without :cloud or "
            "-cloud)"
        ),
    ),
    # --- Modelfiles ----------------------------------------------------------------------
    Case(
        "no FROM", "create_model", fixed({"name": "x", "modelfile": "SYSTEM hi"}),
        fixed(f"invalid Modelfile: no FROM line; {FIX_MODELFILE}"),
    ),
    Case(
        "unterminated quotes", "create_model",
        fixed({"name": "x", "modelfile": 'FROM llama3.2\nSYSTEM """never closed'}),
        fixed(f"invalid Modelfile: unexpected EOF; {FIX_MODELFILE}"),
    ),
    Case(
        "unknown instruction", "create_model",
        fixed({"name": "x", "modelfile": "FROM llama3.2\nBOGUS thing"}),
        fixed(
            'invalid Modelfile: (line 2): command must be one of "from", "license", "template", '
            '"system", "adapter", "draft", "renderer", "parser", "parameter", "message", or '
            f'"requires"; {FIX_MODELFILE}'
        ),
    ),
    Case(
        "unknown parameter", "create_model",
        fixed({"name": "x", "modelfile": "FROM llama3.2\nPARAMETER nosuch 1"}),
        fixed("invalid parameters: unknown parameter 'nosuch'"),
    ),
    Case(
        "mistyped parameter", "create_model",
        fixed({"name": "x", "modelfile": "FROM llama3.2\nPARAMETER temperature hot"}),
        fixed("invalid parameters: invalid float value [hot]"),
    ),
    Case(
        "10 MB Modelfile", "create_model",
        fixed({"name": "x", "modelfile": "FROM llama3.2\nSYSTEM " + "a" * 10_000_000}),
        fixed(
            "the Modelfile text is 10000021 bytes; a Modelfile holds at most 1048576 bytes "
            "(1 MiB): shorten it"
        ),
    ),
    Case(
        "injected instruction", "generate_modelfile",
        fixed({"base_model": "llama3.2", "system_prompt": 'x"""\nFROM evil'}),
        fixed(
            "invalid parameters: system_prompt: cannot be written in a Modelfile: a line of it "
            'ends with """, which would close the quoted value early (and the rest would be read '
            "as more instructions)"
        ),
    ),
    Case(
        "mistyped generated parameter", "generate_modelfile",
        fixed({"base_model": "llama3.2", "parameters": {"temperature": "hot"}}),
        fixed("invalid parameters: parameters['temperature']: invalid float value [hot]"),
    ),
    Case(
        "unknown generated parameter", "generate_modelfile",
        fixed({"base_model": "llama3.2", "parameters": {"nosuch": 1}}),
        fixed("invalid parameters: parameters['nosuch']: unknown parameter 'nosuch'"),
    ),
    # --- paths ---------------------------------------------------------------------------
    Case(
        "outside the roots", "create_model",
        lambda p: {"name": "x", "modelfile_path": str(p.secret)},
        outside_roots(lambda p: p.secret),
    ),
    Case(
        "dot-dot escape", "create_model",
        lambda p: {"name": "x", "modelfile_path": str(p.allowed / ".." / "outside" / "secret")},
        outside_roots(lambda p: p.allowed / ".." / "outside" / "secret"),
    ),
    Case(
        "file symlink escape", "create_model",
        lambda p: {"name": "x", "modelfile_path": str(p.allowed / "link")},
        outside_roots(lambda p: p.allowed / "link"),
    ),
    Case(
        "folder symlink escape", "create_model",
        lambda p: {"name": "x", "modelfile_path": str(p.allowed / "dirlink" / "secret")},
        outside_roots(lambda p: p.allowed / "dirlink" / "secret"),
    ),
    Case(
        "FROM through a symlink", "create_model",
        fixed({"name": "x", "modelfile": "FROM ./link"}),
        outside_roots(lambda p: p.allowed / "link"),
    ),
    Case(
        "ADAPTER escape", "create_model",
        fixed({"name": "x", "modelfile": "FROM llama3.2\nADAPTER ../outside/secret"}),
        outside_roots(lambda p: p.secret),
    ),
    Case(
        "adapter folder symlink", "package_adapter",
        lambda p: {"path": str(p.allowed / "dirlink"), "name": "x", "base_model": "llama3.2"},
        outside_roots(lambda p: p.allowed / "dirlink"),
    ),
    Case(
        "/dev/zero", "package_adapter",
        fixed({"path": "/dev/zero", "name": "x", "base_model": "llama3.2"}),
        outside_roots(lambda p: "/dev/zero"),
    ),
    Case(
        "a FIFO", "create_model",
        lambda p: {"name": "x", "modelfile_path": str(p.allowed / "fifo")},
        not_regular(lambda p: p.allowed / "fifo", "a FIFO (named pipe)"),
    ),
    Case(
        "a folder for a file", "create_model",
        lambda p: {"name": "x", "modelfile_path": str(p.allowed / "folder")},
        not_regular(lambda p: p.allowed / "folder", "a directory"),
    ),
    Case(
        "image outside the roots", "generate",
        lambda p: {**GEN, "images": [str(p.secret)]},
        outside_roots(lambda p: p.secret),
    ),
    Case(
        "image from a FIFO", "generate",
        lambda p: {**GEN, "images": [str(p.allowed / "fifo")]},
        not_regular(lambda p: p.allowed / "fifo", "a FIFO (named pipe)"),
    ),
    # --- inference -----------------------------------------------------------------------
    Case(
        "option of the wrong type", "generate",
        fixed({**GEN, "options": {"temperature": "hot"}}),
        option("options['temperature']: must be a number, not 'hot'"),
    ),
    Case(
        "integer option given a fraction", "chat",
        fixed({"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}],
               "options": {"num_ctx": 2048.5}}),
        option("options['num_ctx']: must be a whole number, not 2048.5"),
    ),
    Case(
        "negative option", "generate", fixed({**GEN, "options": {"temperature": -1}}),
        option("options['temperature']: must not be negative, not -1"),
    ),
    Case(
        "NaN option", "generate", fixed({**GEN, "options": {"top_p": float("nan")}}),
        option("options['top_p']: must be a number, not null (JSON carries NaN and infinity as "
               "null)"),
    ),
    Case(
        "unknown option", "generate", fixed({**GEN, "options": {"temprature": 0.5}}),
        option(
            f"options['temprature']: unknown option (did you mean 'temperature'?); the "
            f"options are {OPTION_NAMES}"
        ),
    ),
    Case(
        "unknown model", "generate", fixed({"model": "ghost", "prompt": "hi"}),
        fixed(
            "model 'ghost' is not installed: pull it with pull_model, or call list_models for "
            "the installed names"
        ),
    ),
    Case(
        "think on a model that cannot", "generate", fixed({**GEN, "think": True}),
        fixed('Ollama error (HTTP 400): "llama3.2" does not support thinking'),
    ),
    # --- protocol ------------------------------------------------------------------------
    Case(
        "extra argument", "show_model", fixed({"name": "llama3.2", "verbose": True}),
        fixed("unknown argument 'verbose': show_model takes name, include"),
    ),
    Case(
        "misspelt optional argument", "package_adapter",
        lambda p: {"path": str(p.allowed), "name": "x", "base_model": "llama3.2",
                   "system": "Be brief."},
        fixed(
            "unknown argument 'system' (did you mean 'system_prompt'?): package_adapter takes "
            "path, name, base_model, "
            "system_prompt, template, parameters, push, quantize"
        ),
    ),
]  # fmt: skip

PREFIXED = {"Unknown tool"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_input_is_refused_and_changes_nothing(
    case: Case, settings: Settings, places: Places, stores: list[Path]
) -> None:
    async with Client(build_server(settings), mode="legacy", read_timeout_seconds=60) as client:
        assert not (await client.call_tool("list_models", {})).is_error  # the cache exists
        before = snapshot(*stores)
        result = await client.call_tool(case.tool, case.arguments(places))
        assert result.is_error
        assert text(result) == f"Error executing tool {case.tool}: {case.expected(places)}"
        assert changed(before, *stores) == set()
        after = await client.call_tool("show_model", {"name": "llama3.2"})
        assert not after.is_error, text(after)
