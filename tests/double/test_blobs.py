"""HEAD/POST /api/blobs/:digest exactly as contract 2.15 says."""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import AsyncIterator

import httpx2
import pytest

from tests.ollama_double import OllamaDouble


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "digest", ["sha256:abc", "md5:" + "0" * 64, "sha256:" + "g" * 64, "sha256:" + "0" * 63]
)
def test_malformed_digests_are_refused(http: httpx2.Client, digest: str) -> None:
    for method in ("HEAD", "POST"):
        resp = http.request(method, f"/api/blobs/{digest}", content=b"x")
        assert resp.status_code == 400
        if method == "POST":
            assert resp.json() == {"error": "invalid digest format"}


def test_head_answers_200_or_404_without_a_body(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    data = b"some blob"
    missing = http.head(f"/api/blobs/{sha(data)}")
    assert (missing.status_code, missing.content) == (404, b"")
    assert http.post(f"/api/blobs/{sha(data)}", content=data).status_code == 201
    assert http.head(f"/api/blobs/{sha(data)}").status_code == 200
    dash = sha(data).replace(":", "-")
    assert http.head(f"/api/blobs/{dash}").status_code == 200  # HEAD accepts sha256-<hex>
    assert ollama_double.store.blob_path(sha(data)).read_bytes() == data


def test_existing_blob_is_answered_without_reading_the_body(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    data = b"already here"
    assert http.post(f"/api/blobs/{sha(data)}", content=data).status_code == 201
    resp = http.post(f"/api/blobs/{sha(data)}", content=data)
    assert (resp.status_code, resp.content) == (200, b"")
    assert ollama_double.requests.bodies(f"/api/blobs/{sha(data)}") == [len(data), 0]
    # A client that announces a huge body and sends almost nothing still gets its answer.
    with socket.create_connection(("127.0.0.1", ollama_double.port), timeout=10) as sock:
        head = (
            f"POST /api/blobs/{sha(data)} HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Length: 1000000000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"abc")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close" in answer


def test_new_blob_is_201_and_a_mismatch_is_kept_under_its_real_digest(
    http: httpx2.Client, ollama_double: OllamaDouble
) -> None:
    data = b"the real content"
    claimed = sha(b"something else")
    resp = http.post(f"/api/blobs/{claimed}", content=data)
    assert resp.status_code == 400
    assert resp.json() == {"error": f'digest mismatch, expected "{claimed}", got "{sha(data)}"'}
    assert ollama_double.store.has_blob(sha(data))
    assert not ollama_double.store.has_blob(claimed)
    assert http.head(f"/api/blobs/{sha(data)}").status_code == 200


@pytest.mark.parametrize("form", ["dash", "upper"])
def test_post_compares_the_digest_as_a_string(http: httpx2.Client, form: str) -> None:
    data = f"content for {form}".encode()
    hexdigest = hashlib.sha256(data).hexdigest()
    url_digest = f"sha256-{hexdigest}" if form == "dash" else f"sha256:{hexdigest.upper()}"
    resp = http.post(f"/api/blobs/{url_digest}", content=data)
    assert resp.status_code == 400
    assert (
        resp.json()["error"]
        == f'digest mismatch, expected "{url_digest}", got "sha256:{hexdigest}"'
    )


async def test_large_chunked_upload_is_streamed_to_disk(ollama_double: OllamaDouble) -> None:
    chunk = bytes(range(256)) * 1024  # 256 KiB
    count = 256  # 64 MiB, sent with chunked transfer encoding as ollama-python's async client does
    digest_hash = hashlib.sha256()
    for _ in range(count):
        digest_hash.update(chunk)
    digest = "sha256:" + digest_hash.hexdigest()

    async def body() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield chunk

    async with httpx2.AsyncClient(base_url=ollama_double.url, timeout=60) as client:
        resp = await client.post(f"/api/blobs/{digest}", content=body())
        assert resp.status_code == 201
        assert ollama_double.store.blob_path(digest).stat().st_size == count * len(chunk)
        assert ollama_double.requests.bodies(f"/api/blobs/{digest}") == [count * len(chunk)]
        # The re-upload is answered at once; the client still finishes sending cleanly.
        again = await client.post(f"/api/blobs/{digest}", content=body())
        assert again.status_code == 200
    names = [p.name for p in ollama_double.store.blobs.iterdir()]
    assert all(re.fullmatch(r"sha256-[0-9a-f]{64}", n) for n in names)  # no temp files left
