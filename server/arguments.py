"""Unknown arguments are refused, not dropped.

The SDK validates a call's arguments with a pydantic model that ignores names it does not know,
so an agent that misspells an optional argument (`system` for `system_prompt`) gets an answer
made without it and never learns why. Here the published schema stays as it is, and a call
naming an argument the tool does not take is a tool error that lists the ones it does.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata

from server.tools_api import did_you_mean

UNKNOWN = "__unknown_arguments__"  # carries the refusal from validation to the tool's guard
# Whether the call just validated will be refused: the SDK runs the tool's resolvers between
# validation and the guard, and they must not ask the person about a call that does nothing.
# Set on every validation, in the call's own context, so it never outlives its call.
_refusing: ContextVar[bool] = ContextVar("refusing_unknown_arguments", default=False)


class StrictArguments(FuncMetadata):
    tool_name: str = ""

    def validate_arguments(self, arguments_to_validate: dict[str, Any]) -> dict[str, Any]:
        validated = super().validate_arguments(arguments_to_validate)
        taken = [field.alias or name for name, field in self.arg_model.model_fields.items()]
        unknown = [name for name in arguments_to_validate if name not in taken]
        _refusing.set(bool(unknown))
        if unknown:
            names = ", ".join(repr(name) + did_you_mean(name, taken) for name in unknown)
            plural = "s" if len(unknown) > 1 else ""
            validated[UNKNOWN] = (
                f"unknown argument{plural} {names}: {self.tool_name} takes {', '.join(taken)}"
            )
        return validated


def strict(fn_metadata: FuncMetadata, tool_name: str) -> StrictArguments:
    return StrictArguments(
        arg_model=fn_metadata.arg_model,
        output_schema=fn_metadata.output_schema,
        output_model=fn_metadata.output_model,
        wrap_output=fn_metadata.wrap_output,
        tool_name=tool_name,
    )


def refuse_unknown(kwargs: dict[str, Any]) -> None:
    """In the tool's guard, before it runs: the refusal `StrictArguments` left, if any."""
    refusal = kwargs.pop(UNKNOWN, None)
    if refusal is not None:
        raise ToolError(str(refusal))


def refused_before_it_runs() -> bool:
    """For resolvers: the call being resolved names an argument its tool does not take."""
    return _refusing.get()
