"""The WSGI and ASGI applications with real servers (werkzeug's, uvicorn) and a real client
(requests): whole archives, ranges, multipart, conditions, and a source that changes under them.
The servers and the client must be installed (tests/deps.sh): a missing one fails, never skips."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
import uvicorn
from werkzeug.serving import make_server

import tartape
from tartape.http import ASGIApp, WSGIApp, evaluate_conditions, parse_range

from conftest import content, full


def test_parse_range_follows_rfc_9110():
    assert parse_range("bytes=0-9", 100) == [(0, 10)]
    assert parse_range("bytes=90-", 100) == [(90, 100)]
    assert parse_range("bytes=-10", 100) == [(90, 100)]
    assert parse_range("bytes=0-999", 100) == [(0, 100)]
    assert parse_range("bytes=0-9,5-19,50-59", 100) == [(0, 20), (50, 60)]
    assert parse_range("bytes=100-", 100) == "unsatisfiable"
    assert parse_range("bytes=-0", 100) == "unsatisfiable"
    assert parse_range("bytes=-5", 0) == "unsatisfiable"
    for bad in [None, "", "bytes", "bytes=", "bytes=5-4", "bytes=a-b", "bytes=+1-2", "items=0-1", "bytes=1 -2", "bytes=١-٢"]:
        assert parse_range(bad, 100) is None, bad
    many = "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(101))
    assert parse_range(many, 1000) is None
    assert parse_range("bytes=" + ",".join(["0-9"] * 10_000), 1000) == [(0, 10)]


def test_conditions_follow_rfc_9110_order():
    lm = 1_700_000_000
    date = "Tue, 14 Nov 2023 22:13:20 GMT"
    ev = lambda **h: evaluate_conditions(lambda n: h.get(n.replace("-", "_")), '"abc"', lm)
    assert ev() is True
    assert ev(if_match='"abc"') is True and ev(if_match='W/"abc"') == 412 and ev(if_match="*") is True
    assert ev(if_none_match='W/"abc"') == 304 and ev(if_none_match='"x"') is True
    assert ev(if_match='"x"', if_none_match='"abc"') == 412
    assert ev(if_modified_since=date) == 304 and ev(if_modified_since="garbage") is True
    assert ev(if_unmodified_since="Tue, 14 Nov 2023 22:13:19 GMT") == 412
    assert ev(if_range='"abc"') is True and ev(if_range=date) is True
    assert ev(if_range='W/"abc"') is False and ev(if_range='"x"') is False and ev(if_range="Tue, 14 Nov 2023 22:13:21 GMT") is False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["wsgi", "asgi"])
def serve(request):
    """Starts an application on a free loopback port with a real server; yields a function that
    serves an app and returns its URL."""
    stops = []

    def start(app_args):
        tape, kwargs = app_args
        if request.param == "wsgi":
            app = WSGIApp(tape, **kwargs)
            server = make_server("127.0.0.1", 0, app, threaded=True)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            stops.append(server.shutdown)
            url = f"http://127.0.0.1:{server.server_port}/"
        else:
            app = ASGIApp(tape, **kwargs)
            port = free_port()
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on"))
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            deadline = time.time() + 30
            while not server.started:
                assert time.time() < deadline, "uvicorn did not start"
                time.sleep(0.02)

            def stop():
                server.should_exit = True
                thread.join(10)

            stops.append(stop)
            url = f"http://127.0.0.1:{port}/"
        # Ready when a real request is answered.
        requests.head(url, timeout=30)
        return url

    yield start
    for stop in stops:
        stop()


def test_whole_ranges_multipart_and_conditions(serve, tape):
    want = full(tape)
    url = serve((tape, dict(name="données.tar", mtime=1_700_000_000)))
    s = requests.Session()
    r = s.get(url)
    assert r.status_code == 200 and r.content == want
    etag = r.headers["ETag"]
    assert etag == f'"{tape.fingerprint}"'
    assert r.headers["Content-Type"] == "application/x-tar"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Disposition"] == "attachment; filename=\"donn_es.tar\"; filename*=UTF-8''donn%C3%A9es.tar"
    assert r.headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    for a, b in [(0, 0), (500, 1500), (1023, 1024), (len(want) - 10, len(want) - 1)]:
        r = s.get(url, headers={"Range": f"bytes={a}-{b}"})
        assert r.status_code == 206 and r.content == want[a : b + 1], (a, b)
        assert r.headers["Content-Range"] == f"bytes {a}-{b}/{len(want)}"
    r = s.get(url, headers={"Range": "bytes=0-9,5000-5009,3-12"})
    assert r.status_code == 206 and r.headers["Content-Type"].startswith("multipart/byteranges; boundary=")
    assert want[0:13] in r.content and want[5000:5010] in r.content
    assert int(r.headers["Content-Length"]) == len(r.content)
    r = s.get(url, headers={"Range": f"bytes={len(want)}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(want)}"
    assert s.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert s.get(url, headers={"If-Match": '"other"'}).status_code == 412
    assert s.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    r = s.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert r.status_code == 200 and r.content == want
    r = s.head(url)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(want) and r.content == b""
    assert s.post(url).status_code == 405


def test_a_source_changed_cuts_the_download_and_later_requests_get_503(serve, tmp_path: Path):
    root = tmp_path / "grow"
    root.mkdir()
    big = root / "big.bin"
    # Larger than the socket buffers, so the server is still reading when the file grows.
    big.write_bytes(os.urandom(32 << 20))
    with tartape.TapeBuilder() as builder:
        builder.add_path(root)
        tape = builder.build()
    errors = []
    url = serve((tape, dict(name="grow.tar", on_error=errors.append)))
    with requests.get(url, stream=True, timeout=60) as r:
        assert r.status_code == 200
        it = r.iter_content(64 << 10)
        got = next(it)
        with open(big, "ab") as f:
            f.write(b"appended")
        with pytest.raises(requests.exceptions.RequestException):
            for chunk in it:
                got += chunk
    assert len(got) < tape.total_size
    assert errors and isinstance(errors[0], tartape.ChangedSourceError) and "big.bin" in str(errors[0])
    r = requests.get(url, timeout=60)
    assert r.status_code == 503 and "big.bin" in r.text
