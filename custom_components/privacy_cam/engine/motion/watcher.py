"""The motion worker: takes analysis frames from a queue and reports event changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from ..sources.frames import AnalysisFrame
from .confirm import KeyframeConfirm
from .detector import MotionDetector, MotionResult, MotionSettings
from .events import Change, EventTracker, MotionEvent
from .zones import BoolImage

_LOGGER = logging.getLogger(__name__)

type EventCallback = Callable[[Change, MotionEvent, MotionResult | None], None]
# Asks the source for the rest of the group of pictures of the keyframe dated so.
type BurstRequest = Callable[[float], bool]


class FrameFeed(Protocol):
    """Where analysis frames wait (the pipeline's bounded, drop-oldest queue)."""

    def get(self, timeout: float | None = None) -> AnalysisFrame | None: ...


class MotionWatcher:
    """Runs detection in its own thread so a slow frame never stalls the camera reader."""

    def __init__(
        self, frames: FrameFeed, settings: MotionSettings, callback: EventCallback
    ) -> None:
        self.frames = frames
        self.detector = MotionDetector(settings)
        self.tracker = EventTracker(settings.min_frames, settings.cooldown)
        self.callback = callback
        self.enabled = True
        self.last_result: MotionResult | None = None
        self.frames_analysed = 0
        self.detect_seconds = 0.0
        self.detect_errors = 0
        self.confirm = KeyframeConfirm()
        self._confirm_settings: MotionSettings | None = None
        self._request_burst: BurstRequest | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def settings(self) -> MotionSettings:
        return self.detector.settings

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="privacy_cam_motion", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.close_event()

    def update_settings(self, settings: MotionSettings) -> None:
        with self._lock:
            self.detector.update_settings(settings)
            self.tracker.min_frames = settings.min_frames
            self.tracker.cooldown = settings.cooldown

    def set_confirm(self, settings: MotionSettings | None, request: BurstRequest | None) -> None:
        """Keyframes only: confirm a keyframe's candidate on the frames up to the next
        keyframe, which `request` asks the source for, at `settings` (the user's, at the
        camera rate; see `confirm`). None: every frame is analysed anyway."""
        with self._lock:
            self._confirm_settings = settings
            self._request_burst = request if settings is not None else None
            self.confirm.end(miss=False)

    def set_learned(self, grid: BoolImage | None, max_area: float = 0.0) -> None:
        """Apply learned nuisance cells between two frames (see `learning`)."""
        with self._lock:
            self.detector.set_learned(grid, max_area)

    def relearn(self) -> None:
        """Learn the scene anew from the next frame (its picture came from elsewhere)."""
        with self._lock:
            self.detector.reset()
            self.confirm.end(miss=False)  # what it knew of the scene is gone too

    def set_enabled(self, enabled: bool) -> None:
        with self._lock:
            self.enabled = enabled
            if not enabled:
                self.detector.reset()  # relearn the scene when turned back on
                self.confirm.end(miss=False)
        if not enabled:
            self.close_event()

    def close_event(self) -> None:
        """End an open event now (detection off, privacy mode, unload)."""
        with self._lock:
            event = self.tracker.close(time.monotonic())
        if event is not None:
            self._notify(Change.ENDED, event, None)

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self.frames.get(0.5)
            with self._lock:
                if frame is None:
                    # Still end an event whose cooldown ran out while no frames came
                    # (slow streams: keyframes only, snapshots every few seconds).
                    change = self.tracker.expire(time.monotonic())
                    result = None
                elif not self.enabled:
                    change = self.tracker.update(time.monotonic(), MotionResult(False))
                    result = None
                elif frame.burst:
                    result, change = self._confirm_frame(frame)
                else:
                    started = time.perf_counter()
                    try:
                        result = self.detector.detect(frame.gray)
                    except Exception:  # noqa: BLE001 - a frame must never end detection
                        self._on_detect_error()
                        continue
                    change = self.tracker.update(frame.time, result, frame.gray)
                    self._begin_confirm(frame, result)
                    self.detect_seconds += time.perf_counter() - started
                    self.frames_analysed += 1
                    self.last_result = result
            if change is not None:
                self._notify(change[0], change[1], result)

    def _begin_confirm(self, keyframe: AnalysisFrame, result: MotionResult) -> None:
        """A keyframe with a candidate and no event open: ask for the rest of its group."""
        # The last group is over: for nothing, unless this keyframe counted the object.
        self.confirm.end(miss=self.tracker.current is None)
        settings, request = self._confirm_settings, self._request_burst
        if settings is None or request is None or self.tracker.current is not None:
            return
        if self.confirm.begin(self.detector, settings, keyframe.time, result) and not request(
            keyframe.time
        ):
            self.confirm.end(miss=False)

    def _confirm_frame(
        self, frame: AnalysisFrame
    ) -> tuple[MotionResult | None, tuple[Change, MotionEvent] | None]:
        """A frame between two keyframes: it may confirm the last one's candidate."""
        if not self.confirm.active or self.tracker.current is not None:
            return None, None
        started = time.perf_counter()
        try:
            confirmed = self.confirm.feed(frame.time, frame.gray)
        except Exception:  # noqa: BLE001 - as a keyframe's: a frame must never end detection
            self.confirm.end(miss=False)
            self._on_detect_error()
            return None, None
        self.detect_seconds += time.perf_counter() - started
        self.frames_analysed += 1
        if confirmed is None:
            return None, None
        event, result = confirmed
        return result, self.tracker.adopt(event, self.confirm.age)

    def _on_detect_error(self) -> None:
        """Log once, count, and relearn the scene from the next frame."""
        self.detect_errors += 1
        if self.detect_errors == 1:
            _LOGGER.exception("Motion detection failed on a frame; relearning the scene")
        self.detector.reset()

    def _notify(self, change: Change, event: MotionEvent, result: MotionResult | None) -> None:
        try:
            self.callback(change, event, result)
        except Exception:  # a broken consumer must not stop detection
            _LOGGER.exception("Motion callback failed")
