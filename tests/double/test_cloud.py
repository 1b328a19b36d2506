"""The double's cloud-backed routes, byte for byte: /api/status, model recommendations, web
search and fetch, with each fault (cloud disabled, signed out, upstream down or failing, old
server)."""

from __future__ import annotations

import re

import httpx2
import pytest

from tests.ollama_double import OllamaDouble
from tests.ollama_double.cloud import RECOMMENDATIONS, SIGNIN_URL

SEARCH = "/api/experimental/web_search"
FETCH = "/api/experimental/web_fetch"
RECOMMEND = "/api/experimental/model-recommendations"
WEB = pytest.mark.parametrize(
    ("path", "body", "what"),
    [
        (SEARCH, {"query": "ollama"}, "web search"),
        (FETCH, {"url": "https://ollama.com"}, "web fetch"),
    ],
)


def test_status_reports_the_cloud_and_where_it_was_disabled(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    answer = http.get("/api/status")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.content == b'{"cloud":{"disabled":false,"source":"none"}}'
    for source in ("env", "config", "both"):
        ollama_double.faults.cloud_disabled = source
        assert http.get("/api/status").json() == {"cloud": {"disabled": True, "source": source}}


def test_recommendations_are_the_built_in_list_with_zero_fields_left_out(
    http: httpx2.Client,
) -> None:
    answer = http.get(RECOMMEND)
    assert answer.status_code == 200
    recs = answer.json()["recommendations"]
    assert recs == list(RECOMMENDATIONS)
    assert recs[0] == {
        "model": "kimi-k2.6:cloud",
        "description": "State-of-the-art coding, long-horizon execution, and multimodal agent "
        "swarm capability",
        "context_length": 262144,
        "max_output_tokens": 262144,
    }
    assert recs[4] == {
        "model": "gemma4",
        "description": "Reasoning and code generation locally",
        "vram_bytes": 12_000_000_000,
    }
    assert [r["model"] for r in recs] == [
        "kimi-k2.6:cloud", "glm-5.1:cloud", "qwen3.5:cloud", "minimax-m2.7:cloud",
        "gemma4", "qwen3.5",
    ]  # fmt: skip


def test_recommendations_are_served_when_the_cloud_is_off_or_signed_out(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    ollama_double.faults.cloud_disabled = "env"
    ollama_double.faults.signed_out = True
    ollama_double.faults.upstream_down = True
    assert http.get(RECOMMEND).json()["recommendations"] == list(RECOMMENDATIONS)


def test_a_refreshed_list_replaces_the_built_in_one(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    fresh = [{"model": "new-model", "description": "Fresh", "vram_bytes": 1}]
    ollama_double.cloud.recommendations = fresh
    assert http.get(RECOMMEND).json() == {"recommendations": fresh}
    ollama_double.cloud.reset()
    assert http.get(RECOMMEND).json()["recommendations"] == list(RECOMMENDATIONS)


def test_web_search_results_follow_max_results(http: httpx2.Client) -> None:
    answer = http.post(SEARCH, json={"query": "what is ollama", "max_results": 3})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert len(results) == 3
    assert results[0] == {
        "title": "what is ollama - result 1",
        "url": "https://example.com/what-is-ollama/1",
        "content": "Result 1 about what is ollama.",
    }
    assert len(http.post(SEARCH, json={"query": "x"}).json()["results"]) == 5
    assert len(http.post(SEARCH, json={"query": "x", "max_results": 50}).json()["results"]) == 10


def test_web_fetch_answers_a_registered_page_or_a_generated_one(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    ollama_double.cloud.add_page("https://ollama.com", "Ollama", "models")
    assert http.post(FETCH, json={"url": "https://ollama.com"}).content == (
        b'{"title":"Ollama","content":"models"}'
    )
    other = http.post(FETCH, json={"url": "https://example.org/a"}).json()
    assert other["title"] == "Page https-example-org-a"
    assert other["links"] == ["https://example.org/a/about", "https://example.org/a/contact"]


@WEB
def test_empty_body_is_missing_request_body(
    http: httpx2.Client, path: str, body: object, what: str
) -> None:
    answer = http.post(path, content=b"  \n")
    assert (answer.status_code, answer.content) == (400, b'{"error":"missing request body"}')


@WEB
def test_cloud_disabled_is_403(
    http: httpx2.Client, ollama_double: OllamaDouble, path: str, body: object, what: str
) -> None:
    ollama_double.faults.cloud_disabled = "config"
    answer = http.post(path, json=body)
    assert answer.status_code == 403
    assert answer.json() == {"error": f"ollama cloud is disabled: {what} is unavailable"}


@WEB
def test_signed_out_is_401_with_the_signin_url(
    http: httpx2.Client, ollama_double: OllamaDouble, path: str, body: object, what: str
) -> None:
    ollama_double.faults.signed_out = True
    answer = http.post(path, json=body)
    assert answer.status_code == 401
    assert answer.json() == {"error": "unauthorized", "signin_url": SIGNIN_URL}
    assert SIGNIN_URL.startswith("https://ollama.com/connect?name=")


@WEB
def test_upstream_down_is_502_with_gos_error(
    http: httpx2.Client, ollama_double: OllamaDouble, path: str, body: object, what: str
) -> None:
    ollama_double.faults.upstream_down = True
    answer = http.post(path, json=body)
    assert answer.status_code == 502
    upstream = path.replace("/experimental", "")
    pattern = rf'Post "https://ollama\.com:443{upstream}\?ts=\d+": dial tcp: lookup ollama\.com: .*'
    assert re.fullmatch(pattern, answer.json()["error"])


@WEB
def test_upstream_errors_pass_through(
    http: httpx2.Client, ollama_double: OllamaDouble, path: str, body: object, what: str
) -> None:
    ollama_double.faults.upstream_error = (429, "rate limit exceeded")
    answer = http.post(path, json=body)
    assert (answer.status_code, answer.json()) == (429, {"error": "rate limit exceeded"})
    ollama_double.faults.reset()
    assert http.post(path, json=body).status_code == 200


@pytest.mark.parametrize(
    ("version", "missing"),
    [
        ("0.22.0", {RECOMMEND}),
        ("0.17.7", {RECOMMEND, SEARCH, FETCH}),
        ("0.16.1", {RECOMMEND, SEARCH, FETCH, "/api/status"}),
        ("0.22.1", set()),
        ("0.0.0", set()),
    ],
)
def test_older_servers_have_no_such_routes(
    http: httpx2.Client, ollama_double: OllamaDouble, version: str, missing: set[str]
) -> None:
    ollama_double.faults.version = version
    answers = {
        RECOMMEND: http.get(RECOMMEND),
        "/api/status": http.get("/api/status"),
        SEARCH: http.post(SEARCH, json={"query": "q"}),
        FETCH: http.post(FETCH, json={"url": "https://a.example"}),
    }
    for path, answer in answers.items():
        if path in missing:
            assert (answer.status_code, answer.text) == (404, "404 page not found"), path
        else:
            assert answer.status_code == 200, path


def test_wrong_method_is_405(http: httpx2.Client) -> None:
    assert http.post(RECOMMEND).status_code == 405
    assert http.get(SEARCH).status_code == 405
