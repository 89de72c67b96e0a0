"""The motion worker thread on the real demo source."""

from __future__ import annotations

import threading
import time

import pytest

from custom_components.privacy_cam.engine import SourceConfig, create_source
from custom_components.privacy_cam.engine.motion.detector import MotionResult, MotionSettings
from custom_components.privacy_cam.engine.motion.events import Change, MotionEvent
from custom_components.privacy_cam.engine.motion.watcher import MotionWatcher
from custom_components.privacy_cam.engine.sources.frames import AnalysisFrame
from custom_components.privacy_cam.engine.sources.queues import DropOldestQueue


def test_watcher_reports_the_demo_walker(caplog: pytest.LogCaptureFixture) -> None:
    source = create_source(SourceConfig(kind="demo"))
    frames: DropOldestQueue[AnalysisFrame] = DropOldestQueue(2)
    source.add_frame_callback(frames.put)
    changes: list[tuple[Change, MotionEvent]] = []
    started = threading.Event()

    def callback(change: Change, event: MotionEvent, result: MotionResult | None) -> None:
        changes.append((change, event))
        if change is Change.STARTED:
            started.set()
        if change is Change.UPDATED:
            raise RuntimeError("consumer bug")  # must not stop detection

    watcher = MotionWatcher(frames, MotionSettings(), callback)
    source.start()
    watcher.start()
    watcher.start()  # already running: no second thread
    try:
        # The walker appears 3 s into the demo; one second goes to calibration.
        assert started.wait(8)
        time.sleep(0.6)
        assert watcher.frames_analysed > 10 and watcher.detect_seconds > 0
        assert "Motion callback failed" in caplog.text
        watcher.update_settings(MotionSettings(sensitivity=80, cooldown=2, min_frames=3))
        assert watcher.tracker.cooldown == 2 and watcher.tracker.min_frames == 3
        watcher.set_enabled(False)  # closes the running event at once
        assert changes[-1][0] is Change.ENDED
        watcher.set_enabled(True)
    finally:
        watcher.stop()
        source.stop()
    assert [c for c, _ in changes if c is not Change.UPDATED][:2] == [Change.STARTED, Change.ENDED]


def test_a_frame_that_breaks_the_detector_does_not_end_detection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A malformed frame (here: not an image at all) is logged once and skipped; the
    thread goes on with the next frames."""
    import numpy as np

    frames: DropOldestQueue[AnalysisFrame] = DropOldestQueue(2)
    watcher = MotionWatcher(frames, MotionSettings(), lambda *args: None)
    watcher.start()
    try:
        for seq in (1, 2):
            frames.put(AnalysisFrame(seq, time.monotonic(), time.time(), np.zeros(3, np.uint8)))
        deadline = time.monotonic() + 5
        while watcher.detect_errors < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert watcher.detect_errors == 2
        assert caplog.text.count("Motion detection failed on a frame") == 1
        gray = np.full((120, 160), 90, np.uint8)
        frames.put(AnalysisFrame(3, time.monotonic(), time.time(), gray))
        while watcher.frames_analysed < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert watcher.frames_analysed == 1  # still alive
    finally:
        watcher.stop()
