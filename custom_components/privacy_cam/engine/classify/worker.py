"""One classifier thread for the whole Home Assistant instance, with a bounded queue.

Cameras call `submit` from their own threads; it never waits. A full queue means the
box is busy: the crop is skipped (`submit` returns False) rather than delaying anything.
Every accepted crop gets exactly one `CropResult` through its callback, on the worker
thread: a classification, or the error that prevented one. When ncnn is missing or the
model fails its sha256 check, the worker says why (`unavailable_reason`) and refuses
crops; motion, events and recording go on as without a detector.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ..sources.frames import Box
from .nanodet import (
    Classification,
    ClassifierSettings,
    Crop,
    ModelError,
    NanoDet,
    RgbImage,
    crop_region,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 2  # crops waiting; more would only make labels late


class Classifier(Protocol):
    """What the worker runs: `NanoDet`, or a stand-in in tests."""

    settings: ClassifierSettings

    def classify(self, crop: Crop) -> Classification: ...


class WorkerState(StrEnum):
    IDLE = "idle"  # not started
    LOADING = "loading"
    READY = "ready"
    UNAVAILABLE = "unavailable"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class CropResult:
    """The outcome of one accepted crop; exactly one of `classification`/`error` is set.

    `key` is the caller's (e.g. camera and event id); `waited_ms` the time in the queue.
    """

    key: str
    classification: Classification | None
    error: str | None
    waited_ms: float


@dataclass(frozen=True, slots=True)
class _Job:
    crop: Crop
    key: str
    callback: Callable[[CropResult], None]
    queued: float


@dataclass(slots=True)
class WorkerStats:
    """Counters for diagnostics. `skipped`: refused because the queue was full;
    `refused`: refused because the detector is unavailable or stopped."""

    submitted: int = 0
    skipped: int = 0
    refused: int = 0
    classified: int = 0
    failed: int = 0
    busy_s: float = 0.0  # wall time spent classifying
    cpu_s: float = 0.0  # worker thread CPU time spent classifying

    def as_dict(self) -> dict[str, float | int]:
        return {
            "submitted": self.submitted,
            "skipped": self.skipped,
            "refused": self.refused,
            "classified": self.classified,
            "failed": self.failed,
            "ms_per_crop": round(1000 * self.busy_s / self.classified, 2)
            if self.classified
            else 0.0,
            "cpu_ms_per_crop": round(1000 * self.cpu_s / self.classified, 2)
            if self.classified
            else 0.0,
        }


def load_default() -> Classifier:
    return NanoDet.load()


class ClassifierWorker:
    """The one thread that runs the detector. `start` returns at once; the model loads
    on the worker thread (file I/O and hashing stay off the caller's event loop)."""

    def __init__(
        self,
        load: Callable[[], Classifier] = load_default,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        settings: ClassifierSettings | None = None,
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self._load = load
        self.queue_size = queue_size
        self.settings = settings or ClassifierSettings()
        self.stats = WorkerStats()
        self._jobs: deque[_Job] = deque()
        self._lock = threading.Condition()
        self._state = WorkerState.IDLE
        self._reason: str | None = None
        self._ready = threading.Event()  # set once loading is over, either way
        self._thread: threading.Thread | None = None
        self._classifier: Classifier | None = None

    @property
    def state(self) -> WorkerState:
        return self._state

    @property
    def unavailable_reason(self) -> str | None:
        """Why crops are refused (None while loading or ready)."""
        return self._reason

    @property
    def busy(self) -> bool:
        """The queue is full: a crop submitted now would be skipped (callers check this
        before paying for a picture)."""
        with self._lock:
            return len(self._jobs) >= self.queue_size

    def diagnostics(self) -> dict[str, object]:
        return {
            "state": str(self._state),
            "unavailable_reason": self._reason,
            "queue_size": self.queue_size,
            **self.stats.as_dict(),
        }

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._state = WorkerState.LOADING
            self._thread = threading.Thread(
                target=self._run, name="privacy_cam_classifier", daemon=True
            )
            self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until loading is over; True when the detector is ready."""
        self._ready.wait(timeout)
        return self._state is WorkerState.READY

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the thread; crops still queued get a "stopped" error result.

        Waits for the crop in progress (tens of ms): call it from an executor, not from
        the event loop.
        """
        with self._lock:
            thread = self._thread
            if self._state is not WorkerState.UNAVAILABLE:
                self._state = WorkerState.STOPPED
                self._reason = "the classifier was stopped"
            self._lock.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._fail_queued("stopped")

    def submit(
        self,
        frame: RgbImage,
        motion: Box,
        callback: Callable[[CropResult], None],
        key: str = "",
    ) -> bool:
        """Queue the region around `motion` (0-1) of an RGB frame for classification.

        Never blocks (it copies the region, well under a millisecond). False when the crop
        is skipped (queue full) or refused (detector unavailable or stopped, or a frame
        that is not HxWx3 uint8, or an empty box): then `callback` is never called. The
        frame is not kept.
        """
        if not self._has_room():
            return False
        try:
            crop = crop_region(frame, motion, self.settings)
        except ValueError as error:  # a caller's bug: log it, never break the camera's thread
            _LOGGER.warning("Crop refused for %s: %s", key, error)
            self.stats.refused += 1
            return False
        return self.submit_crop(crop, callback, key)

    def submit_crop(
        self, crop: Crop, callback: Callable[[CropResult], None], key: str = ""
    ) -> bool:
        """As `submit`, for a crop already cut."""
        with self._lock:
            if not self._has_room():
                return False
            self.stats.submitted += 1
            self._jobs.append(_Job(crop, key, callback, time.monotonic()))
            self._lock.notify()
            return True

    def _has_room(self) -> bool:
        """Count and refuse a crop that cannot be queued now (the lock is re-entrant)."""
        with self._lock:
            if self._state not in (WorkerState.LOADING, WorkerState.READY):
                self.stats.refused += 1
                return False
            if len(self._jobs) >= self.queue_size:
                self.stats.skipped += 1
                return False
            return True

    def _run(self) -> None:
        try:
            classifier = self._load()
        except ModelError as error:
            self._unavailable(str(error))
            return
        except Exception as error:  # noqa: BLE001  # any loader failure only turns labels off
            self._unavailable(f"the detector failed to load: {type(error).__name__}: {error}")
            return
        with self._lock:
            self._classifier = classifier
            if self._state is WorkerState.LOADING:
                self._state = WorkerState.READY
        self._ready.set()
        _LOGGER.debug("classifier ready")
        while (job := self._next()) is not None:
            self._classify(classifier, job)

    def _unavailable(self, reason: str) -> None:
        with self._lock:
            self._state = WorkerState.UNAVAILABLE
            self._reason = reason
        self._ready.set()
        _LOGGER.info("Person/vehicle/animal labels are off: %s", reason)
        self._fail_queued(reason)

    def _next(self) -> _Job | None:
        with self._lock:
            while not self._jobs and self._state is WorkerState.READY:
                self._lock.wait()
            if self._state is not WorkerState.READY:
                return None
            return self._jobs.popleft()

    def _classify(self, classifier: Classifier, job: _Job) -> None:
        waited = 1000 * (time.monotonic() - job.queued)
        started, started_cpu = time.perf_counter(), time.thread_time()
        try:
            found = classifier.classify(job.crop)
        except Exception as error:  # noqa: BLE001  # one bad crop must not stop the worker
            self.stats.failed += 1
            result = CropResult(job.key, None, f"{type(error).__name__}: {error}", waited)
        else:
            self.stats.classified += 1
            self.stats.busy_s += time.perf_counter() - started
            self.stats.cpu_s += time.thread_time() - started_cpu
            result = CropResult(job.key, found, None, waited)
        _deliver(job.callback, result)

    def _fail_queued(self, reason: str) -> None:
        with self._lock:
            jobs = list(self._jobs)
            self._jobs.clear()
        for job in jobs:
            self.stats.failed += 1
            waited = 1000 * (time.monotonic() - job.queued)
            _deliver(job.callback, CropResult(job.key, None, reason, waited))


def _deliver(callback: Callable[[CropResult], None], result: CropResult) -> None:
    try:
        callback(result)
    except Exception:  # a caller's bug must not stop the worker
        _LOGGER.exception("Classifier callback failed for %s", result.key)


class SharedWorker:
    """One `ClassifierWorker` for every camera of the instance: the first `acquire` starts
    it, the last `release` stops it. The HA glue keeps one of these (e.g. in hass.data)."""

    def __init__(self, factory: Callable[[], ClassifierWorker] = ClassifierWorker) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._worker: ClassifierWorker | None = None
        self._users = 0

    @property
    def worker(self) -> ClassifierWorker | None:
        return self._worker

    def acquire(self) -> ClassifierWorker:
        with self._lock:
            if self._worker is None:
                self._worker = self._factory()
                self._worker.start()
            self._users += 1
            return self._worker

    def release(self, timeout: float | None = 10.0) -> None:
        with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            worker = self._worker if self._users == 0 else None
            if worker is not None:
                self._worker = None
        if worker is not None:
            worker.stop(timeout)
