"""python -m tests.ollama_double --port PORT --models-dir DIR

Prints the base URL as the first stdout line, then serves until killed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .server import OllamaDouble


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.ollama_double", description=__doc__)
    parser.add_argument("--port", type=int, default=11434, help="0 picks a free port")
    parser.add_argument("--models-dir", type=Path, default=None, help="Ollama-layout model store")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-seed", action="store_true", help="start with an empty store")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    double = OllamaDouble(args.models_dir, port=args.port, host=args.host, seed=not args.no_seed)
    double.start()
    try:
        print(double.url, flush=True)
        stop.wait()
    finally:
        double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
