"""One model list over several hosts: each model once, with the hosts that have it and
whether they hold the same build (the same manifest digest)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tools.api.types import ModelSummary
from tools.catalog.model_catalog import model_key


@dataclass
class MergedModel:
    summary: ModelSummary  # as the first host (in configured order) that has it lists it
    hosts: list[str] = field(default_factory=list)
    digests: set[str] = field(default_factory=set)

    @property
    def digests_agree(self) -> bool:
        return len(self.digests) <= 1


def merge_lists(lists: Sequence[tuple[str, list[ModelSummary]]]) -> list[MergedModel]:
    """`(host name, its models)` in host order -> each model once, in order of first sight."""
    merged: dict[str, MergedModel] = {}
    for host, models in lists:
        for model in models:
            try:
                key = model_key(model.name)
            except ValueError:
                key = model.name.lower()
            entry = merged.setdefault(key, MergedModel(model))
            entry.hosts.append(host)
            if model.digest:
                entry.digests.add(model.digest)
    return list(merged.values())
