"""Serving a tape over HTTP like a static file: a WSGI and an ASGI application.

``WSGIApp(tape, name="site.tar")`` and ``ASGIApp(tape, name="site.tar")`` answer GET and HEAD with
the archive's bytes read by ``tape.read_at`` in chunks (the archive is never built in memory):
Content-Length, single ranges, several ranges as ``multipart/byteranges`` (overlapping ones
coalesced, at most ``max_ranges``), 416 with ``Content-Range: bytes */SIZE``, a strong ETag (the
tape's fingerprint), If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since and If-Range
(RFC 9110 sections 13 and 14, the rules of ``tartape serve``, see docs/SERVE.md), Last-Modified
when ``mtime`` is given, and Content-Disposition with the file name (RFC 6266, ``filename*`` for
names that are not ASCII). They work with any WSGI or ASGI server.

A read error (a source file changed since the tape was sealed: ``ChangedSourceError``) cuts the
response short: the error is raised from the body, so the server closes the connection before
the declared length and the client sees an incomplete transfer, never a complete-looking wrong
file. The error goes to ``on_error`` (the ``tartape.http`` logger when it is None), and every later
request gets 503 with the reason. Build a new tape (and a new application) to serve the sources
again: its ETag is new, so a client resuming with If-Range starts over.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import threading
import time
import urllib.parse
import uuid
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

from .errors import NotRandomAccessError, TarTapeError
from .tape import Tape

__all__ = ["WSGIApp", "ASGIApp", "parse_range", "evaluate_conditions"]

log = logging.getLogger("tartape.http")

#: Bytes per read_at call.
CHUNK = 1 << 20
#: Ranges per request after coalescing; more and the whole archive is served.
MAX_RANGES = 100

Span = Tuple[int, int]  # start, end (exclusive)


# --- Range (RFC 9110 section 14) -------------------------------------------------------------


def parse_range(value: Optional[str], size: int, max_ranges: int = MAX_RANGES) -> Union[None, str, List[Span]]:
    """What a ``Range`` field asks of a representation of ``size`` bytes: ``None`` for the whole
    (no field, an unknown unit, a malformed set, too many ranges), ``"unsatisfiable"`` (416), or
    the ranges as ``(start, end)`` pairs, ascending, overlapping and adjacent ones merged."""
    if value is None or "=" not in value:
        return None
    unit, _, ranges = value.partition("=")
    if unit.lower() != "bytes":
        return None
    specs = []
    for element in ranges.split(","):
        element = element.strip(" \t")
        if not element:
            continue
        first, dash, last = element.partition("-")
        if not dash or not _digits(last, allow_empty=True) or not _digits(first, allow_empty=True):
            return None
        if not first:
            if not last:
                return None
            specs.append((None, int(last)))
            continue
        if last and int(last) < int(first):
            return None
        specs.append((int(first), int(last) if last else None))
    if not specs:
        return None
    spans = []
    for first, last in specs:
        if first is None:  # suffix
            if last == 0 or size == 0:
                continue
            spans.append((max(0, size - last), size))
        elif first < size:
            spans.append((first, size if last is None else min(last + 1, size)))
    if not spans:
        return "unsatisfiable"
    spans.sort()
    merged: List[Span] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return None if len(merged) > max_ranges else merged


def _digits(s: str, allow_empty: bool = False) -> bool:
    return (allow_empty and s == "") or (s != "" and s.isascii() and s.isdigit())


# --- Conditions (RFC 9110 section 13.2.2) ----------------------------------------------------


def _tags(value: str) -> Optional[List[Tuple[bool, str]]]:
    """``#entity-tag`` as (weak, opaque-with-quotes) pairs; None when malformed."""
    tags = []
    rest = value
    while True:
        rest = rest.lstrip(" \t,")
        if not rest:
            return tags
        weak = rest.startswith("W/")
        body = rest[2:] if weak else rest
        if not body.startswith('"'):
            return None
        close = body.find('"', 1)
        if close < 0:
            return None
        opaque = body[: close + 1]
        if any(not (c == "!" or "#" <= c <= "~" or ord(c) >= 0x80) for c in opaque[1:-1]):
            return None
        tags.append((weak, opaque))
        rest = body[close + 1 :].lstrip(" \t")
        if rest and not rest.startswith(","):
            return None


