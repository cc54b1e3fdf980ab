"""The small part of HTTP/1.1 the Proxy's web API needs: message heads, chunked bodies. Pure.

Used by the client for ``GET /webapi/find`` and the ``/webapi/connectionupgrade`` upgrade, and by
the fake Proxy to serve them. (httpx cannot hand back the raw connection after a 101 response,
and the teleport_access library keeps httpx out of its dependencies anyway.)
"""

from __future__ import annotations

import attrs

#: A message head (request or status line plus headers) longer than this is refused.
MAX_HEAD_BYTES = 64 * 1024
_HEAD_END = b"\r\n\r\n"


class HTTPFormatError(ValueError):
    """The peer sent something that is not a well-formed HTTP/1.1 message."""


Headers = tuple[tuple[str, str], ...]


def _values(headers: Headers, name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def _tokens(headers: Headers, name: str) -> list[str]:
    """Comma-separated tokens of every *name* header, lowercased (``Connection: a, Upgrade``)."""
    return [
        token.strip().lower()
        for value in _values(headers, name)
        for token in value.split(",")
        if token.strip()
    ]


class _HeaderAccess:
    """Case-insensitive header look-ups, shared by request and response heads."""

    headers: Headers

    def get(self, name: str) -> str | None:
        values = _values(self.headers, name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        return _values(self.headers, name)

    def tokens(self, name: str) -> list[str]:
        return _tokens(self.headers, name)


@attrs.frozen(kw_only=True)
class RequestHead(_HeaderAccess):
    method: str
    target: str
    headers: Headers

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@attrs.frozen(kw_only=True)
class ResponseHead(_HeaderAccess):
    status: int
    reason: str
    headers: Headers


def head_length(buffer: bytes | bytearray) -> int | None:
    """Length of the complete message head at the start of *buffer*, or None if incomplete."""
    end = buffer.find(_HEAD_END)
    if end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise HTTPFormatError(f"message head longer than {MAX_HEAD_BYTES} bytes")
        return None
    if end + len(_HEAD_END) > MAX_HEAD_BYTES:
        raise HTTPFormatError(f"message head longer than {MAX_HEAD_BYTES} bytes")
    return end + len(_HEAD_END)


def _split_head(raw: bytes) -> tuple[str, Headers]:
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
        raise HTTPFormatError("undecodable message head") from exc
    lines = text.split("\r\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise HTTPFormatError("empty message head")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HTTPFormatError(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return lines[0], tuple(headers)


def parse_response_head(raw: bytes) -> ResponseHead:
    first, headers = _split_head(raw)
    parts = first.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HTTPFormatError(f"malformed status line {first[:80]!r}")
    return ResponseHead(
        status=int(parts[1]), reason=parts[2] if len(parts) > 2 else "", headers=headers
    )


def parse_request_head(raw: bytes) -> RequestHead:
    first, headers = _split_head(raw)
    parts = first.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HTTPFormatError(f"malformed request line {first[:80]!r}")
    return RequestHead(method=parts[0], target=parts[1], headers=headers)


def _encode_headers(headers: Headers) -> str:
    for name, value in headers:
        if any(ch in name + value for ch in "\r\n"):
            raise ValueError(f"header {name!r} contains a line break")
    return "".join(f"{name}: {value}\r\n" for name, value in headers)


def encode_request(method: str, target: str, headers: Headers) -> bytes:
    return f"{method} {target} HTTP/1.1\r\n{_encode_headers(headers)}\r\n".encode("latin-1")


def encode_response(status: int, reason: str, headers: Headers, body: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status} {reason}\r\n{_encode_headers(headers)}\r\n"
    return head.encode("latin-1") + body


class ChunkedDecoder:
    """Incremental decoder of a ``Transfer-Encoding: chunked`` body (trailers are skipped)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = "size"  # size -> data -> data-end -> size ... -> trailers -> done
        self._chunk_left = 0

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, data: bytes) -> bytes:
        """Body bytes decoded from *data*; `done` turns True after the final chunk."""
        self._buffer += data
        out = bytearray()
        while self._state != "done":
            if self._state == "data":
                take = min(self._chunk_left, len(self._buffer))
                if not take:
                    break
                out += self._buffer[:take]
                del self._buffer[:take]
                self._chunk_left -= take
                if not self._chunk_left:
                    self._state = "data-end"
                continue
            line = self._take_line()
            if line is None:
                break
            if self._state == "data-end":
                if line:
                    raise HTTPFormatError("chunk data not followed by CRLF")
                self._state = "size"
            elif self._state == "trailers":
                if not line:
                    self._state = "done"
            else:
                self._chunk_left = _chunk_size(line)
                self._state = "data" if self._chunk_left else "trailers"
        return bytes(out)

    def _take_line(self) -> bytes | None:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > 4096:
                raise HTTPFormatError("chunk size or trailer line too long")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line


def _chunk_size(line: bytes) -> int:
    text = line.split(b";", 1)[0].strip()
    try:
        size = int(text, 16)
    except ValueError as exc:
        raise HTTPFormatError(f"malformed chunk size {text[:20]!r}") from exc
    if size < 0:
        raise HTTPFormatError("negative chunk size")
    return size
