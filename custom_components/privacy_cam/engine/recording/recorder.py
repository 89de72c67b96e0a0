"""Motion clips: pre-roll + event + post-roll, cut at keyframes, written off-thread.

The recorder listens to a source's encoded output (H.264 packets, or JPEG
stills for MJPEG/snapshot cameras), keeps a pre-roll buffer and, when asked,
collects a clip. Finished clips are written by a worker thread: H.264 is
remuxed as the camera sent it, stills are encoded with libx264.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..sources.frames import Box, EncodedPacket, JpegFrame, StreamInfo
from ..sources.source import Source
from .clipstore import Clip, ClipStore
from .clipwriter import encode_jpegs, remux_h264
from .preroll import PrerollBuffer

_LOGGER = logging.getLogger(__name__)

DEFAULT_PREROLL = 5.0
DEFAULT_POSTROLL = 5.0
DEFAULT_MAX_LENGTH = 120.0

type Item = EncodedPacket | JpegFrame
type ClipCallback = Callable[[Clip], None]
type ErrorCallback = Callable[[OSError], None]


@dataclass(slots=True)
class _Active:
    clip_id: str
    reason: str
    event_id: str | None
    part: int
    stop_at: float | None  # wall time; None while the event goes on
    items: list[Item] = field(default_factory=list)
    thumbnail: bytes | None = None
    box: Box | None = None
    motion_start: float | None = None  # wall times of the event's motion
    motion_end: float | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    active: _Active
    info: StreamInfo | None
    items: list[Item]


class ClipRecorder:
    """One per camera. Methods are thread-safe; callbacks run on the writer thread."""

    def __init__(
        self,
        source: Source,
        store: ClipStore,
        camera: str,
        on_clip: ClipCallback,
        on_error: ErrorCallback | None = None,
        *,
        preroll: float = DEFAULT_PREROLL,
        postroll: float = DEFAULT_POSTROLL,
        max_length: float = DEFAULT_MAX_LENGTH,
    ) -> None:
        self.source = source
        self.store = store
        self.camera = camera
        self.on_clip = on_clip
        self.on_error = on_error
        self.postroll = postroll
        self.max_length = max_length
        self.buffer: PrerollBuffer[Any] = PrerollBuffer(preroll)
        self._active: _Active | None = None
        self._lock = threading.Lock()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._removers = [
            source.add_packet_callback(self.add),
            source.add_jpeg_callback(self.add),
        ]

    @property
    def preroll(self) -> float:
        return self.buffer.seconds

    @property
    def recording(self) -> bool:
        return self._active is not None

    def start(self) -> None:
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(
                target=self._write_loop, name="privacy_cam_writer", daemon=True
            )
            self._writer.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is being recorded, write it, and end the writer thread."""
        with self._lock:
            self._finish_locked()
        self._jobs.put(None)
        if self._writer is not None:
            self._writer.join(timeout)
            self._writer = None
        self.buffer.clear()

    def close(self) -> None:
        for remove in self._removers:
            remove()

    # Control ------------------------------------------------------------------------

    def begin(
        self,
        reason: str,
        event_id: str | None,
        since: float,
        duration: float | None = None,
        motion_start: float | None = None,
    ) -> str:
        """Start a clip from the keyframe at or before `since` (wall time).

        With `duration` the clip ends by itself (manual clips); otherwise it runs
        until `end()` plus the post-roll. An open clip of the same event is kept.
        """
        with self._lock:
            if self._active is not None:
                if event_id is not None and self._active.event_id == event_id:
                    return self._active.clip_id
                self._finish_locked()
            items = self.buffer.since(since)
            start = items[0].wall if items else time.time()
            active = _Active(
                uuid.uuid4().hex[:12],
                reason,
                event_id,
                1,
                None if duration is None else start + duration,
                items,
                motion_start=motion_start,
            )
            self._active = active
            return active.clip_id

    def end(self, event_id: str | None, last_motion: float) -> None:
        """The event ended at `last_motion` (wall time): stop after the post-roll."""
        with self._lock:
            active = self._active
            if active is not None and active.event_id == event_id:
                active.stop_at = last_motion + self.postroll
                active.motion_end = last_motion
                if active.items and active.items[-1].wall >= active.stop_at:
                    # The event ended later than its post-roll (the cooldown): cut now.
                    self._finish_locked()

    def set_thumbnail(self, event_id: str | None, jpeg: bytes) -> None:
        with self._lock:
            if self._active is not None and self._active.event_id == event_id:
                self._active.thumbnail = jpeg

    def set_box(self, event_id: str | None, box: Box) -> None:
        """Where the event's motion is so far (kept with the clip, for learning)."""
        with self._lock:
            if self._active is not None and self._active.event_id == event_id:
                self._active.box = box

    # Source thread ----------------------------------------------------------------------

    def add(self, item: Item) -> None:
        """Called by the source for every packet or still."""
        self.buffer.add(item)
        with self._lock:
            active = self._active
            if active is None:
                return
            if not active.items and not item.is_keyframe:
                return  # a clip starts at a keyframe
            if active.stop_at is not None and item.wall >= active.stop_at:
                self._finish_locked()
                return
            if (
                active.items
                and item.is_keyframe
                # (a little slack: a keyframe due at the limit may arrive just before it)
                and item.wall - active.items[0].wall >= self.max_length - 0.1
            ):
                # Long event: close this part at a keyframe, go on in the next.
                self._finish_locked()
                self._active = _Active(
                    uuid.uuid4().hex[:12],
                    active.reason,
                    active.event_id,
                    active.part + 1,
                    active.stop_at,
                    [],
                    active.thumbnail,
                    active.box,
                    active.motion_start,
                )
                active = self._active
            active.items.append(item)

    def _finish_locked(self) -> None:
        active, self._active = self._active, None
        if active is None:
            return
        items = active.items
        if active.stop_at is not None:
            items = [item for item in items if item.wall < active.stop_at]
        if items:
            self._jobs.put(_Job(active, self.source.info, items))

    # Writer thread ---------------------------------------------------------------------

    def _write_loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                clip = self._write(job)
            except OSError as err:
                _LOGGER.error("Could not write a clip for %s: %s", self.camera, err.strerror)
                if self.on_error is not None:
                    self.on_error(err)
                continue
            except Exception:
                _LOGGER.exception("Could not write a clip for %s", self.camera)
                continue
            if clip is not None:
                self.on_clip(clip)

    def _write(self, job: _Job) -> Clip | None:
        active, items = job.active, job.items
        start = items[0].wall
        video, thumb = self.store.new_paths(self.camera, start, active.clip_id)
        if isinstance(items[0], JpegFrame):
            duration = encode_jpegs([i for i in items if isinstance(i, JpegFrame)], video)
        else:
            if job.info is None:
                return None
            packets = [i for i in items if isinstance(i, EncodedPacket)]
            duration = remux_h264(packets, job.info, video)
        thumbnail = active.thumbnail or self.source.still_jpeg(640)
        if thumbnail:
            tmp = thumb.with_name(f".{thumb.stem}.part.jpg")
            tmp.write_bytes(thumbnail)
            tmp.replace(thumb)
        clip = Clip(
            id=active.clip_id,
            camera=self.camera,
            start=start,
            duration=round(duration, 3),
            reason=active.reason,
            path=video.relative_to(self.store.root).as_posix(),
            size=video.stat().st_size,
            event_id=active.event_id,
            part=active.part,
            box=None if active.box is None else [round(float(v), 4) for v in active.box],
            motion=_motion_window(active, start, duration),
        )
        self.store.add(clip)
        return clip


def _motion_window(active: _Active, start: float, duration: float) -> list[float] | None:
    """Where the motion is in the clip (seconds from its start): what a report keeps."""
    if active.motion_start is None:
        return None
    begin = min(max(0.0, active.motion_start - start), duration)
    end = duration if active.motion_end is None else active.motion_end - start
    return [round(begin, 3), round(min(max(begin, end), duration), 3)]
