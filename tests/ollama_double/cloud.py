"""What the double's daemon knows of ollama.com: the model recommendations and canned web answers.

Ollama (server/model_recommendations.go at fb30760) serves `defaultModelRecommendations` until a
background refresh from ollama.com succeeds, then the fresher list. `RECOMMENDATIONS` is that
built-in list, as `json.Marshal` writes it (zero fields left out by `omitempty`); a test that
wants the refreshed list assigns `ollama.cloud.recommendations`.

Web search and fetch are answered by ollama.com, not by the daemon, so their answers here are
canned and deterministic: search results are made from the query, a fetch answers the page
registered for its URL (`ollama.cloud.pages`) or a generated page.
"""

from __future__ import annotations

import copy
import re
import threading
from typing import Any

GIGABYTE = 1000 * 1000 * 1000  # format.GigaByte

RECOMMENDATIONS: tuple[dict[str, Any], ...] = (
    {
        "model": "kimi-k2.6:cloud",
        "description": "State-of-the-art coding, long-horizon execution, and multimodal agent "
        "swarm capability",
        "context_length": 262_144,
        "max_output_tokens": 262_144,
    },
    {
        "model": "glm-5.1:cloud",
        "description": "Reasoning and code generation",
        "context_length": 202_752,
        "max_output_tokens": 131_072,
    },
    {
        "model": "qwen3.5:cloud",
        "description": "Reasoning, coding, and agentic tool use with vision",
        "context_length": 262_144,
        "max_output_tokens": 32_768,
    },
    {
        "model": "minimax-m2.7:cloud",
        "description": "Fast, efficient coding and real-world productivity",
        "context_length": 204_800,
        "max_output_tokens": 128_000,
    },
    {
        "model": "gemma4",
        "description": "Reasoning and code generation locally",
        "vram_bytes": 12 * GIGABYTE,
    },
    {
        "model": "qwen3.5",
        "description": "Reasoning, coding, and visual understanding locally",
        "vram_bytes": 14 * GIGABYTE,
    },
)

# signinURL(): https://ollama.com/connect?name=<hostname>&key=<base64url of the public key>
SIGNIN_URL = (
    "https://ollama.com/connect?name=ollama-double&key="
    "c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSU9sbGFtYURvdWJsZVRlc3RLZXk"
)
DEFAULT_RESULTS = 5  # ollama.com's documented default and maximum (docs/capabilities/web-search)
MAX_RESULTS = 10


class Cloud:
    """The double's view of ollama.com; thread-safe, tests change it while the double runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recommendations = [dict(r) for r in RECOMMENDATIONS]
        self._pages: dict[str, dict[str, Any]] = {}

    @property
    def recommendations(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._recommendations)

    @recommendations.setter
    def recommendations(self, value: list[dict[str, Any]]) -> None:
        """The list a successful refresh from ollama.com brought."""
        with self._lock:
            self._recommendations = copy.deepcopy(value)

    def add_page(self, url: str, title: str, content: str, links: list[str] | None = None) -> None:
        """What a web fetch of `url` answers (`links` left out when empty, as Go does)."""
        page: dict[str, Any] = {"title": title, "content": content}
        if links:
            page["links"] = list(links)
        with self._lock:
            self._pages[url] = page

    def page(self, url: str) -> dict[str, Any]:
        with self._lock:
            if url in self._pages:
                return dict(self._pages[url])
        slug = _slug(url)
        return {
            "title": f"Page {slug}",
            "content": f"# Page {slug}\n\nCanned content of {url}.",
            "links": [f"{url.rstrip('/')}/about", f"{url.rstrip('/')}/contact"],
        }

    def reset(self) -> None:
        with self._lock:
            self._recommendations = [dict(r) for r in RECOMMENDATIONS]
            self._pages.clear()


def search_results(query: str, max_results: int) -> list[dict[str, str]]:
    """`max_results` results made from the query: 0 or less means the default, more than the
    maximum is cut to it."""
    count = DEFAULT_RESULTS if max_results <= 0 else min(max_results, MAX_RESULTS)
    slug = _slug(query)
    return [
        {
            "title": f"{query} - result {n}",
            "url": f"https://example.com/{slug}/{n}",
            "content": f"Result {n} about {query}.",
        }
        for n in range(1, count + 1)
    ]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"
