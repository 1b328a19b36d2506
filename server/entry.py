"""Where `ollama-mcp` and `python -m server` begin: the garbage collector is paused before
anything is imported, and `server.cli` resumes it once the server is built.

Start-up makes hundreds of thousands of objects (the SDK's and our pydantic models, the tools'
schemas) and frees almost none, so each collection the interpreter runs meanwhile scans a heap
that only grows, for nothing: about a tenth of the time to the first answer. They then live as
long as the process, so they are frozen out of later collections too.
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
