"""Append-only, hash-chained audit log of everything that concerns sharing.

One JSON object per line. Each entry names the hash of the entry before it and
its own hash over (seq, time, action, details, prev); a sidecar file holds the
head (last seq and hash) so removing the last lines is caught as well as
editing or removing any other line. Appending to a broken chain is still
possible (the trail must go on) but never makes it valid again.

Lines are written as ASCII JSON (U+2028, U+2029 and U+0085 in a recipient's name
become escapes) and read by splitting on "\n" only. A crash can leave a torn last
line: `repair()` removes it and records that it did. Whoever calls this keeps an
anchor elsewhere (the last seq and hash, in HA's storage) so that deleting both
files is noticed too (`check_anchor`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class ChainStatus:
    valid: bool
    entries: int
    problem: str | None = None  # what is wrong, for people
    line: int | None = None  # first bad line (1-based)

    def as_dict(self) -> dict[str, Any]:
        return {
            "chain_valid": self.valid,
            "entry_count": self.entries,
            "problem": self.problem,
            "line": self.line,
        }


def _entry_hash(entry: dict[str, Any]) -> str:
    body = {key: entry.get(key) for key in ("seq", "time", "action", "details", "prev")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class AuditLog:
    """Thread-safe; every method does file I/O (run it in an executor)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        self._lock = threading.Lock()

    def append(self, action: str, **details: Any) -> dict[str, Any]:
        with self._lock:
            seq, prev = self._last()
            entry: dict[str, Any] = {
                "seq": seq + 1,
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "action": action,
                "details": details,
                "prev": prev,
            }
            entry["hash"] = _entry_hash(entry)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(entry, sort_keys=True, ensure_ascii=True) + "\n"
            with self.path.open("a", encoding="utf-8") as file:
                file.write(line)
                file.flush()
                os.fsync(file.fileno())
            self._write_head(entry["seq"], entry["hash"])
            return entry

    def _write_head(self, seq: int, digest: str) -> None:
        head = self.head_path.with_name(self.head_path.name + ".part")
        with head.open("w", encoding="utf-8") as file:
            file.write(json.dumps({"seq": seq, "hash": digest}))
            file.flush()
            os.fsync(file.fileno())
        head.replace(self.head_path)
        _fsync_dir(self.path.parent)

    def repair(self) -> dict[str, Any] | None:
        """After a crash: drop a torn last line (written without its newline) and, when
        the head is exactly one entry behind a last entry that chains, move the head on.
        Both are recorded in the log itself. None if there was nothing to repair."""
        with self._lock:
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                return None
            torn = b""
            if data and not data.endswith(b"\n"):
                cut = data.rfind(b"\n") + 1
                torn, data = data[cut:], data[:cut]
                with self.path.open("r+b") as file:
                    file.truncate(len(data))
                    file.flush()
                    os.fsync(file.fileno())
            head_moved = False
            lines = data.split(b"\n")[:-1]
            if lines:
                try:
                    head = json.loads(self.head_path.read_text())
                    last = json.loads(lines[-1])
                    before = json.loads(lines[-2]) if len(lines) > 1 else None
                except (OSError, ValueError, IndexError):
                    head = last = before = None
                if (
                    isinstance(head, dict)
                    and isinstance(last, dict)
                    and head.get("seq") == int(last.get("seq", 0)) - 1
                    and head.get("hash") == (before or {}).get("hash", GENESIS)
                    and last.get("prev") == head.get("hash")
                    and last.get("hash") == _entry_hash(last)
                ):
                    # The line reached the disk, the head did not (crash in between).
                    self._write_head(int(last["seq"]), str(last["hash"]))
                    head_moved = True
        if not torn and not head_moved:
            return None
        return self.append(
            "log_repaired", torn_bytes=len(torn), head_moved=head_moved, reason="crash"
        )

    def check_anchor(self, seq: int, digest: str, status: ChainStatus) -> ChainStatus:
        """Compare with the last (seq, hash) remembered outside these two files."""
        if not status.valid or seq <= 0:
            return status
        entries, _ = self.read()
        if len(entries) < seq:
            return ChainStatus(False, len(entries), "the log was deleted or cut short", seq)
        if entries[seq - 1].get("hash") != digest:
            return ChainStatus(False, len(entries), "the log was replaced", seq)
        return status

    def _last(self) -> tuple[int, str]:
        """Chain onto the last line as it stands (even if it was tampered with)."""
        try:
            with self.path.open("rb") as file:
                file.seek(0, os.SEEK_END)
                size = file.tell()
                file.seek(max(0, size - 65536))
                lines = file.read().splitlines()
        except FileNotFoundError:
            return 0, GENESIS
        for raw in reversed(lines):
            try:
                entry = json.loads(raw)
                return int(entry["seq"]), str(entry["hash"])
            except (ValueError, KeyError, TypeError):
                continue
        return 0, GENESIS

    def read(self) -> tuple[list[dict[str, Any]], ChainStatus]:
        """All readable entries and whether the chain holds."""
        with self._lock:
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = ""
            try:
                head: dict[str, Any] | None = json.loads(self.head_path.read_text())
            except FileNotFoundError:
                head = None
            except ValueError:
                head = {}
        entries: list[dict[str, Any]] = []
        problem: tuple[str, int] | None = None
        prev, seq = GENESIS, 0
        # Only "\n" ends an entry (str.splitlines would also split on U+2028 and kin).
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for number, raw in enumerate(lines, start=1):
            try:
                entry = json.loads(raw)
                if not isinstance(entry, dict):
                    raise ValueError
            except ValueError:
                problem = problem or ("line is not a log entry", number)
                continue
            entries.append(entry)
            if problem is not None:
                continue
            if entry.get("seq") != seq + 1:
                problem = ("an entry is missing or out of order", number)
            elif entry.get("prev") != prev:
                problem = ("the link to the previous entry is broken", number)
            elif entry.get("hash") != _entry_hash(entry):
                problem = ("the entry was changed", number)
            seq, prev = seq + 1, str(entry.get("hash"))
        if problem is None:
            expected = None if head is None else (head.get("seq"), head.get("hash"))
            if (entries or head is not None) and expected != (seq, prev):
                problem = ("the last entries were removed", seq + 1)
        if problem is not None:
            return entries, ChainStatus(False, len(entries), problem[0], problem[1])
        return entries, ChainStatus(True, len(entries))

    def verify(self) -> ChainStatus:
        return self.read()[1]

    def last(self) -> tuple[int, str]:
        with self._lock:
            return self._last()


def _fsync_dir(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory descriptors
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
