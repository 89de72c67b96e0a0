"""Pre-roll: the last few seconds of video, kept as encoded data, from a keyframe on."""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Protocol

_LOGGER = logging.getLogger(__name__)

# Far above any sane pre-roll; protects memory from cameras without keyframes.
MAX_BUFFER_BYTES = 64 * 1024 * 1024


class Timed(Protocol):
    @property
    def wall(self) -> float: ...
    @property
    def is_keyframe(self) -> bool: ...
    @property
    def data(self) -> bytes: ...


class PrerollBuffer[T: Timed]:
    """Keeps `seconds` of items plus what precedes them back to a keyframe.

    A clip must start at a keyframe, so the buffer always starts with one;
    memory stays near (pre-roll + one GOP) x bitrate.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: deque[T] = deque()
        self._keyframes: deque[float] = deque()  # wall times of keyframes in the buffer
        self._bytes = 0
        self.overflows = 0  # times the byte cap was hit with a single keyframe
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: T) -> None:
        with self._lock:
            if not self._items and not item.is_keyframe:
                return  # nothing decodable before the first keyframe
            self._items.append(item)
            self._bytes += len(item.data)
            if item.is_keyframe:
                self._keyframes.append(item.wall)
            cutoff = item.wall - self.seconds
            # Drop whole GOPs while the next keyframe is still old enough to start from.
            while len(self._keyframes) >= 2 and (
                self._keyframes[1] <= cutoff or self._bytes > MAX_BUFFER_BYTES
            ):
                self._drop_gop()
            if self._bytes > MAX_BUFFER_BYTES:
                # One keyframe and then only deltas past the cap: a camera without a
                # usable keyframe interval. Start again from its next keyframe.
                self.overflows += 1
                if self.overflows == 1:
                    _LOGGER.warning(
                        "Camera sent %d MiB without a second keyframe; pre-roll dropped",
                        MAX_BUFFER_BYTES >> 20,
                    )
                self._items.clear()
                self._keyframes.clear()
                self._bytes = 0

    def since(self, wall: float) -> list[T]:
        """Items from the last keyframe at or before `wall` (or the oldest) to now."""
        with self._lock:
            items = list(self._items)
        start = 0
        for index, item in enumerate(items):
            if item.wall > wall:
                break
            if item.is_keyframe:
                start = index
        return items[start:]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._keyframes.clear()
            self._bytes = 0

    def _drop_gop(self) -> None:
        self._keyframes.popleft()
        next_keyframe = self._keyframes[0]
        while self._items and not (
            self._items[0].is_keyframe and self._items[0].wall == next_keyframe
        ):
            self._bytes -= len(self._items.popleft().data)
