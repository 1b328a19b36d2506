"""A tool's answer: short text for the model to read, the full data as structured content.

The text is bounded: a model's 30,000-token license, a long Modelfile or a huge answer would
otherwise be pasted whole into the agent's context. What is cut is said, with where to get it.
"""

from __future__ import annotations

import mcp.types as types
from pydantic import BaseModel

MAX_TEXT_CHARS = 20_000  # about 5,000 tokens: enough for any table or answer a model reads


def tool_result(text: str, data: BaseModel, *, whole: str = "") -> types.CallToolResult:
    """`text` is what a model reads (a table, the answer, one line of what was done); `data`
    is the whole result, checked by clients against the tool's output schema. `whole` says how
    to get what a cut text leaves out, beyond the structured result."""
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=bounded(text, whole))],
        structured_content=data.model_dump(mode="json"),
    )


def bounded(text: str, whole: str = "") -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    kept = text[:MAX_TEXT_CHARS]
    left_out = len(text) - len(kept)
    how = f"; {whole}" if whole else ""
    return (
        f"{kept}\n[{left_out:,} more characters left out of this text: the structured result "
        f"holds all of it{how}]"
    )
