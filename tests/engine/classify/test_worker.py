"""The one classifier thread: bounded queue, skip when busy, exactly one result per
accepted crop, degrade with a reason, one thread for every camera."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from custom_components.privacy_cam.engine.classify.labels import Label
from custom_components.privacy_cam.engine.classify.nanodet import (
    Classification,
    ClassifierSettings,
    Crop,
    ModelError,
)
from custom_components.privacy_cam.engine.classify.worker import (
    ClassifierWorker,
    CropResult,
    SharedWorker,
    WorkerState,
)

VTEST = Path(__file__).parents[2] / "data" / "vtest.avi"
FRAME = np.zeros((90, 160, 3), np.uint8)
BOX = (0.4, 0.3, 0.5, 0.8)
WAIT = 10.0  # seconds: a bound for signals, never what a test waits for when all is well


class FakeClassifier:
    """Labels by the crop's mean colour; `gate` holds each crop until the test opens it."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.settings = ClassifierSettings()
        self.gate = gate
        self.started = threading.Semaphore(0)
        self.seen: list[Crop] = []

    def classify(self, crop: Crop) -> Classification:
        self.seen.append(crop)
        self.started.release()
        if self.gate is not None:
            assert self.gate.wait(WAIT)
        if crop.image.mean() > 200:
            raise RuntimeError("too bright")
        label = Label.PERSON if crop.image.mean() > 100 else Label.NONE
        return Classification(label, 0.8 if label is Label.PERSON else 0.0, (), 1.0, 1.0, (32, 64))


class Results:
    """Collects callbacks; `wait(n)` blocks until n arrived."""

    def __init__(self) -> None:
        self.items: list[CropResult] = []
        self.threads: set[str] = set()
        self._done = threading.Condition()

    def __call__(self, result: CropResult) -> None:
        with self._done:
            self.items.append(result)
            self.threads.add(threading.current_thread().name)
            self._done.notify_all()

    def wait(self, count: int) -> list[CropResult]:
        with self._done:
            assert self._done.wait_for(lambda: len(self.items) >= count, WAIT)
            return list(self.items)


STARTED: list[ClassifierWorker] = []


@pytest.fixture(autouse=True)
def _stop_workers() -> Iterator[None]:
    """Stop every worker a test started, even when it fails (no thread outlives a test)."""
    yield
    while STARTED:
        STARTED.pop().stop()


def _worker(classifier: FakeClassifier, queue_size: int = 2) -> ClassifierWorker:
    worker = ClassifierWorker(lambda: classifier, queue_size=queue_size)
    STARTED.append(worker)
    worker.start()
    assert worker.wait_ready(WAIT)
    return worker


def _frame(level: int) -> np.ndarray:
    return np.full((90, 160, 3), level, np.uint8)


def test_a_crop_comes_back_once_on_the_worker_thread() -> None:
    worker = _worker(FakeClassifier())
    results = Results()
    assert worker.submit(_frame(150), BOX, results, key="garden/ev1")
    (result,) = results.wait(1)
    assert result.key == "garden/ev1"
    assert result.error is None
    assert result.classification is not None
    assert result.classification.label is Label.PERSON
    assert result.waited_ms >= 0
    assert results.threads == {"privacy_cam_classifier"}
    worker.stop()
    assert worker.state is WorkerState.STOPPED
    assert worker.diagnostics()["classified"] == 1
    assert len(results.items) == 1


def test_a_busy_worker_skips_crops_instead_of_waiting() -> None:
    gate = threading.Event()
    classifier = FakeClassifier(gate)
    worker = _worker(classifier, queue_size=2)
    results = Results()
    assert worker.submit(_frame(150), BOX, results, key="a")
    assert classifier.started.acquire(timeout=WAIT)  # the worker is busy with "a"
    assert worker.submit(_frame(150), BOX, results, key="b")
    assert worker.submit(_frame(150), BOX, results, key="c")
    started = time.perf_counter()
    assert not worker.submit(_frame(150), BOX, results, key="d")  # queue full: skipped
    assert time.perf_counter() - started < 0.5  # and at once, whatever the worker does
    assert not worker.submit_crop(classifier.seen[0], results, key="d2")  # a cut crop too
    gate.set()
    assert [r.key for r in results.wait(3)] == ["a", "b", "c"]
    assert worker.stats.skipped == 2
    assert worker.stats.submitted == 3
    assert worker.submit(_frame(150), BOX, results, key="e")  # room again
    results.wait(4)
    worker.stop()
    diagnostics = worker.diagnostics()
    assert diagnostics["classified"] == 4
    assert diagnostics["skipped"] == 2
    assert worker.stats.cpu_s >= 0
    assert diagnostics["state"] == "stopped"


def test_a_failing_crop_or_callback_does_not_stop_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = _worker(FakeClassifier(), queue_size=3)
    results = Results()

    def broken(result: CropResult) -> None:
        results(result)
        raise ValueError("bug in the caller")

    assert worker.submit(_frame(255), BOX, results, key="bright")  # classifier raises
    assert worker.submit(_frame(150), BOX, broken, key="broken-callback")
    assert worker.submit(_frame(150), BOX, results, key="after")
    items = results.wait(3)
    worker.stop()
    assert items[0].error == "RuntimeError: too bright"
    assert items[0].classification is None
    assert items[2].classification is not None
    assert worker.stats.failed == 1
    assert worker.stats.classified == 2
    assert "Classifier callback failed for broken-callback" in caplog.text


