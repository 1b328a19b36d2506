"""Where `ollama-mcp` and `python -m server` begin: the garbage collector is paused before
anything is imported, and `server.cli` resumes it once the server is built.

Start-up makes about 140,000 objects the collector tracks (the SDK's and our modules, pydantic
models, the tools' schemas) and leaves about 5 % of them unreachable, so each collection the
interpreter runs meanwhile scans a heap that only grows, for little: about a tenth of the time
to the first answer. What start-up made lives as long as the process, so it is frozen out of
later collections; the garbage frozen with it costs about 1 MiB of resident memory.
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    from server.cli import main as run  # imported here: after the collector is paused

    run()


def resume_collector() -> None:
    """After start-up: what it made is frozen (never scanned again), and collection resumes.
    Does nothing when the collector was not paused here (the CLI run inside another program)."""
    if gc.isenabled():
        return
    gc.freeze()
    gc.enable()
