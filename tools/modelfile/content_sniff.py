"""Go's `http.DetectContentType`, which `ollama create` uses to pick files from a model folder.

Only the MIME type is returned, without parameters (`text/plain`, not `text/plain;
charset=utf-8`), as Ollama compares it. The signature table follows the WHATWG MIME sniffing
rules as Go implements them: HTML and XML (after leading whitespace), PDF, PostScript, the
UTF BOMs, images, audio and video, fonts and archives; text when no byte is binary; else
`application/octet-stream`.
"""

from __future__ import annotations

from typing import Final

SNIFF_LENGTH: Final = 512
OCTET_STREAM: Final = "application/octet-stream"

_WHITESPACE: Final = b"\t\n\x0c\r "
_HTML_TAGS: Final = (
    b"<!DOCTYPE HTML",
    b"<HTML",
    b"<HEAD",
    b"<SCRIPT",
    b"<IFRAME",
    b"<H1",
    b"<DIV",
    b"<FONT",
    b"<TABLE",
    b"<A",
    b"<STYLE",
    b"<TITLE",
    b"<B",
    b"<BODY",
    b"<BR",
    b"<P",
    b"<!--",
)
# (pattern, mask, MIME type); a mask byte of 0 ignores that byte.
_MASKED: Final[tuple[tuple[bytes, bytes, str], ...]] = (
    (b"%PDF-", b"\xff" * 5, "application/pdf"),
    (b"%!PS-Adobe-", b"\xff" * 11, "application/postscript"),
    (b"\xfe\xff\x00\x00", b"\xff\xff\x00\x00", "text/plain"),
    (b"\xff\xfe\x00\x00", b"\xff\xff\x00\x00", "text/plain"),
    (b"\xef\xbb\xbf\x00", b"\xff\xff\xff\x00", "text/plain"),
    (b"\x00\x00\x01\x00", b"\xff" * 4, "image/x-icon"),
    (b"\x00\x00\x02\x00", b"\xff" * 4, "image/x-icon"),
    (b"BM", b"\xff" * 2, "image/bmp"),
    (b"GIF87a", b"\xff" * 6, "image/gif"),
    (b"GIF89a", b"\xff" * 6, "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP", b"\xff" * 4 + b"\x00" * 4 + b"\xff" * 6, "image/webp"),
    (b"\x89PNG\r\n\x1a\n", b"\xff" * 8, "image/png"),
    (b"\xff\xd8\xff", b"\xff" * 3, "image/jpeg"),
    (b"FORM\x00\x00\x00\x00AIFF", b"\xff" * 4 + b"\x00" * 4 + b"\xff" * 4, "audio/aiff"),
    (b"ID3", b"\xff" * 3, "audio/mpeg"),
    (b"OggS\x00", b"\xff" * 5, "application/ogg"),
    (b"MThd\x00\x00\x00\x06", b"\xff" * 8, "audio/midi"),
    (b"RIFF\x00\x00\x00\x00AVI ", b"\xff" * 4 + b"\x00" * 4 + b"\xff" * 4, "video/avi"),
    (b"RIFF\x00\x00\x00\x00WAVE", b"\xff" * 4 + b"\x00" * 4 + b"\xff" * 4, "audio/wave"),
)
# Checked after the MP4 box test, in Go's order.
_AFTER_MP4: Final[tuple[tuple[bytes, bytes, str], ...]] = (
    (b"\x1a\x45\xdf\xa3", b"\xff" * 4, "video/webm"),
    (b"\x00" * 34 + b"LP", b"\x00" * 34 + b"\xff\xff", "application/vnd.ms-fontobject"),
    (b"\x00\x01\x00\x00", b"\xff" * 4, "font/ttf"),
    (b"OTTO", b"\xff" * 4, "font/otf"),
    (b"ttcf", b"\xff" * 4, "font/collection"),
    (b"wOFF", b"\xff" * 4, "font/woff"),
    (b"wOF2", b"\xff" * 4, "font/woff2"),
    (b"\x1f\x8b\x08", b"\xff" * 3, "application/x-gzip"),
    (b"PK\x03\x04", b"\xff" * 4, "application/zip"),
    (b"Rar!\x1a\x07\x00", b"\xff" * 7, "application/x-rar-compressed"),
    (b"Rar!\x1a\x07\x01\x00", b"\xff" * 8, "application/x-rar-compressed"),
    (b"\x00asm", b"\xff" * 4, "application/wasm"),
)


def detect_content_type(data: bytes) -> str:
    """The MIME type Go's `http.DetectContentType` gives `data` (its first 512 bytes count)."""
    data = data[:SNIFF_LENGTH]
    text = data.lstrip(_WHITESPACE)
    for tag in _HTML_TAGS:
        if _is_html(text, tag):
            return "text/html"
    if text.startswith(b"<?xml"):
        return "text/xml"
    for pattern, mask, mime in _MASKED:
        if _masked_match(data, pattern, mask):
            return mime
    if _is_mp4(data):
        return "video/mp4"
    for pattern, mask, mime in _AFTER_MP4:
        if _masked_match(data, pattern, mask):
            return mime
    if any(_is_binary_byte(byte) for byte in data):
        return OCTET_STREAM
    return "text/plain"


def _is_html(text: bytes, tag: bytes) -> bool:
    if len(text) < len(tag) + 1:
        return False
    head = text[: len(tag)]
    folded = bytes(b & 0xDF if 0x41 <= w <= 0x5A else b for b, w in zip(head, tag, strict=True))
    return folded == tag and text[len(tag)] in b" >"


def _masked_match(data: bytes, pattern: bytes, mask: bytes) -> bool:
    if len(data) < len(pattern):
        return False
    head = data[: len(pattern)]
    return all(b & m == p for b, m, p in zip(head, mask, pattern, strict=True))


def _is_mp4(data: bytes) -> bool:
    if len(data) < 12:
        return False
    box_size = int.from_bytes(data[:4], "big")
    if len(data) < box_size or box_size % 4 != 0 or data[4:8] != b"ftyp":
        return False
    # Brands follow the major brand's version (bytes 12..15, skipped).
    return any(data[start : start + 3] == b"mp4" for start in range(8, box_size, 4) if start != 12)


def _is_binary_byte(byte: int) -> bool:
    return byte <= 0x08 or byte == 0x0B or 0x0E <= byte <= 0x1A or 0x1C <= byte <= 0x1F
