"""A protocol-faithful Ollama test double served over real HTTP on loopback.

    from tests.ollama_double import OllamaDouble, running_double

    with running_double() as ollama:
        httpx2.get(ollama.url + "/api/tags")

See server.OllamaDouble for the knobs, faults.Faults for fault injection and
reqlog.RequestLog for what clients sent.
"""

from .catalogue import Catalogue, Recipe
from .faults import Faults
from .inference import reply_for, thinking_for
from .reqlog import RequestLog
from .server import OllamaDouble, running_double

__all__ = [
    "Catalogue",
    "Faults",
    "OllamaDouble",
    "Recipe",
    "RequestLog",
    "reply_for",
    "running_double",
    "thinking_for",
]
