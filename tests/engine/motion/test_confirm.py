"""Keyframes only: a keyframe's candidate confirmed on the rest of its group (`confirm`).

The motion thread with a real detector on a rendered walker (`person_crossing`): its
keyframes one a second, and the frames between them as a source hands them on when
asked for a burst. The rates and scenes of the whole suite: `test_keyframe_rates`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from custom_components.privacy_cam.engine.motion.confirm import (
    MAX_PAUSE,
    PAUSE_MEMORY,
    KeyframeConfirm,
    candidates,
)
from custom_components.privacy_cam.engine.motion.detector import (
    Blob,
    MotionDetector,
    MotionResult,
    MotionSettings,
)
from custom_components.privacy_cam.engine.motion.events import Change, EventTracker, MotionEvent
from custom_components.privacy_cam.engine.motion.watcher import MotionWatcher
from custom_components.privacy_cam.engine.sources.frames import AnalysisFrame, to_analysis_gray
from custom_components.privacy_cam.engine.sources.queues import DropOldestQueue

from ...scenarios import FPS, OBJECT_SCENARIOS, render_video

WALKER = OBJECT_SCENARIOS[0]  # person_crossing: comes in from the left 4 s in
KEYFRAME_EVERY = FPS  # one a second
BOX = (0.1, 0.1, 0.2, 0.3)


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    path = render_video(WALKER, tmp_path_factory.mktemp("confirm") / "walker.mp4")
    with av.open(str(path)) as container:
        return [to_analysis_gray(frame, 120) for frame in container.decode(video=0)]


def _stream(frames: list[np.ndarray]) -> Iterator[AnalysisFrame]:
    """Keyframes, and every other frame between them as a burst's (5 fps)."""
    for index, gray in enumerate(frames):
        keyframe = index % KEYFRAME_EVERY == 0
        if keyframe or index % 2 == 0:
            yield AnalysisFrame(index, index / FPS, 0.0, gray, burst=not keyframe)


def _watch(
    frames: list[np.ndarray], answer: bool
) -> tuple[MotionWatcher, list[tuple[Change, MotionEvent, MotionResult | None]], list[float]]:
    queue: DropOldestQueue[AnalysisFrame] = DropOldestQueue(10_000)
    changes: list[tuple[Change, MotionEvent, MotionResult | None]] = []
    requests: list[float] = []
    done = threading.Event()

    def request(keyframe: float) -> bool:
        requests.append(keyframe)
        return answer

    watcher = MotionWatcher(
        queue, MotionSettings(detect_fps=1.0), lambda *change: changes.append(change)
    )
    watcher.set_confirm(MotionSettings(), request)
    for frame in _stream(frames):
        queue.put(frame)
    queue.put(AnalysisFrame(-1, 1e9, 0.0, frames[0], burst=True))  # the last one
    watcher.start()
    try:
        assert _wait(lambda: not len(queue), done)
    finally:
        watcher.stop()
    return watcher, changes, requests


def _wait(condition: object, done: threading.Event) -> bool:
    for _ in range(200):
        if callable(condition) and condition():
            return True
        done.wait(0.05)
    return False


def test_the_walker_is_declared_on_the_frames_after_its_first_keyframe(
    frames: list[np.ndarray],
) -> None:
    watcher, changes, requests = _watch(frames, answer=True)
    started = [(event, result) for change, event, result in changes if change is Change.STARTED]
    assert len(started) == 1
    event, result = started[0]
    # Dated at the first keyframe that shows them (the walker steps in from the left
    # edge 4 s in: 5 s), declared on that group's frames, not 2 keyframes later.
    assert event.start == 5.0 and requests[-1] == 5.0
    assert 5.0 < event.confirmed < 6.0
    assert result is not None and result.motion and result.box is not None
    assert watcher.confirm.confirmed == 1
    # Bursts only where something new showed: none in the empty scene before.
    assert all(keyframe >= 4.0 for keyframe in requests)


