"""False-alarm reports prepared for sharing: the package on disk and its state.

    <root>/<report id>/clip.mp4     the exact bytes the owner previews and may send
    <root>/<report id>/report.json  the exact description sent with it
    <root>/<report id>/state.json   local bookkeeping (never sent)

Withdrawal and expiry delete the package; the small state file stays so the
report's outcome can still be shown.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

REPORT_ID_RE = re.compile(r"[0-9a-f]{16}")  # always with fullmatch
CLIP_NAME = "clip.mp4"
REPORT_NAME = "report.json"
STATE_NAME = "state.json"
SECRET_NAME = "secret"  # noqa: S105 (a file name)


class ReportStatus(StrEnum):
    PREPARED = "prepared"
    SHARED = "shared"
    FAILED = "failed"  # sending failed; consent can be given again until expiry
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    DISCARDED = "discarded"  # the owner said no: never sent, package deleted
    VOIDED = "voided"  # the destination changed before consent: package deleted


PENDING = (ReportStatus.PREPARED, ReportStatus.FAILED)


@dataclass(slots=True)
class Report:
    id: str
    clip_id: str
    camera: str  # local slug, never sent
    destination_id: str
    created: float
    expires: float
    payload_sha256: str
    consent_text: str
    consent_sha256: str
    status: ReportStatus = ReportStatus.PREPARED
    details: dict[str, Any] = field(default_factory=dict)  # pseudonym, hour, size, redaction
    events: list[dict[str, Any]] = field(default_factory=list)  # outcomes, for display
    # Where the consent text says it goes, as it was when the report was prepared.
    target_kind: str = ""
    target: str = ""
    # Every place a send was attempted (even one that failed: a timeout or a 5xx may
    # come after the recipient got the bytes). Withdrawal asks each of them.
    sent_to: list[dict[str, str]] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        """Waits for the owner's decision."""
        return self.status in PENDING

    @property
    def open(self) -> bool:
        """Holds a local package (so the clip stays exempt from retention)."""
        return self.status in (ReportStatus.PREPARED, ReportStatus.FAILED, ReportStatus.SHARED)


def new_report_id() -> str:
    return secrets.token_hex(8)


class ReportStore:
    """Thread-safe; every method does file I/O (run it in an executor)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._reports: dict[str, Report] = {}

    def load(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        reports: dict[str, Report] = {}
        for folder in self.root.iterdir():
            if not REPORT_ID_RE.fullmatch(folder.name):
                continue
            try:
                raw = json.loads((folder / STATE_NAME).read_text())
                raw["status"] = ReportStatus(raw["status"])
                report = Report(**raw)
            except (OSError, ValueError, TypeError, KeyError):
                # Never finished (crash while preparing): no consent can refer to it.
                shutil.rmtree(folder, ignore_errors=True)
                continue
            reports[report.id] = report
        with self._lock:
            self._reports = reports

    def secret(self) -> bytes:
        """Per-install key for camera pseudonyms (created once, readable only by HA)."""
        path = self.root / SECRET_NAME
        with self._lock:
            try:
                return bytes.fromhex(path.read_text().strip())
            except (FileNotFoundError, ValueError):
                self.root.mkdir(parents=True, exist_ok=True)
                value = secrets.token_bytes(32)
                tmp = path.with_name(".secret.part")
                tmp.touch(mode=0o600)
                tmp.write_text(value.hex())
                tmp.replace(path)
                return value

    def folder(self, report_id: str) -> Path:
        if not REPORT_ID_RE.fullmatch(report_id):
            raise ValueError("not a report ID")
        return self.root / report_id

    def clip_path(self, report_id: str) -> Path:
        return self.folder(report_id) / CLIP_NAME

    def report_path(self, report_id: str) -> Path:
        return self.folder(report_id) / REPORT_NAME

    def get(self, report_id: str) -> Report | None:
        with self._lock:
            return self._reports.get(report_id)

    def all(self) -> list[Report]:
        with self._lock:
            return sorted(self._reports.values(), key=lambda r: r.created)

    def save(self, report: Report) -> None:
        folder = self.folder(report.id)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".state.part"
        tmp.write_text(json.dumps(asdict(report)))
        tmp.replace(folder / STATE_NAME)
        with self._lock:
            self._reports[report.id] = report

    def delete_package(self, report_id: str) -> bool:
        """Delete the local copies (clip and description); True if there were any."""
        removed = False
        for path in (self.clip_path(report_id), self.report_path(report_id)):
            if path.exists():
                path.unlink()
                removed = True
        return removed

    def has_package(self, report_id: str) -> bool:
        return self.clip_path(report_id).exists()
