"""`OllamaClient`'s cloud-backed methods against the double: each answer and each error, with the
exact text a caller reads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.ollama_double import OllamaDouble
from tests.ollama_double.cloud import RECOMMENDATIONS, SIGNIN_URL
from tools.api.client import OllamaClient
from tools.errors import (
    CloudDisabled,
    CloudError,
    CloudUnreachable,
    EndpointMissing,
    InvalidArgument,
    OllamaAPIError,
    SignInRequired,
    UnsupportedServer,
)

SEARCH = "/api/experimental/web_search"
FETCH = "/api/experimental/web_fetch"


@pytest.fixture
async def client(ollama_double: OllamaDouble) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(ollama_double.url, backoff_base=0.001) as ollama:
        yield ollama


# --- answers ---------------------------------------------------------------------------------


async def test_cloud_status(client: OllamaClient, ollama_double: OllamaDouble) -> None:
    status = await client.cloud_status()
    assert (status.cloud.disabled, status.cloud.source) == (False, "none")
    ollama_double.faults.cloud_disabled = "both"
    status = await client.cloud_status()
    assert (status.cloud.disabled, status.cloud.source) == (True, "both")


async def test_model_recommendations_are_typed(client: OllamaClient) -> None:
    recs = (await client.model_recommendations()).recommendations
    assert [r.model for r in recs] == [r["model"] for r in RECOMMENDATIONS]
    kimi, gemma = recs[0], recs[4]
    assert (kimi.context_length, kimi.max_output_tokens, kimi.vram_bytes) == (262144, 262144, None)
    assert kimi.runs_in_cloud and not gemma.runs_in_cloud
    assert (gemma.vram_bytes, gemma.context_length) == (12_000_000_000, None)
    assert gemma.description == "Reasoning and code generation locally"


async def test_a_refreshed_list_keeps_fields_ollama_adds(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.cloud.recommendations = [
        {"model": "big:cloud", "description": "d", "required_plan": "pro", "new_field": 1}
    ]
    (rec,) = (await client.model_recommendations()).recommendations
    assert rec.required_plan == "pro"
    assert rec.model_extra == {"new_field": 1}


async def test_web_search_sends_query_and_max_results(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    found = await client.web_search("  what is ollama ", max_results=2)
    assert [r.title for r in found.results] == [
        "what is ollama - result 1",
        "what is ollama - result 2",
    ]
    assert found.results[0].url == "https://example.com/what-is-ollama/1"
    assert ollama_double.requests.last_body(SEARCH) == {"query": "what is ollama", "max_results": 2}
    await client.web_search("ollama")
    assert ollama_double.requests.last_body(SEARCH) == {"query": "ollama"}  # default left to it


async def test_web_fetch_returns_title_content_and_links(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.cloud.add_page("https://ollama.com", "Ollama", "models", ["https://ollama.com/x"])
    page = await client.web_fetch("https://ollama.com")
    assert (page.title, page.content, page.links) == ("Ollama", "models", ["https://ollama.com/x"])
    assert ollama_double.requests.last_body(FETCH) == {"url": "https://ollama.com"}
    ollama_double.cloud.add_page("https://a.example/", "A", "text")
    assert (await client.web_fetch("https://a.example/")).links is None


# --- refused before sending ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "max_results", "text"),
    [
        ("  ", None, "web search needs a query: a non-empty string"),
        ("q", 0, "max_results 0 is out of range: ollama.com returns 1 to 10 results"),
        ("q", 11, "max_results 11 is out of range: ollama.com returns 1 to 10 results"),
    ],
)
async def test_bad_search_arguments_are_refused(
    client: OllamaClient,
    ollama_double: OllamaDouble,
    query: str,
    max_results: int | None,
    text: str,
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await client.web_search(query, max_results=max_results)
    assert str(caught.value) == text
    assert ollama_double.requests.count("POST", SEARCH) == 0


@pytest.mark.parametrize("url", ["ollama.com", "file:///etc/passwd", "ftp://a.example/x", ""])
async def test_only_absolute_http_urls_are_fetched(
    client: OllamaClient, ollama_double: OllamaDouble, url: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await client.web_fetch(url)
    assert str(caught.value) == (
        f"cannot fetch {url!r}: give an absolute http:// or https:// URL, e.g. https://ollama.com/blog"
    )
    assert ollama_double.requests.count("POST", FETCH) == 0


# --- errors from Ollama ----------------------------------------------------------------------


async def test_cloud_disabled(client: OllamaClient, ollama_double: OllamaDouble) -> None:
    ollama_double.faults.cloud_disabled = "env"
    with pytest.raises(CloudDisabled) as caught:
        await client.web_search("q")
    assert caught.value.status == 403
    assert str(caught.value) == (
        "Ollama error (HTTP 403): ollama cloud is disabled: web search is unavailable; "
        'enable Ollama\'s cloud: unset OLLAMA_NO_CLOUD (and set "disable_ollama_cloud": false '
        "in ~/.ollama/server.json) where Ollama runs, then restart Ollama"
    )
    with pytest.raises(CloudDisabled, match="web fetch is unavailable"):
        await client.web_fetch("https://a.example")


async def test_signed_out_names_ollama_signin_and_the_url(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.signed_out = True
    with pytest.raises(SignInRequired) as caught:
        await client.web_fetch("https://a.example")
    assert caught.value.signin_url == SIGNIN_URL
    assert str(caught.value) == (
        "Ollama error (HTTP 401): unauthorized; sign Ollama in to ollama.com: run `ollama signin` "
        f"where Ollama runs (or open {SIGNIN_URL})"
    )


async def test_ollama_com_rejecting_the_key_is_sign_in_required_too(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.upstream_error = (401, "unauthorized")  # no signin_url from ollama.com
    with pytest.raises(SignInRequired) as caught:
        await client.web_search("q")
    assert caught.value.signin_url is None
    assert str(caught.value).endswith("run `ollama signin` where Ollama runs")


async def test_upstream_down(client: OllamaClient, ollama_double: OllamaDouble) -> None:
    ollama_double.faults.upstream_down = True
    with pytest.raises(CloudUnreachable) as caught:
        await client.web_search("q")
    assert caught.value.status == 502
    assert caught.value.message.startswith('Post "https://ollama.com:443/api/web_search?ts=')
    assert str(caught.value).endswith(
        "; Ollama could not reach ollama.com: check the internet connection (and any proxy) of "
        "the machine Ollama runs on, then try again"
    )
    assert isinstance(caught.value, CloudError)


async def test_other_upstream_errors_keep_their_status(
    client: OllamaClient, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.upstream_error = (429, "rate limit exceeded")
    with pytest.raises(OllamaAPIError) as caught:
        await client.web_search("q")
    assert type(caught.value) is OllamaAPIError
    assert str(caught.value) == "Ollama error (HTTP 429): rate limit exceeded"


@pytest.mark.parametrize(
    ("version", "call", "text"),
    [
        (
            "0.22.0",
            "recommendations",
            "Ollama error (HTTP 404): 404 page not found; Ollama 0.22.0 is too old for model "
            "recommendations (GET /api/experimental/model-recommendations): upgrade Ollama to "
            "0.22.1 or newer",
        ),
        (
            "0.17.7",
            "search",
            "Ollama error (HTTP 404): 404 page not found; Ollama 0.17.7 is too old for web search "
            "(POST /api/experimental/web_search): upgrade Ollama to 0.17.8 or newer",
        ),
        (
            "0.17.7",
            "fetch",
            "Ollama error (HTTP 404): 404 page not found; Ollama 0.17.7 is too old for web fetch "
            "(POST /api/experimental/web_fetch): upgrade Ollama to 0.17.8 or newer",
        ),
        (
            "0.16.1",
            "status",
            "Ollama error (HTTP 404): 404 page not found; Ollama 0.16.1 is too old for cloud "
            "status (GET /api/status): upgrade Ollama to 0.16.2 or newer",
        ),
    ],
)
async def test_an_old_server_is_endpoint_missing_with_the_version_needed(
    client: OllamaClient, ollama_double: OllamaDouble, version: str, call: str, text: str
) -> None:
    ollama_double.faults.version = version
    calls = {
        "recommendations": client.model_recommendations,
        "search": lambda: client.web_search("q"),
        "fetch": lambda: client.web_fetch("https://a.example"),
        "status": client.cloud_status,
    }
    with pytest.raises(EndpointMissing) as caught:
        await calls[call]()
    assert isinstance(caught.value, UnsupportedServer)
    assert (caught.value.status, caught.value.version) == (404, version)
    assert str(caught.value) == text