def test_no_burst_no_confirmation(frames: list[np.ndarray]) -> None:
    """A source that cannot decode the group (not FFmpeg's, or decoding every frame):
    the keyframes alone declare the walker, two keyframes later."""
    watcher, changes, requests = _watch(frames, answer=False)
    started = [event for change, event, _ in changes if change is Change.STARTED]
    assert requests and watcher.confirm.confirmed == 0
    assert len(started) == 1 and started[0].confirmed >= started[0].start + 2.0


def test_confirmation_off_asks_for_nothing(frames: list[np.ndarray]) -> None:
    queue: DropOldestQueue[AnalysisFrame] = DropOldestQueue(10_000)
    changes: list[object] = []
    watcher = MotionWatcher(queue, MotionSettings(detect_fps=1.0), lambda *c: changes.append(c))
    watcher.set_confirm(None, lambda keyframe: pytest.fail("asked for a burst"))
    for frame in _stream(frames):
        queue.put(frame)
    watcher.start()
    try:
        assert _wait(lambda: not len(queue), threading.Event())
    finally:
        watcher.stop()
    assert watcher.confirm.bursts == 0


def test_a_burst_frame_that_breaks_the_detector_ends_the_burst(
    frames: list[np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    queue: DropOldestQueue[AnalysisFrame] = DropOldestQueue(10_000)
    watcher = MotionWatcher(queue, MotionSettings(detect_fps=1.0), lambda *c: None)
    watcher.set_confirm(MotionSettings(), lambda keyframe: True)
    for frame in _stream(frames[:51]):  # up to the keyframe 5 s in, with the walker
        queue.put(frame)
    queue.put(AnalysisFrame(99, 5.1, 0.0, np.array([["not a picture"]]), burst=True))
    watcher.start()
    try:
        assert _wait(lambda: watcher.detect_errors == 1, threading.Event())
    finally:
        watcher.stop()
    assert not watcher.confirm.active and watcher.confirm.bursts == 1
    assert "Motion detection failed" in caplog.text


def test_a_candidate_moves_is_big_enough_and_is_not_learned() -> None:
    settings = MotionSettings(min_size=0.5)

    def result(*blobs: Blob, motion: bool = False, recalibrated: bool = False) -> MotionResult:
        return MotionResult(motion, blobs=blobs, recalibrated=recalibrated)

    two = (Blob(1.0, BOX, age=2), Blob(0.6, BOX, age=3))
    assert candidates(result(*two), settings) == list(two)
    assert candidates(result(Blob(0.4, BOX)), settings) == []  # too small
    assert candidates(result(Blob(1.0, BOX, moving=False)), settings) == []
    assert candidates(result(Blob(1.0, BOX, learned=True)), settings) == []
    assert candidates(result(), settings) == []
    # Counted already (the keyframes declare it), or the scene is being learned anew.
    assert candidates(result(Blob(1.0, BOX), motion=True), settings) == []
    assert candidates(result(Blob(1.0, BOX), recalibrated=True), settings) == []


def test_nothing_to_confirm_before_the_scene_is_learned(frames: list[np.ndarray]) -> None:
    detector = MotionDetector(MotionSettings(detect_fps=1.0))
    confirm = KeyframeConfirm()
    candidate = MotionResult(False, blobs=(Blob(1.0, BOX),))
    assert detector.fork(MotionSettings()) is None  # not a frame seen
    assert not confirm.begin(detector, MotionSettings(), 0.0, candidate)
    detector.detect(frames[0])  # the first frame starts calibration
    assert not confirm.begin(detector, MotionSettings(), 0.0, candidate)
    assert confirm.feed(0.5, frames[5]) is None and not confirm.active
    detector.detect(frames[10])  # at 1 fps, calibration is one frame
    assert confirm.begin(detector, MotionSettings(), 1.0, candidate) and confirm.active
    assert confirm.feed(1.0, frames[10]) is None  # the keyframe itself, or older frames
    confirm.end()
    assert not confirm.active and confirm.feed(1.2, frames[12]) is None


def test_a_confirmed_event_is_dated_back_to_the_candidates_first_keyframe() -> None:
    tracker = EventTracker(min_frames=2)
    for second in (1.0, 2.0, 3.0):
        tracker.update(second, MotionResult(False))
    event = MotionEvent("a", start=3.0, confirmed=3.4)
    assert tracker.adopt(event, age=2) == (Change.STARTED, event)
    assert event.start == 2.0 and tracker.current is event
    # One event at a time: an open event is not replaced.
    assert tracker.adopt(MotionEvent("b", start=3.5), age=1) is None
    assert tracker.current is event


def test_the_fork_knows_the_scene_and_not_the_tracks(frames: list[np.ndarray]) -> None:
    detector = MotionDetector(MotionSettings(detect_fps=1.0))
    for index in range(0, 60, 10):
        detector.detect(frames[index])
    fork = detector.fork(MotionSettings())
    assert fork is not None and fork.settings.detect_fps == 5.0
    # The scene as the keyframe detector learned it: the walker it saw last stands out
    # from the background, and has not moved since that frame.
    still = fork.detect(frames[50])
    assert not still.motion and not still.recalibrated
    assert still.blobs and not any(blob.moving for blob in still.blobs)
    detector.detect(frames[60])  # the original goes on on its own
    assert fork._model is not None and detector._model is not None
    assert fork._model.background is not detector._model.background


def test_frames_for_another_camera_shape_are_learned_anew(frames: list[np.ndarray]) -> None:
    """A burst frame of another size (the stream came back in another shape) starts the
    fork over; it never confirms from a picture it does not know."""
    detector = MotionDetector(MotionSettings(detect_fps=1.0))
    for index in range(0, 60, 10):
        detector.detect(frames[index])
    confirm = KeyframeConfirm()
    candidate = MotionResult(False, blobs=(Blob(1.0, BOX),))
    assert confirm.begin(detector, MotionSettings(), 5.0, candidate)
    assert confirm.feed(5.2, np.ascontiguousarray(frames[52][:60, :100])) is None


def test_path_independent_of_opencv(tmp_path: Path) -> None:
    """Both detection paths fork the same way (OpenCV where it imports)."""
    numpy_only = MotionDetector(MotionSettings(detect_fps=1.0), use_opencv=False)
    gray = np.full((120, 160), 90, np.uint8)
    numpy_only.detect(gray)
    numpy_only.detect(gray)
    fork = numpy_only.fork(MotionSettings())
    assert fork is not None and not fork.use_opencv


def _learned_until(frames: list[np.ndarray], second: int) -> tuple[MotionDetector, MotionResult]:
    """The keyframe detector (1 fps) over the walker's keyframes up to `second`."""
    detector = MotionDetector(MotionSettings(detect_fps=1.0))
    result = MotionResult(False)
    for index in range(0, second * FPS + 1, KEYFRAME_EVERY):
        result = detector.detect(frames[index])
    return detector, result


def _confirm_from(confirm: KeyframeConfirm, frames: list[np.ndarray], second: int) -> bool:
    for index in range(second * FPS + 2, (second + 1) * FPS, 2):
        if confirm.feed(index / FPS, frames[index]) is not None:
            return True
    return False


def test_a_confirmed_event_is_dated_by_its_own_candidate(frames: list[np.ndarray]) -> None:
    """A tree seen for 8 keyframes beside the walker: the walker's event starts where the
    walker was first seen, not where the tree was."""
    detector, result = _learned_until(frames, 5)
    (walker,) = candidates(result, MotionSettings())
    tree = Blob(2.0, (0.8, 0.0, 1.0, 0.3), age=8)
    confirm = KeyframeConfirm()
    both = MotionResult(False, blobs=(tree, walker))
    assert confirm.begin(detector, MotionSettings(), 5.0, both)
    assert _confirm_from(confirm, frames, 5)
    assert confirm.age == walker.age == 1


def test_bursts_that_confirm_nothing_pause(frames: list[np.ndarray]) -> None:
    """A restless scene: after two bursts in vain the next candidate keyframe has none,
    after three the next two, ... up to MAX_PAUSE; a confirmation starts over."""
    detector, _ = _learned_until(frames, 3)  # the yard before the walker
    candidate = MotionResult(False, blobs=(Blob(1.0, BOX),))
    confirm = KeyframeConfirm()
    begun = []
    for keyframe in range(40):
        begun.append(confirm.begin(detector, MotionSettings(), float(keyframe), candidate))
    confirm.end()
    pattern = "".join("B" if b else "." for b in begun)
    assert pattern.startswith("BB.B..B....B" + "." * MAX_PAUSE + "B")
    assert confirm.bursts == pattern.count("B") <= 10
    # The walker, confirmed: the misses are forgotten.
    walker_detector, result = _learned_until(frames, 5)
    confirm._pause = 0
    assert confirm.begin(walker_detector, MotionSettings(), 5.0, result)
    assert _confirm_from(confirm, frames, 5)
    assert confirm.begin(detector, MotionSettings(), 6.0, candidate)
    confirm.end()
    assert confirm.begin(detector, MotionSettings(), 7.0, candidate)


def test_turning_detection_off_or_relearning_ends_the_burst(frames: list[np.ndarray]) -> None:
    queue: DropOldestQueue[AnalysisFrame] = DropOldestQueue(10)
    watcher = MotionWatcher(queue, MotionSettings(detect_fps=1.0), lambda *c: None)
    watcher.set_confirm(MotionSettings(), lambda keyframe: True)
    _, result = _learned_until(frames, 5)
    for stop in (lambda: watcher.set_enabled(False), watcher.relearn):
        watcher.set_enabled(True)
        for index in range(0, 51, KEYFRAME_EVERY):  # the scene learned (anew)
            watcher.detector.detect(frames[index])
        assert watcher.confirm.begin(watcher.detector, MotionSettings(), 5.0, result)
        stop()
        assert not watcher.confirm.active


def test_a_pause_is_only_where_bursts_were_in_vain_and_wears_off(
    frames: list[np.ndarray],
) -> None:
    """A tree that kept two bursts busy pauses bursts for the tree; a candidate elsewhere
    still gets one, and half a minute without a burst in vain forgets the tree."""
    detector, _ = _learned_until(frames, 3)
    tree = MotionResult(False, blobs=(Blob(1.0, BOX),))
    elsewhere = MotionResult(False, blobs=(Blob(1.0, (0.7, 0.6, 0.8, 0.9)),))
    confirm = KeyframeConfirm()
    settings = MotionSettings()
    assert confirm.begin(detector, settings, 0.0, tree)
    assert confirm.begin(detector, settings, 1.0, tree)
    confirm.end()  # two in vain: the next tree candidate has none
    assert confirm.begin(detector, settings, 2.0, elsewhere)
    confirm.end(miss=False)  # (detection turned off: not in vain)
    assert not confirm.begin(detector, settings, 3.0, tree)
    assert confirm.begin(detector, settings, 4.0, tree)
    confirm.end()  # a third: two more tree candidates without
    assert not confirm.begin(detector, settings, 5.0, tree)
    # The wind dropped: 30 s later the tree's misses are forgotten.
    assert confirm.begin(detector, settings, 4.0 + PAUSE_MEMORY + 1, tree)


def test_dated_by_the_candidate_it_came_from(frames: list[np.ndarray]) -> None:
    """The walker moves off its keyframe box within the burst: the nearest candidate it
    could have come from dates it, not a far one, and no overlap is needed."""
    detector, result = _learned_until(frames, 5)
    (walker,) = candidates(result, MotionSettings())
    x0, y0, *_ = walker.box
    shrunk = Blob(walker.area, (x0, y0, x0 + 0.01, y0 + 0.01), age=3)  # off the walker now
    far = Blob(2.0, (0.9, 0.0, 1.0, 0.1), age=8)
    confirm = KeyframeConfirm()
    assert confirm.begin(detector, MotionSettings(), 5.0, MotionResult(False, blobs=(far, shrunk)))
    assert _confirm_from(confirm, frames, 5)
    assert confirm.age == 3
