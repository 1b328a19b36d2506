"""The models a fresh double starts with, installed as if pulled from the registry."""

from __future__ import annotations

import os
import shutil
import time

from .catalogue import SEEDED, Catalogue
from .names import Name
from .store import Store


def seed_store(store: Store, catalogue: Catalogue, names: tuple[str, ...] = SEEDED) -> None:
    """Install `names` (first = newest in /api/tags), with whole-second distinct mtimes."""
    now = int(time.time())
    for index, text in enumerate(names):
        name = Name.parse(text)
        built = catalogue.build(name)
        if built is None:
            raise KeyError(f"{text} is not in the catalogue")
        for digest, path in built.files.items():
            if digest in {x["digest"] for x in built.layers} and not store.has_blob(digest):
                shutil.copyfile(path, store.blob_path(digest))
        inst = store.write_raw_manifest(name, built.manifest)
        stamp = now - 60 * (index + 1)
        os.utime(inst.path, (stamp, stamp))
