"""Deliver a consented package, and ask for its deletion.

Webhook protocol (also in the README):
    POST <url>                  multipart/form-data: `report` (report.json) and `clip` (clip.mp4)
    DELETE <url>/<report id>    withdrawal: the recipient deletes the clip and its report
Any 2xx answer is success. Redirects are not followed (the package must reach the
URL the owner consented to and no other), proxies from the environment are not
used, and certificates are always checked.
"""

from __future__ import annotations

import secrets
import shutil
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .destinations import Destination, DestinationKind
from .reports import CLIP_NAME, REPORT_NAME

TIMEOUT = 30.0
USER_AGENT = "PrivacyCam"


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status: int | None  # HTTP status, if there was an answer
    detail: str  # for the audit trail and the owner; never the URL

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "status": self.status, "detail": self.detail}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=ssl.create_default_context()),
        _NoRedirect(),
    )


def _request(request: urllib.request.Request) -> Outcome:
    request.add_header("User-Agent", USER_AGENT)
    try:
        with _opener().open(request, timeout=TIMEOUT) as response:
            status = int(response.status)
    except urllib.error.HTTPError as err:
        return Outcome(False, err.code, f"HTTP {err.code}")
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        return Outcome(False, None, type(reason).__name__)
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


def send(destination: Destination, report_id: str, report_json: bytes, clip: bytes) -> Outcome:
    """Deliver exactly these bytes (the caller checked their hash)."""
    if destination.kind is DestinationKind.FOLDER:
        return _copy(Path(destination.target) / report_id, report_json, clip)
    body, content_type = multipart(report_json, clip)
    # The URL was validated as https:// (or http:// to this machine) when saved.
    request = urllib.request.Request(  # noqa: S310
        destination.target, data=body, method="POST", headers={"Content-Type": content_type}
    )
    return _request(request)


def withdraw(destination: Destination, report_id: str) -> Outcome:
    if destination.kind is DestinationKind.FOLDER:
        folder = Path(destination.target) / report_id
        if not folder.exists():
            return Outcome(True, None, "already gone")
        try:
            shutil.rmtree(folder)
        except OSError as err:
            return Outcome(False, None, err.strerror or type(err).__name__)
        return Outcome(True, None, "deleted")
    url = destination.target.rstrip("/") + "/" + report_id
    return _request(urllib.request.Request(url, method="DELETE"))  # noqa: S310


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
