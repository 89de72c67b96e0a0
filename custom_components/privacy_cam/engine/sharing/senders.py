"""Deliver a consented package, and ask for its deletion.

Webhook protocol (also in the README):
    POST <url>                  multipart/form-data: `report` (report.json) and `clip` (clip.mp4)
    DELETE <url>/<report id>    withdrawal: the recipient deletes the clip and its report
                                (a query string in <url> is kept after the report ID)
Any 2xx answer is success. Redirects are not followed (the package must reach the
URL the owner consented to and no other), proxies from the environment are not
used, and certificates are always checked. Every request has ONE overall deadline
(connect, send, answer): a recipient that trickles bytes cannot hold a send open.
"""

from __future__ import annotations

import contextlib
import http.client
import secrets
import shutil
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .destinations import DestinationKind
from .reports import CLIP_NAME, REPORT_NAME

DEADLINE = 60.0  # seconds for one whole request, whatever the recipient does
CHUNK = 64 * 1024
USER_AGENT = "PrivacyCam"


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status: int | None  # HTTP status, if there was an answer
    detail: str  # for the audit trail and the owner; never the URL

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "status": self.status, "detail": self.detail}


class _Deadline(Exception):
    pass


def _request(
    method: str, url: str, body: bytes = b"", content_type: str | None = None, deadline: float = 0
) -> Outcome:
    """One HTTP request that ends by `deadline` seconds from now, whatever happens."""
    deadline = deadline or DEADLINE
    parts = urlsplit(url)
    host = parts.hostname or ""
    timeout = max(0.1, deadline)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    end = time.monotonic() + deadline
    expired = threading.Event()

    def _cut() -> None:
        # Unblocks whatever the request is waiting on (connect, send or a slow answer).
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(deadline, _cut)
    timer.daemon = True
    timer.start()
    try:
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("User-Agent", USER_AGENT)
        if content_type:
            conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        view = memoryview(body)
        for start in range(0, len(body), CHUNK):
            if time.monotonic() >= end or expired.is_set():
                raise _Deadline
            conn.send(view[start : start + CHUNK])
        response = conn.getresponse()
        status = int(response.status)
        # Read a little of the answer at most: its body is not needed.
        response.read(CHUNK)
        if expired.is_set():
            raise _Deadline
    except _Deadline:
        return Outcome(False, None, "deadline exceeded")
    except (OSError, http.client.HTTPException) as err:
        if expired.is_set():
            return Outcome(False, None, "deadline exceeded")
        return Outcome(False, None, type(err).__name__)
    finally:
        timer.cancel()
        conn.close()
    return Outcome(200 <= status < 300, status, f"HTTP {status}")


def multipart(report_json: bytes, clip: bytes) -> tuple[bytes, str]:
    boundary = "privacycam" + secrets.token_hex(12)
    parts = []
    for name, filename, kind, data in (
        ("report", REPORT_NAME, "application/json", report_json),
        ("clip", CLIP_NAME, "video/mp4", clip),
    ):
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {kind}\r\n\r\n"
        ).encode()
        parts.append(head + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def send(
    kind: DestinationKind,
    target: str,
    report_id: str,
    report_json: bytes,
    clip: bytes,
    deadline: float = 0,
) -> Outcome:
    """Deliver exactly these bytes (the caller hashed these very bytes)."""
    if kind is DestinationKind.FOLDER:
        return _copy(Path(target) / report_id, report_json, clip)
    body, content_type = multipart(report_json, clip)
    # The URL was validated as https:// (or http:// to this machine) when saved.
    return _request("POST", target, body, content_type, deadline)


def deletion_url(url: str, report_id: str) -> str:
    """<url>/<report id>, with the URL's query string (if any) kept after it."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + "/" + report_id
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def withdraw(kind: DestinationKind, target: str, report_id: str, deadline: float = 0) -> Outcome:
    if kind is DestinationKind.FOLDER:
        folder = Path(target) / report_id
        if not folder.exists():
            return Outcome(True, None, "already gone")
        try:
            shutil.rmtree(folder)
        except OSError as err:
            return Outcome(False, None, err.strerror or type(err).__name__)
        return Outcome(True, None, "deleted")
    return _request("DELETE", deletion_url(target, report_id), deadline=deadline)


def _copy(folder: Path, report_json: bytes, clip: bytes) -> Outcome:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in ((REPORT_NAME, report_json), (CLIP_NAME, clip)):
            tmp = folder / f".{name}.part"
            tmp.write_bytes(data)
            tmp.replace(folder / name)
    except OSError as err:
        return Outcome(False, None, err.strerror or type(err).__name__)
    return Outcome(True, None, "written")