def _matches(value: str, etag: str, strong: bool) -> bool:
    if value.strip() == "*":
        return True
    tags = _tags(value)
    return bool(tags) and any(o == etag and not (strong and weak) for weak, o in tags)


def _date(value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return int(parsed.timestamp())


def evaluate_conditions(get: Callable[[str], Optional[str]], etag: str, mtime: Optional[int]) -> Union[int, bool]:
    """The preconditions of a GET or HEAD, in RFC 9110's order: 412, 304, or whether ``Range``
    may apply (False when If-Range does not hold). ``get(name)`` gives a field's value (its
    lines joined by commas) or None."""
    if_match = get("if-match")
    if if_match is not None:
        if not _matches(if_match, etag, strong=True):
            return 412
    else:
        ius = _date(get("if-unmodified-since"))
        if ius is not None and mtime is not None and mtime > ius:
            return 412
    inm = get("if-none-match")
    if inm is not None:
        if _matches(inm, etag, strong=False):
            return 304
    else:
        ims = _date(get("if-modified-since"))
        if ims is not None and mtime is not None and mtime <= ims:
            return 304
    if_range = get("if-range")
    if if_range is None:
        return True
    v = if_range.strip()
    if v.startswith('"') or v.startswith("W/"):
        tags = _tags(v)
        return tags is not None and len(tags) == 1 and not tags[0][0] and tags[0][1] == etag
    date = _date(v)
    return date is not None and mtime is not None and date == mtime


# --- The response, for both interfaces -------------------------------------------------------

Part = Union[bytes, Span]  # bytes from memory, or an archive span


class _Plan:
    def __init__(self, status: int, headers: List[Tuple[str, str]], parts: Sequence[Part] = ()):
        self.status = status
        self.headers = headers
        self.parts = list(parts)


_REASONS = {200: "OK", 206: "Partial Content", 304: "Not Modified", 405: "Method Not Allowed",
            412: "Precondition Failed", 416: "Range Not Satisfiable", 501: "Not Implemented",
            503: "Service Unavailable"}


def _disposition(name: str) -> str:
    plain = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)
    out = f'attachment; filename="{plain}"'
    if plain != name:
        out += "; filename*=UTF-8''" + urllib.parse.quote(name, safe="!#$&+-.^_`|~")
    return out


class _App:
    def __init__(self, tape: Tape, name: str = "archive.tar", mtime: Optional[float] = None,
                 on_error: Optional[Callable[[BaseException], None]] = None, max_ranges: int = MAX_RANGES):
        self.tape = tape
        self.name = name
        self.mtime = None if mtime is None else int(mtime)
        self.on_error = on_error
        self.max_ranges = max_ranges
        self._failure: Optional[BaseException] = None
        self._lock = threading.Lock()

    def _fail(self, err: BaseException) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = err
        if self.on_error is not None:
            self.on_error(err)
        else:
            log.error("tartape: %s: %s", self.name, err)

    def _text(self, status: int, text: str, extra: Sequence[Tuple[str, str]] = ()) -> _Plan:
        body = text.encode()
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        return _Plan(status, headers + list(extra), [body])

    def _plan(self, method: str, get: Callable[[str], Optional[str]]) -> _Plan:
        if method not in ("GET", "HEAD"):
            return self._text(405, "only GET and HEAD\n", [("Allow", "GET, HEAD")])
        if self._failure is not None:
            return self._text(503, f"this archive is no longer served: {self._failure}\n", [("Retry-After", "60")])
        try:
            size = self.tape.total_size if not self.tape.stream_only else None
            etag = f'"{self.tape.fingerprint}"'
        except TarTapeError as e:
            self._fail(e)
            return self._text(503, f"this archive is no longer served: {e}\n")
        if size is None:
            return self._text(501, "this archive is stream-only (deflated ZIP entries): no size or ranges\n")
        headers = [("ETag", etag)]
        if self.mtime is not None:
            headers.append(("Last-Modified", email.utils.formatdate(min(self.mtime, time.time()), usegmt=True)))
        outcome = evaluate_conditions(get, etag, self.mtime)
        if outcome in (304, 412):
            if outcome == 412:
                headers.append(("Content-Length", "0"))
            return _Plan(outcome, headers)
        ctype = "application/zip" if self.tape.format == "zip" else "application/x-tar"
        headers += [("Accept-Ranges", "bytes"), ("Content-Disposition", _disposition(self.name))]
        ranges = parse_range(get("range"), size, self.max_ranges) if outcome and method == "GET" else None
        if ranges == "unsatisfiable":
            return self._text(416, "range not satisfiable\n", [("Content-Range", f"bytes */{size}")] + headers[:1])
        if ranges is None:
            headers += [("Content-Type", ctype), ("Content-Length", str(size))]
            return _Plan(200, headers, [(0, size)] if method == "GET" else [])
        if len(ranges) == 1:
            (a, b), = ranges
            headers += [("Content-Type", ctype), ("Content-Range", f"bytes {a}-{b - 1}/{size}"),
                        ("Content-Length", str(b - a))]
            return _Plan(206, headers, [(a, b)])
        boundary = "tartape" + uuid.uuid4().hex
        parts: List[Part] = []
        for a, b in ranges:
            parts.append(f"\r\n--{boundary}\r\nContent-Type: {ctype}\r\nContent-Range: bytes {a}-{b - 1}/{size}\r\n\r\n".encode())
            parts.append((a, b))
        parts.append(f"\r\n--{boundary}--\r\n".encode())
        length = sum(len(p) if isinstance(p, bytes) else p[1] - p[0] for p in parts)
        headers += [("Content-Type", f"multipart/byteranges; boundary={boundary}"), ("Content-Length", str(length))]
        return _Plan(206, headers, parts)

    def _chunks(self, parts: Sequence[Part]) -> Iterator[Union[bytes, Span]]:
        """The body as bytes from memory and spans of at most CHUNK archive bytes."""
        for p in parts:
            if isinstance(p, bytes):
                yield p
                continue
            start, end = p
            while start < end:
                n = min(CHUNK, end - start)
                yield (start, start + n)
                start += n

    def _read(self, span: Span) -> bytes:
        try:
            data = self.tape.read_at(span[0], span[1] - span[0])
            if len(data) != span[1] - span[0]:
                raise NotRandomAccessError(f"the archive ended at {span[0] + len(data)}, before {span[1]}")
            return data
        except TarTapeError as e:
            self._fail(e)
            raise


