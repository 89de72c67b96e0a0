"""Motion events: start after motion persists, end after a quiet cooldown.

Persisting means `min_frames` frames in a row with counted motion, or one frame
whose blob has been tracked for that many frames already (the detector only
counts a blob once it travels or persists, so its first frames are not lost).
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from ..sources.frames import Box, GrayImage
from .detector import MotionResult

MAX_BACKDATE = 16  # frames an event may be dated back to its object's first sighting


class Change(StrEnum):
    STARTED = "started"
    UPDATED = "updated"
    ENDED = "ended"


@dataclass(slots=True)
class MotionEvent:
    """One motion event; `start` is when its first motion frame was seen."""

    id: str
    start: float
    end: float | None = None
    peak_score: float = 0.0
    box: Box = (1.0, 1.0, 0.0, 0.0)
    peak_time: float = 0.0
    peak_frame: GrayImage | None = field(default=None, repr=False)
    last_motion: float = 0.0
    confirmed: float = 0.0  # when the event was declared (start latency = confirmed - start)

    def add(self, time: float, result: MotionResult, frame: GrayImage | None) -> None:
        assert result.box is not None
        x0, y0, x1, y1 = self.box
        bx0, by0, bx1, by1 = result.box
        self.box = (min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1))
        self.last_motion = time
        if result.score > self.peak_score:
            self.peak_score = result.score
            self.peak_time = time
            self.peak_frame = frame

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "start": round(self.start, 3),
            "end": None if self.end is None else round(self.end, 3),
            "peak_score": round(self.peak_score, 3),
            "box": [round(v, 4) for v in self.box],
        }


class EventTracker:
    """Turns per-frame results into events: `update` returns what changed."""

    def __init__(self, min_frames: int = 2, cooldown: float = 10.0) -> None:
        self.min_frames = min_frames
        self.cooldown = cooldown
        self.current: MotionEvent | None = None
        self._pending: list[tuple[float, MotionResult, GrayImage | None]] = []
        self._times: deque[float] = deque(maxlen=MAX_BACKDATE)  # recent frame times

    def update(
        self, time: float, result: MotionResult, frame: GrayImage | None = None
    ) -> tuple[Change, MotionEvent] | None:
        self._times.append(time)
        event = self.current
        if event is not None:
            if result.motion:
                event.add(time, result, frame)
                return Change.UPDATED, event
            if time - event.last_motion >= self.cooldown:
                event.end = event.last_motion
                self.current = None
                return Change.ENDED, event
            return None
        if not result.motion:
            self._pending.clear()
            return None
        self._pending.append((time, result, frame))
        if len(self._pending) < self.min_frames and result.age < self.min_frames:
            return None
        # The event starts where its object was first seen (its track's first frame).
        first = self._times[-min(result.age, len(self._times))] if result.age else time
        start = min(self._pending[0][0], first)
        event = MotionEvent(id=uuid.uuid4().hex[:12], start=start, confirmed=time)
        for pending in self._pending:
            event.add(*pending)
        self._pending.clear()
        self.current = event
        return Change.STARTED, event

    def adopt(self, event: MotionEvent, age: int = 0) -> tuple[Change, MotionEvent] | None:
        """Open an event declared elsewhere (a burst between two keyframes), dated back to
        where this tracker's frames first saw its object (`age` frames ago)."""
        if self.current is not None:
            return None
        if age and self._times:
            event.start = min(event.start, self._times[-min(age, len(self._times))])
        self._pending.clear()
        self.current = event
        return Change.STARTED, event

    def expire(self, time: float) -> tuple[Change, MotionEvent] | None:
        """No frame came by `time`: end an event whose cooldown ran out. Not a frame, so
        the frame history (which dates events back) is left as it is."""
        event = self.current
        if event is None or time - event.last_motion < self.cooldown:
            return None
        event.end = event.last_motion
        self.current = None
        return Change.ENDED, event

    def close(self, time: float) -> MotionEvent | None:
        """End an open event now (camera off, stream end)."""
        event, self.current = self.current, None
        self._pending.clear()
        if event is not None:
            event.end = max(event.last_motion, min(time, event.last_motion + self.cooldown))
        return event
