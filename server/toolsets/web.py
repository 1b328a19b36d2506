"""The `web` toolset, off unless `--toolsets` asks for it: web search and fetch through the user's
own Ollama, which signs each request with its `ollama signin` key and forwards it to ollama.com.
This server holds no key; the query or URL leaves the machine, so nothing is sent unless the
user turned the toolset on.

A fetched page can be far longer than a model's context: its text is cut at `MAX_CONTENT_CHARS`
and its links at `MAX_LINKS`, and the answer says what was cut."""

from __future__ import annotations

from typing import Annotated

import mcp.types as types
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from server.results import tool_result
from server.state import app_state
from server.tools_api import MAX_SEARCH_RESULTS

MAX_CONTENT_CHARS = 20_000
MAX_LINKS = 50


class SearchResult(BaseModel):
    title: str
    url: str
    content: str


class SearchResults(BaseModel):
    query: str
    results: list[SearchResult]


class FetchedPage(BaseModel):
    url: str
    title: str
    content: str
    links: list[str]
    content_chars: int  # the page's full length; more than len(content) when it was cut
    links_total: int
    truncated: bool
    note: str | None = None  # what was cut


async def web_search(
    query: Annotated[str, Field(min_length=1, description="What to search for")],
    ctx: Context,
    max_results: Annotated[
        int | None, Field(ge=1, le=MAX_SEARCH_RESULTS, description="1-10; default 5")
    ] = None,
) -> Annotated[types.CallToolResult, SearchResults]:
    found = await app_state(ctx).client.web_search(query, max_results=max_results)
    result = SearchResults(
        query=query,
        results=[SearchResult(title=r.title, url=r.url, content=r.content) for r in found.results],
    )
    lines = [f"{len(result.results)} result(s) for {query!r}"]
    for n, r in enumerate(result.results, 1):
        lines += [f"{n}. {r.title} <{r.url}>", f"   {r.content}"]
    return tool_result("\n".join(lines), result)


async def web_fetch(
    url: Annotated[str, Field(min_length=1, description="http(s) URL")],
    ctx: Context,
) -> Annotated[types.CallToolResult, FetchedPage]:
    page = await app_state(ctx).client.web_fetch(url)
    result = bounded_page(url.strip(), page.title, page.content, page.links or [])
    parts = [f"{result.title or '(no title)'} <{result.url}>"]
    if result.note:
        parts.append(f"[{result.note}]")
    parts.append(result.content)
    if result.links:
        parts.append("links:\n" + "\n".join(result.links))
    return tool_result("\n\n".join(parts), result)


def bounded_page(url: str, title: str, content: str, links: list[str]) -> FetchedPage:
    """The page cut to the bounds, with a note of what was cut."""
    cuts: list[str] = []
    if len(content) > MAX_CONTENT_CHARS:
        cuts.append(f"text cut to the first {MAX_CONTENT_CHARS:,} of {len(content):,} characters")
    if len(links) > MAX_LINKS:
        cuts.append(f"links cut to the first {MAX_LINKS} of {len(links)}")
    return FetchedPage(
        url=url,
        title=title,
        content=content[:MAX_CONTENT_CHARS],
        links=links[:MAX_LINKS],
        content_chars=len(content),
        links_total=len(links),
        truncated=bool(cuts),
        note="; ".join(cuts) or None,
    )