def test_a_bad_frame_or_box_is_refused_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    worker = _worker(FakeClassifier())
    results = Results()
    assert not worker.submit(np.zeros((90, 160), np.uint8), BOX, results, key="gray")
    assert not worker.submit(_frame(150), (0.5, 0.5, 0.5, 0.6), results, key="empty")
    assert worker.stats.refused == 2
    assert "Crop refused for gray" in caplog.text
    assert worker.submit(_frame(150), BOX, results)  # and the worker goes on
    results.wait(1)


def test_crops_queued_while_loading_run_once_loaded() -> None:
    loaded = threading.Event()
    classifier = FakeClassifier()

    def slow_load() -> FakeClassifier:
        assert loaded.wait(WAIT)
        return classifier

    worker = ClassifierWorker(slow_load)
    STARTED.append(worker)
    worker.start()
    worker.start()  # a second start is a no-op
    assert worker.state is WorkerState.LOADING
    assert worker.unavailable_reason is None
    results = Results()
    assert worker.submit(_frame(150), BOX, results)
    loaded.set()
    assert worker.wait_ready(WAIT)
    assert results.wait(1)[0].classification is not None
    worker.stop()


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ModelError("ncnn is not installed (No module named 'ncnn')"), "ncnn is not installed"),
        (OSError("disk on fire"), "the detector failed to load: OSError: disk on fire"),
    ],
)
def test_without_a_detector_crops_are_refused_with_a_reason(
    error: Exception, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()

    def failing_load() -> FakeClassifier:
        assert release.wait(WAIT)
        raise error

    caplog.set_level(logging.INFO)
    worker = ClassifierWorker(failing_load)
    STARTED.append(worker)
    worker.start()
    results = Results()
    assert worker.submit(_frame(150), BOX, results, key="early")  # queued while loading
    release.set()
    assert not worker.wait_ready(WAIT)
    assert worker.state is WorkerState.UNAVAILABLE
    assert worker.unavailable_reason is not None
    assert worker.unavailable_reason.startswith(reason)
    (early,) = results.wait(1)  # the crop queued while loading still gets its one answer
    assert early.classification is None
    assert early.error == worker.unavailable_reason
    assert not worker.submit(_frame(150), BOX, results)
    assert worker.stats.refused == 1
    assert worker.diagnostics()["unavailable_reason"] == worker.unavailable_reason
    assert "labels are off" in caplog.text
    worker.stop()
    assert worker.state is WorkerState.UNAVAILABLE  # stopping keeps the reason


def test_stopping_answers_what_is_still_queued() -> None:
    gate = threading.Event()
    classifier = FakeClassifier(gate)
    worker = _worker(classifier)
    results = Results()
    assert worker.submit(_frame(150), BOX, results, key="busy")
    assert classifier.started.acquire(timeout=WAIT)
    assert worker.submit(_frame(150), BOX, results, key="queued")
    stopper = threading.Thread(target=worker.stop)
    stopper.start()
    gate.set()
    stopper.join(WAIT)
    items = {r.key: r for r in results.wait(2)}
    assert items["busy"].classification is not None
    assert items["queued"].error == "stopped"
    assert not worker.submit(_frame(150), BOX, results)
    assert worker.stats.refused == 1
    assert len(results.items) == 2


def test_an_idle_worker_refuses_and_stops_cleanly() -> None:
    worker = ClassifierWorker(FakeClassifier)
    assert _state(worker) is WorkerState.IDLE
    assert not worker.submit(FRAME, BOX, Results())
    worker.stop()
    assert _state(worker) is WorkerState.STOPPED
    with pytest.raises(ValueError, match="queue_size"):
        ClassifierWorker(FakeClassifier, queue_size=0)


def _state(worker: ClassifierWorker) -> WorkerState:
    return worker.state  # (read through a call: mypy would narrow the property)


def _classifier_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "privacy_cam_classifier"]


def test_every_camera_shares_one_thread() -> None:
    def factory() -> ClassifierWorker:
        worker = ClassifierWorker(FakeClassifier)
        STARTED.append(worker)
        return worker

    shared = SharedWorker(factory)
    assert shared.worker is None
    cameras = [shared.acquire() for _ in range(5)]
    assert all(worker is cameras[0] for worker in cameras)
    assert len(_classifier_threads()) == 1
    results = Results()
    for index, worker in enumerate(cameras):
        assert worker.wait_ready(WAIT)
        assert worker.submit(_frame(150), BOX, results, key=f"camera{index}")
        results.wait(index + 1)
    for _ in range(4):
        shared.release()
    assert _state(cameras[0]) is WorkerState.READY  # one camera still uses it
    shared.release()
    assert _state(cameras[0]) is WorkerState.STOPPED
    assert shared.worker is None
    shared.release()  # one too many: no harm
    assert not _classifier_threads()
    again = shared.acquire()
    assert again is not cameras[0]
    shared.release()


def test_the_real_detector_through_the_worker() -> None:
    """The default loader (bundled model, sha256 checked) on a real frame."""
    with av.open(str(VTEST)) as container:
        decoded = next(f for i, f in enumerate(container.decode(video=0)) if i == 200)
        frame = np.asarray(decoded.to_ndarray(format="rgb24"), dtype=np.uint8)
    worker = ClassifierWorker()
    STARTED.append(worker)
    worker.start()
    assert worker.wait_ready(WAIT), worker.unavailable_reason
    results = Results()
    walker: Callable[[], bool] = lambda: worker.submit(  # noqa: E731
        frame, (0.802, 0.457, 0.845, 0.643), results, key="vtest"
    )
    assert walker()
    (result,) = results.wait(1)
    worker.stop()
    assert result.classification is not None
    assert result.classification.label is Label.PERSON
