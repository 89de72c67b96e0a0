"""Share destinations, what the owner is told, and the text they consent to.

A destination declares who receives a clip, why, whether people watch it, how
long it is kept and how to withdraw; without all five it cannot be used. The
consent text names the exact package (its SHA-256) and this disclosure, and
its own hash is what the owner's consent refers to.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CONSENT_TEXT_VERSION = 3  # 2: names where the clip goes; 3: says what moved in it
# What the consent text says of the detector's label (issue 15). A report prepared
# before labels existed has none and keeps its version-2 text (it stays consentable).
LABEL_PHRASES = {
    "person": "a PERSON (the clip may show someone)",
    "vehicle": "a vehicle",
    "animal": "an animal",
    "none": "no person, vehicle or animal",
    "unclassified": "not known (the detector did not get to look at this clip)",
}
LOCAL_HOSTS = frozenset({"localhost"})


class DestinationKind(StrEnum):
    FOLDER = "folder"
    WEBHOOK = "webhook"


DISCLOSURE_FIELDS = ("recipient", "purpose", "humans_watch", "retention", "withdrawal")


class DestinationError(ValueError):
    """A destination that cannot be used; `key` names the problem (translation key)."""

    def __init__(self, key: str, field: str | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.field = field


@dataclass(frozen=True, slots=True)
class Destination:
    id: str  # stable (the config entry's ID)
    kind: DestinationKind
    target: str  # folder path or webhook URL
    recipient: str
    purpose: str
    humans_watch: bool | None  # None: not declared
    retention: str
    withdrawal: str

    def validate(self) -> None:
        for name in ("recipient", "purpose", "retention", "withdrawal"):
            if not str(getattr(self, name)).strip():
                raise DestinationError("disclosure_missing", name)
        if self.humans_watch is None:
            raise DestinationError("disclosure_missing", "humans_watch")
        if self.kind is DestinationKind.WEBHOOK:
            validate_webhook_url(self.target)
        elif not Path(self.target).is_absolute():
            raise DestinationError("folder_not_absolute", "path")

    @property
    def target_label(self) -> str:
        return target_label(self.kind, self.target)

    def disclosure(self) -> dict[str, Any]:
        """What the owner reads before consenting, and what the recipient receives."""
        return {
            "recipient": self.recipient.strip(),
            "purpose": self.purpose.strip(),
            "humans_watch": self.humans_watch,
            "retention": self.retention.strip(),
            "withdrawal": self.withdrawal.strip(),
            "delivery": self.kind.value,
        }


def validate_webhook_url(url: str) -> str:
    """HTTPS only; plain HTTP only to this machine. No credentials in the URL."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        raise DestinationError("invalid_webhook_url", "url") from None
    if not host or parts.username or parts.password or parts.fragment:
        raise DestinationError("invalid_webhook_url", "url")
    if parts.scheme == "https":
        return url.strip()
    if parts.scheme == "http" and _is_local(host):
        return url.strip()
    raise DestinationError("webhook_not_https", "url")


def target_label(kind: DestinationKind, target: str) -> str:
    """Where a clip goes, as the owner reads it: a folder, or a webhook's origin and
    path. A query string (often a token) is not shown; a fingerprint of the whole
    address stands for it, so changing it still changes the consent text."""
    if kind is DestinationKind.FOLDER:
        return f"the folder {target} on this computer"
    parts = urlsplit(target)
    port = f":{parts.port}" if parts.port else ""
    label = f"{parts.scheme}://{parts.hostname}{port}{parts.path or '/'}"
    if parts.query:
        label += f" (plus a hidden query, fingerprint {target_fingerprint(target)})"
    return f"the web address {label}"


def target_fingerprint(target: str) -> str:
    return hashlib.sha256(target.encode()).hexdigest()[:12]


def folder_problem(path: Path, forbidden: list[Path], allowed: list[Path]) -> str | None:
    """Why a folder cannot receive clips, or None. Symlinks are followed: what counts
    is where the files would really land. `forbidden` are folders served by the web
    server or browsable as media (files there are readable by others); `allowed` are
    the folders Home Assistant may write to (allowlist_external_dirs)."""
    real = path.resolve()
    for folder in forbidden:
        if real.is_relative_to(folder.resolve()):
            return "folder_is_published"
    if not any(real.is_relative_to(folder.resolve()) for folder in allowed):
        return "folder_not_allowed"
    return None


def _is_local(host: str) -> bool:
    if host.lower() in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def pseudonym(secret: bytes, destination_id: str, camera: str) -> str:
    """Stable per (destination, camera), meaningless to the recipient, unlinkable
    across recipients."""
    digest = hmac.new(secret, f"{destination_id}\0{camera}".encode(), hashlib.sha256)
    return "camera-" + digest.hexdigest()[:10]


def coarse_time(timestamp: float) -> str:
    """Rounded down to the hour, UTC: enough to tell day from night, not more."""
    moment = datetime.fromtimestamp(timestamp, UTC).replace(minute=0, second=0, microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Consent:
    text: str
    sha256: str


def consent_text(
    report_id: str,
    payload_sha256: str,
    camera_pseudonym: str,
    hour: str,
    duration: float,
    redaction: str,
    destination: Destination,
    label: str | None = None,
) -> Consent:
    """The exact words the owner agrees to; their hash is part of the consent.

    `label`: what the detector on this box saw in the clip (a `LABEL_PHRASES` key);
    None only for reports prepared before version 3.
    """
    info = destination.disclosure()
    humans = (
        "People at the recipient WILL watch this clip."
        if info["humans_watch"]
        else "The recipient declares that no person will watch this clip."
    )
    what = (
        ()
        if label is None
        else (
            "What moved in it, as the detector on this box judged:"
            f" {LABEL_PHRASES.get(label, label)}.",
        )
    )
    text = "\n".join(
        (
            f"Consent text version {2 if label is None else CONSENT_TEXT_VERSION}.",
            f"I agree to share ONE video clip (report {report_id}) with {info['recipient']}.",
            f"The clip is {duration:.1f} s long, recorded {_hour_phrase(hour)} by a camera"
            f" called {camera_pseudonym} for them. Its SHA-256 is {payload_sha256}."
            " Nothing else is sent.",
            *what,
            f"It goes to {destination.target_label}.",
            f"Hidden before sharing: {redaction}.",
            f"Purpose: {_sentence(info['purpose'])}",
            humans,
            f"The recipient keeps it: {_sentence(info['retention'])}",
            f"How to withdraw: {_sentence(info['withdrawal'])} Or choose Withdraw for"
            f" report {report_id} in this share destination's settings (Configure): the"
            " local copy is deleted and the recipient is asked to delete theirs.",
        )
    )
    return Consent(text, hashlib.sha256(text.encode()).hexdigest())


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _hour_phrase(hour: str) -> str:
    """'2026-11-25T16:00:00Z' -> 'between 16:00 and 17:00 UTC on 2026-11-25'."""
    try:
        start = datetime.fromisoformat(hour.replace("Z", "+00:00"))
    except ValueError:
        return f"around {hour}"
    return f"between {start:%H}:00 and {(start.hour + 1) % 24:02d}:00 UTC on {start:%Y-%m-%d}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
