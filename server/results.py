"""A tool's answer: short text for the model to read, the full data as structured content."""

from __future__ import annotations

import mcp.types as types
from pydantic import BaseModel


def tool_result(text: str, data: BaseModel) -> types.CallToolResult:
    """`text` is what a model reads (a table, the answer, one line of what was done); `data`
    is the whole result, checked by clients against the tool's output schema."""
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=data.model_dump(mode="json"),
    )