class WSGIApp(_App):
    """A WSGI application serving ``tape`` (see the module's documentation)."""

    def __call__(self, environ, start_response):
        def get(name: str) -> Optional[str]:
            return environ.get("HTTP_" + name.upper().replace("-", "_"))

        plan = self._plan(environ.get("REQUEST_METHOD", "GET"), get)
        chunks = self._chunks(plan.parts)
        first = next(chunks, None)
        try:
            # The first chunk is read before the status goes out: a source already changed gives
            # a 503, not a cut response.
            first_bytes = first if first is None or isinstance(first, bytes) else self._read(first)
        except TarTapeError as e:
            plan = self._text(503, f"this archive is no longer served: {e}\n")
            chunks, first_bytes = iter(()), plan.parts[0]
        start_response(f"{plan.status} {_REASONS.get(plan.status, '')}", plan.headers)

        def body() -> Iterator[bytes]:
            if first_bytes is not None:
                yield first_bytes
            for c in chunks:
                yield c if isinstance(c, bytes) else self._read(c)

        return body()


async def _in_thread(f, *args):
    """``asyncio.to_thread`` for Python 3.8 too."""
    return await asyncio.get_running_loop().run_in_executor(None, f, *args)


class ASGIApp(_App):
    """An ASGI application serving ``tape`` (see the module's documentation). Reads run in
    worker threads (the loop's default executor), one chunk at a time."""

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        fields: dict = {}
        for k, v in scope.get("headers", []):
            k = k.decode("latin-1").lower()
            fields[k] = (fields[k] + ", " if k in fields else "") + v.decode("latin-1")
        plan = self._plan(scope.get("method", "GET"), fields.get)
        chunks = self._chunks(plan.parts)
        first = next(chunks, None)
        if first is not None and not isinstance(first, bytes):
            try:
                first = await _in_thread(self._read, first)
            except TarTapeError as e:
                plan = self._text(503, f"this archive is no longer served: {e}\n")
                chunks, first = iter(()), plan.parts[0]
        await send({"type": "http.response.start", "status": plan.status,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in plan.headers]})
        if first is not None:
            await send({"type": "http.response.body", "body": first, "more_body": True})
        for c in chunks:
            data = c if isinstance(c, bytes) else await _in_thread(self._read, c)
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
