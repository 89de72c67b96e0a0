"""The motion worker thread on the real demo source."""

from __future__ import annotations

import threading
import time

import pytest

from custom_components.privacy_cam.engine import SourceConfig, create_source
from custom_components.privacy_cam.engine.motion.detector import MotionResult, MotionSettings
from custom_components.privacy_cam.engine.motion.events import Change, MotionEvent
from custom_components.privacy_cam.engine.motion.watcher import MotionWatcher


def test_watcher_reports_the_demo_walker(caplog: pytest.LogCaptureFixture) -> None:
    source = create_source(SourceConfig(kind="demo"))
    changes: list[tuple[Change, MotionEvent]] = []
    started = threading.Event()

    def callback(change: Change, event: MotionEvent, result: MotionResult | None) -> None:
        changes.append((change, event))
        if change is Change.STARTED:
            started.set()
        if change is Change.UPDATED:
            raise RuntimeError("consumer bug")  # must not stop detection

    watcher = MotionWatcher(source, MotionSettings(), callback)
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
