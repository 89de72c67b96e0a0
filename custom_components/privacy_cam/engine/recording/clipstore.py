"""Clips on disk: layout, an index that survives restarts, and retention.

Layout under the media folder:
    privacy_cam/<camera>/<YYYY-MM-DD>/<HH-MM-SS>_<clip id>.mp4  (+ .jpg thumbnail)
The index (`privacy_cam/index.json`) is rewritten atomically (through a
temporary file unique to the writer, one write at a time per folder); on
start-up it is reconciled with the folder: clips deleted by hand drop out,
stray clips are adopted, a clip cut short by a crash or power cut is salvaged
up to its last complete fragment (reason "interrupted"), other unfinished
temporary files are removed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import av

from ..sources.jpeg import encode_jpeg
from .clipwriter import being_written, finalize

_LOGGER = logging.getLogger(__name__)

INDEX_NAME = "index.json"
INDEX_VERSION = 1
CLIP_ID_RE = re.compile(r"^[0-9a-f]{12}$")
CLIP_FILE_RE = re.compile(r"^(\d\d-\d\d-\d\d)_([0-9a-f]{12})\.mp4$")
CAMERA_RE = re.compile(r"^[a-z0-9_]{1,64}$")
# A clip being written: `.<HH-MM-SS>_<clip id>.part.mp4` (fragmented MP4).
PARTIAL_FILE_RE = re.compile(r"^\.(\d\d-\d\d-\d\d)_([0-9a-f]{12})\.part\.mp4$")
FRESH_TEMP = 60.0  # a temporary file written this recently may still be in use
STALE_INDEX_TEMP = 3600.0  # a temporary index file this old was left by a crash
# Index writes of every store on the same folder, one at a time.
_INDEX_LOCKS: dict[Path, threading.Lock] = {}
_INDEX_LOCKS_GUARD = threading.Lock()


def _index_lock(root: Path) -> threading.Lock:
    with _INDEX_LOCKS_GUARD:
        return _INDEX_LOCKS.setdefault(root.resolve(), threading.Lock())


@dataclass(slots=True)
class Clip:
    id: str
    camera: str
    start: float  # UNIX time of the first frame
    duration: float
    reason: str  # motion, alarm, manual
    path: str  # relative to the store root
    size: int
    event_id: str | None = None
    part: int = 1
    kept: bool = False
    false_alarm: bool = False
    protected: bool = False  # e.g. a report in progress
    box: list[float] | None = None  # where the event's motion was (normalised)
    motion: list[float] | None = None  # [first, last] motion, seconds into the clip
    # Who recorded it (an opaque ID from the caller); None for clips from before
    # owners were recorded and for clips adopted or salvaged from the folder.
    owner: str | None = None
    # What moved (issue 15): "person", "vehicle", "animal" or "none", and the detector's
    # confidence; None without a detector, before the first crop came back, and for clips
    # from before labels were recorded. `person`: the best score any crop gave a person,
    # even one below the user's confidence threshold (reports check it: see the services).
    label: str | None = None
    confidence: float | None = None
    person: float | None = None

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def thumbnail(self) -> str:
        return self.path[: -len(".mp4")] + ".jpg"

    @property
    def exempt(self) -> bool:
        """Never removed by retention."""
        return self.kept or self.protected


CLIP_FIELDS = frozenset(f.name for f in fields(Clip))
# Kept in the index's own "labels" map, not in the clip entries: a version from before
# labels reads only "clips", and would rebuild an index whose entries it cannot read
# (losing kept, protected and owner).
LABEL_FIELDS = ("label", "confidence", "person")
LABEL_RE = re.compile(r"[a-z_]{1,20}")


@dataclass(slots=True)
class Retention:
    max_age_days: dict[str, float] = field(default_factory=dict)  # per camera
    default_max_age_days: float = 14.0
    max_total_bytes: int = 10 * 1024**3
    min_free_bytes: int = 1024**3


class ClipStore:
    """Thread-safe store of clips under `root` (…/media/privacy_cam)."""

    def __init__(self, root: Path, tz: tzinfo | None = None) -> None:
        self.root = root
        # Folder names and titles use the owner's time zone (Home Assistant's), which
        # is not always the process's (HA OS containers often run in UTC).
        self.tz = tz
        self._clips: dict[str, Clip] = {}
        self._lock = threading.RLock()

    # Paths -----------------------------------------------------------------------

    def new_paths(self, camera: str, start: float, clip_id: str) -> tuple[Path, Path]:
        """Where a new clip and its thumbnail go (folders are created)."""
        if not CAMERA_RE.match(camera) or not CLIP_ID_RE.match(clip_id):
            raise ValueError("bad camera or clip id")
        moment = self.local(start)
        folder = self.root / camera / moment.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{moment.strftime('%H-%M-%S')}_{clip_id}"
        return folder / f"{stem}.mp4", folder / f"{stem}.jpg"

    def file_for(self, clip_id: str, thumbnail: bool = False) -> Path | None:
        """The clip's file, or None: never a path outside the store."""
        if not CLIP_ID_RE.match(clip_id):
            return None
        with self._lock:
            clip = self._clips.get(clip_id)
        if clip is None:
            return None
        path = (self.root / (clip.thumbnail if thumbnail else clip.path)).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return None
        return path

    def local(self, timestamp: float) -> datetime:
        moment = datetime.fromtimestamp(timestamp, UTC)
        return moment.astimezone(self.tz) if self.tz else moment.astimezone()

    def day(self, clip: Clip) -> str:
        return self.local(clip.start).strftime("%Y-%m-%d")

    def days(self, clips: Iterable[Clip]) -> list[str]:
        """Distinct local days (YYYY-MM-DD), newest first."""
        return sorted({self.day(c) for c in clips}, reverse=True)

    # Index ---------------------------------------------------------------------------

    def load(self) -> None:
        """Read the index and reconcile it with the folder (run in an executor)."""
        self.root.mkdir(parents=True, exist_ok=True)
        clips: dict[str, Clip] = {}
        try:
            raw = json.loads((self.root / INDEX_NAME).read_text())
            labels = raw.get("labels", {})
            for item in raw.get("clips", []):
                # Keys a later version added are left out (missing ones take defaults).
                clip = Clip(**{key: value for key, value in item.items() if key in CLIP_FIELDS})
                _apply_label(clip, labels.get(clip.id) if isinstance(labels, dict) else None)
                if self._well_formed(clip):
                    clips[clip.id] = clip
                else:  # hand-edited: never let an index entry point outside the store
                    _LOGGER.warning("Ignoring a clip index entry that names no clip file")
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            _LOGGER.warning("Clip index unreadable (%s); rebuilding it from the folder", err)
        with self._lock:
            self._clips = clips
        self.reconcile()

    def reconcile(self) -> tuple[int, int, int]:
        """Drop vanished clips, adopt strays, salvage interrupted clips, remove unfinished files."""
        removed = adopted = cleaned = 0
        self._clean_index_temps()
        with self._lock:
            for clip in list(self._clips.values()):
                if not (self.root / clip.path).is_file():
                    del self._clips[clip.id]
                    removed += 1
            known = {clip.path for clip in self._clips.values()}
            for path in sorted(self.root.glob("*/*/*")):
                name = path.name
                if partial := PARTIAL_FILE_RE.match(name):
                    if being_written(path):
                        continue  # a clip being recorded right now (locked by its writer)
                    salvaged = self._salvage(path, partial.group(2))
                    if salvaged is not None:
                        self._clips[salvaged.id] = salvaged
                        adopted += 1
                    else:
                        cleaned += 1
                    continue
                if name.startswith(".") and ".part." in name:
                    if time.time() - path.stat().st_mtime < FRESH_TEMP:
                        continue  # maybe being finished right now
                    path.unlink(missing_ok=True)  # a write cut short by a crash
                    cleaned += 1
                    continue
                match = CLIP_FILE_RE.match(name)
                relative = path.relative_to(self.root).as_posix()
                if match is None or relative in known:
                    continue
                stray = self._adopt(path, relative, match.group(2))
                if stray is not None:
                    self._clips[stray.id] = stray
                    adopted += 1
            if removed or adopted or cleaned:
                _LOGGER.info(
                    "Clip folder reconciled: %s gone, %s adopted or salvaged, %s removed",
                    removed,
                    adopted,
                    cleaned,
                )
            self._save()
        return removed, adopted, cleaned

    def _adopt(self, path: Path, relative: str, clip_id: str) -> Clip | None:
        camera = path.parent.parent.name
        try:
            with av.open(str(path)) as container:
                duration = float(container.duration or 0) / 1_000_000
        except (av.FFmpegError, OSError):
            _LOGGER.warning("Removing unplayable clip %s", relative)
            path.unlink(missing_ok=True)
            path.with_suffix(".jpg").unlink(missing_ok=True)
            return None
        start = self._start_from_name(path, path.name[:8], duration)
        return Clip(clip_id, camera, start, duration, "adopted", relative, path.stat().st_size)

    def _salvage(self, partial: Path, clip_id: str) -> Clip | None:
        """A clip cut short by a crash: keep it up to its last complete fragment."""
        stem = partial.name[1 : -len(".part.mp4")]
        final = partial.with_name(f"{stem}.mp4")
        relative = final.relative_to(self.root).as_posix()
        try:
            duration = finalize(partial, final)
        except (av.FFmpegError, OSError, ValueError) as err:
            _LOGGER.warning("Removing an unfinished clip that cannot be salvaged (%s)", err)
            partial.unlink(missing_ok=True)
            return None
        _LOGGER.info("Salvaged %.1f s of a clip interrupted by a crash: %s", duration, relative)
        _write_thumbnail(final)
        start = self._start_from_name(final, stem[:8], duration)
        camera = partial.parent.parent.name
        size = final.stat().st_size
        return Clip(clip_id, camera, start, round(duration, 3), "interrupted", relative, size)

    def _start_from_name(self, path: Path, hms: str, duration: float) -> float:
        try:
            day = path.parent.name
            moment = datetime.strptime(f"{day} {hms}", "%Y-%m-%d %H-%M-%S")
            return (moment.replace(tzinfo=self.tz) if self.tz else moment.astimezone()).timestamp()
        except ValueError:
            return path.stat().st_mtime - duration

    def _clean_index_temps(self) -> None:
        """Temporary index files left by a crash (never one being written now)."""
        cutoff = time.time() - STALE_INDEX_TEMP
        for path in self.root.glob(f".{INDEX_NAME}.*.part"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue

    def _save(self) -> None:
        data = {
            "version": INDEX_VERSION,
            "clips": [
                {key: value for key, value in asdict(clip).items() if key not in LABEL_FIELDS}
                for clip in sorted(self._clips.values(), key=lambda c: c.start)
            ],
            "labels": {
                clip.id: {key: getattr(clip, key) for key in LABEL_FIELDS}
                for clip in self._clips.values()
                if clip.label is not None or clip.person is not None
            },
        }
        text = json.dumps(data, separators=(",", ":"))
        # Unique per writer: two stores (or processes) never share a temporary file.
        unique = f"{os.getpid()}.{threading.get_ident()}.{uuid.uuid4().hex[:8]}"
        tmp = self.root / f".{INDEX_NAME}.{unique}.part"
        with _index_lock(self.root):
            try:
                tmp.write_text(text)
                tmp.replace(self.root / INDEX_NAME)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise

    # Clips ---------------------------------------------------------------------------

    def add(self, clip: Clip) -> None:
        with self._lock:
            self._clips[clip.id] = clip
            self._save()

    def get(self, clip_id: str) -> Clip | None:
        with self._lock:
            clip = self._clips.get(clip_id)
            return None if clip is None else replace(clip)

    def clips(
        self,
        camera: str | None = None,
        since: float | None = None,
        until: float | None = None,
        *,
        owner: str | None = None,
    ) -> list[Clip]:
        """Newest first; `owner` keeps only the clips of that owner."""
        with self._lock:
            items = [replace(c) for c in self._clips.values()]
        return sorted(
            (
                c
                for c in items
                if (camera is None or c.camera == camera)
                and (owner is None or c.owner == owner)
                and (since is None or c.end >= since)
                and (until is None or c.start <= until)
            ),
            key=lambda c: c.start,
            reverse=True,
        )

    def update(self, clip_id: str, **changes: bool | str | float | None) -> Clip | None:
        with self._lock:
            clip = self._clips.get(clip_id)
            if clip is None:
                return None
            for key, value in changes.items():
                setattr(clip, key, value)
            self._save()
            return replace(clip)

    def delete(self, clip_id: str) -> bool:
        with self._lock:
            clip = self._clips.pop(clip_id, None)
            if clip is None:
                return False
            if self._well_formed(clip):
                (self.root / clip.path).unlink(missing_ok=True)
                (self.root / clip.thumbnail).unlink(missing_ok=True)
            self._save()
        return True

    def _well_formed(self, clip: Clip) -> bool:
        """`<camera>/<day>/<HH-MM-SS>_<id>.mp4` inside the store, named for its own ID."""
        parts = Path(clip.path).parts
        match = CLIP_FILE_RE.fullmatch(parts[-1]) if len(parts) == 3 else None
        if match is None or match.group(2) != clip.id or not CLIP_ID_RE.fullmatch(clip.id):
            return False
        root = self.root.resolve()
        return (self.root / clip.path).resolve().is_relative_to(root)

    def used_bytes(self, camera: str | None = None, *, owner: str | None = None) -> int:
        with self._lock:
            return sum(
                c.size
                for c in self._clips.values()
                if camera in (None, c.camera) and owner in (None, c.owner)
            )

    def claim(self, camera: str, owner: str) -> int:
        """Give the clips in `camera`'s folder that have no owner to `owner`.

        Clips owned by someone else are never taken. Returns how many were claimed.
        """
        with self._lock:
            claimed = [c for c in self._clips.values() if c.camera == camera and c.owner is None]
            for clip in claimed:
                clip.owner = owner
            if claimed:
                self._save()
            return len(claimed)

    def folder_owners(self, camera: str) -> set[str | None]:
        """The owners of the clips in `camera`'s folder (None: clips without an owner)."""
        with self._lock:
            return {c.owner for c in self._clips.values() if c.camera == camera}

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    # Retention -------------------------------------------------------------------------

    def enforce(self, retention: Retention, now: float | None = None) -> list[str]:
        """Delete the oldest unprotected clips until age, size and free-disk limits hold."""
        now = time.time() if now is None else now
        deleted: list[str] = []
        candidates = sorted((c for c in self.clips() if not c.exempt), key=lambda clip: clip.start)
        for clip in candidates:
            days = retention.max_age_days.get(clip.camera, retention.default_max_age_days)
            if now - clip.end > days * 86400:
                self.delete(clip.id)
                deleted.append(clip.id)
        for clip in candidates:
            if clip.id in deleted:
                continue
            if (
                self.used_bytes() <= retention.max_total_bytes
                and self.free_bytes() >= retention.min_free_bytes
            ):
                break
            self.delete(clip.id)
            deleted.append(clip.id)
        return deleted

    def disk_ok(self, retention: Retention) -> bool:
        """Is there room to record (after retention did what it could)?"""
        return self.free_bytes() >= retention.min_free_bytes // 2


def _write_thumbnail(video: Path) -> None:
    """The first frame as the thumbnail (what a salvaged clip has to show)."""
    try:
        with av.open(str(video)) as container:
            frame = next(container.decode(video=0))
        data = encode_jpeg(frame, 640)
        tmp = video.with_name(f".{video.stem}.part.jpg")
        tmp.write_bytes(data)
        tmp.replace(video.with_suffix(".jpg"))
    except (av.FFmpegError, OSError, StopIteration) as err:
        _LOGGER.debug("No thumbnail for %s: %s", video.name, err)


def camera_slug(name: str) -> str:
    """A folder-safe camera name."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug[:64] or "camera"


def _apply_label(clip: Clip, entry: object) -> None:
    """A clip's entry of the index's "labels" map, if it is one this version wrote; a
    hand-edited one is dropped, never shown (media titles, consent text) or trusted."""
    clip.label = clip.confidence = clip.person = None
    if not isinstance(entry, dict):
        return
    label, confidence, person = (entry.get(key) for key in LABEL_FIELDS)
    if label is not None and not (isinstance(label, str) and LABEL_RE.fullmatch(label)):
        return
    if not all(_score(value) for value in (confidence, person)):
        return
    clip.label = label
    clip.confidence = None if confidence is None else float(confidence)
    clip.person = None if person is None else float(person)


def _score(value: object) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0
    )
