"""Go's `http.DetectContentType`, which decides which model-folder files Ollama takes."""

from __future__ import annotations

import pytest

from tools.modelfile.content_sniff import detect_content_type


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b'{"a": 1}', "text/plain"),
        (b"", "text/plain"),
        (b"version https://git-lfs.github.com/spec/v1\n", "text/plain"),
        (b"GGUF\x03\x00\x00\x00", "application/octet-stream"),
        (b"PK\x03\x04rest", "application/zip"),
        (b"  \n<!DOCTYPE html><html>", "text/html"),
        (b"<html>", "text/html"),
        (b"<p>x", "text/html"),
        (b"<pre>", "text/plain"),  # <P needs a space or > after it
        (b"<b", "text/plain"),  # too short to be a tag
        (b"\t<?xml version='1.0'?>", "text/xml"),
        (b"%PDF-1.7", "application/pdf"),
        (b"%!PS-Adobe-3.0", "application/postscript"),
        (b"\xfe\xff\x00A", "text/plain"),
        (b"\xff\xfeA\x00", "text/plain"),
        (b"\xef\xbb\xbfhi", "text/plain"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"GIF89a", "image/gif"),
        (b"BM....", "image/bmp"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"RIFF\x01\x02\x03\x04WEBPVP8 ", "image/webp"),
        (b"RIFF\x01\x02\x03\x04WAVEfmt ", "audio/wave"),
        (b"ID3\x04", "audio/mpeg"),
        (b"OggS\x00", "application/ogg"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp41isom", "video/mp4"),
        (b"\x00\x00\x00\x18ftypqt  \x00\x00\x00\x00qt  qt  ", "application/octet-stream"),
        (b"\x1a\x45\xdf\xa3", "video/webm"),
        (bytes(34) + b"LP", "application/vnd.ms-fontobject"),
        (b"\x00\x01\x00\x00", "font/ttf"),
        (b"wOF2", "font/woff2"),
        (b"\x1f\x8b\x08\x00", "application/x-gzip"),
        (b"Rar!\x1a\x07\x00", "application/x-rar-compressed"),
        (b"\x00asm\x01", "application/wasm"),
        (b"a" * 512 + b"\x00", "text/plain"),  # only the first 512 bytes count
    ],
)
def test_detect_content_type(data: bytes, mime: str) -> None:
    assert detect_content_type(data) == mime
