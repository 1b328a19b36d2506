"""The seed's `upload_artifact` metadata, checked before anything is read: `name` and
`base_model` required, every other key a `package_adapter` argument of the same name and type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tools.errors import InvalidMetadata


class ArtifactOptions(BaseModel):
    """The seed's `upload_artifact` metadata beyond name and base_model, each key the
    `package_adapter` argument of the same name. Strict: "false" is not a boolean."""

    model_config = ConfigDict(extra="forbid", strict=True)

    system_prompt: str | None = None
    template: str | None = None
    parameters: Mapping[str, Any] | None = None
    messages: list[Mapping[str, str]] | tuple[Mapping[str, str], ...] | None = None
    license: str | list[str] | tuple[str, ...] | None = None
    push: bool = False
    pull_base: bool = False
    quantize: str | None = None


ARTIFACT_KEYS = tuple(ArtifactOptions.model_fields)

# What each key must be, for the error message.
_EXPECTED = {
    "system_prompt": "a string",
    "template": "a string",
    "parameters": "a mapping of parameter names to values",
    "messages": "a list of {'role': ..., 'content': ...} mappings",
    "license": "a string or a list of strings",
    "push": "true or false",
    "pull_base": "true or false",
    "quantize": "a string such as 'q4_K_M'",
}


def _artifact_options(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata's options as `package_adapter` arguments; `InvalidMetadata` names the first
    key of the wrong type."""
    given = {key: metadata[key] for key in ARTIFACT_KEYS if key in metadata}
    try:
        options = ArtifactOptions.model_validate(given)
    except ValidationError as exc:
        key = str(exc.errors()[0]["loc"][0])
        raise InvalidMetadata(
            f"invalid metadata: {key!r} must be {_EXPECTED[key]}, not {metadata[key]!r}"
        ) from None
    return {key: getattr(options, key) for key in given}


def artifact_metadata(metadata: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The model's name, the base model's, and the `package_adapter` options of `metadata`;
    `InvalidMetadata` for a missing or unknown key or a value of the wrong type."""
    name, base_model = metadata.get("name"), metadata.get("base_model")
    if not isinstance(name, str) or not name:
        raise InvalidMetadata("invalid metadata: 'name' (the model to create) is required")
    if not isinstance(base_model, str) or not base_model:
        raise InvalidMetadata("invalid metadata: 'base_model' (e.g. 'llama3.2') is required")
    unknown = set(metadata) - {"name", "base_model", *ARTIFACT_KEYS}
    if unknown:
        raise InvalidMetadata(
            f"invalid metadata: unknown keys {sorted(unknown)}; "
            f"known keys are name, base_model, {', '.join(ARTIFACT_KEYS)}"
        )
    return name, base_model, _artifact_options(metadata)
