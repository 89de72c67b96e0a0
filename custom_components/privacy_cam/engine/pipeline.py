"""One camera, wired: source → analysis queue → motion watcher → recorder → clip store.

This is the only place that connects a camera's stages (Home Assistant's
runtime, the benches and the engine tests all build cameras with it). A
frame's path:

1. The source thread reads the camera. Every packet (or JPEG still) goes to the
   recorder's pre-roll buffer; every 1/`analysis_fps` s a small gray frame goes
   to the analysis queue, which drops its oldest frame rather than lag.
2. The motion thread takes frames from that queue and tracks motion events.
3. When an event starts, `_record` (the record-on-motion policy, below) asks the
   recorder for a clip from the keyframe before the event's start minus the pre-roll.
4. The writer thread appends every packet of an open clip to its file as it
   arrives (fragmented MP4: on disk as it happens).
5. The event's end plus the post-roll closes the clip: faststart MP4, thumbnail,
   index entry in the store, then a `ClipSaved` output.

With a detection stream (the camera's substream, `detect_source`), step 1 splits:
the main stream is only demuxed (never decoded: its packets are what is recorded)
and the analysis frames come from the small stream, cropped to its picture if it
is letterboxed, so motion boxes are fractions of the main picture. If the
detection stream fails, the main stream is decoded for analysis until it is back.

With a classifier (`classify.ClassifierWorker`, one for the whole instance), an event
also gets a label (issue 15): when it starts and then as its `CropPlan` says (at most
`max_crops`, `interval` apart), the motion thread takes the latest colour picture, from
the detection stream while it streams (the motion box mapped through its letterbox),
else from the main one, and hands the region around the frame's motion box to the
worker, which never makes it wait: a busy worker skips the crop (retried shortly). The
box is that frame's, not the event's union so far: it is where the subject is now, and a
tight crop is what the detector is good at (a long walk's union is most of the picture).
Results come back on the worker thread: the event's label is recomputed with the
threshold, and a change goes to the recorder (the clip's index entry) and out as
`LabelChanged`, even after the event ended.

What the camera says goes out through one callback, on engine threads, as typed
outputs: `StateChanged`, `MotionChanged`, `ClipSaved`, `WriteFailed`, `DiskRecovered`,
`LabelChanged`.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from .classify.events import CropPlan, EventLabel
from .classify.labels import Label
from .classify.worker import ClassifierWorker, CropResult, WorkerState
from .motion.detector import MotionResult, MotionSettings
from .motion.events import Change, MotionEvent
from .motion.watcher import MotionWatcher
from .recording.clipstore import Clip, ClipStore, Retention
from .recording.recorder import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_POSTROLL,
    DEFAULT_PREROLL,
    ClipRecorder,
)
from .sources.errors import SourceError
from .sources.frames import AnalysisFrame, Box, content_box, union_box
from .sources.jpeg import RgbImage
from .sources.queues import DropOldestQueue
from .sources.source import Source, SourceState

_LOGGER = logging.getLogger(__name__)

# Analysis frames waiting for the motion thread: two, so a slow detection loses
# old frames instead of falling behind the camera.
ANALYSIS_QUEUE = 2
THUMBNAIL_WIDTH = 640
# Letterbox bars are found on the detection stream's first frames after it connects
# (the largest picture of these, as one dark frame can look like bars).
CONTENT_FRAMES = 5
FULL_FRAME: Box = (0.0, 0.0, 1.0, 1.0)
MIN_DETECT_FPS = 0.5  # the slowest detection rate MotionSettings accepts
# Colour pictures for the classifier are scaled down to this width (crops are scaled to
# the model's 320 anyway: a wider picture only costs conversion time).
CLASSIFY_WIDTH = 1280
# Events whose crops and label are kept (one event at a time per camera: these are the
# current one and the recent ones, whose late results still count).
LABELLED_EVENTS = 16


class RecordMode(StrEnum):
    MOTION = "motion"  # every motion event
    ALARMS = "alarms"  # only while armed
    OFF = "off"  # manual clips only


@dataclass(frozen=True, slots=True)
class RecordPolicy:
    mode: RecordMode = RecordMode.MOTION
    preroll: float = DEFAULT_PREROLL
    postroll: float = DEFAULT_POSTROLL
    max_length: float = DEFAULT_MAX_LENGTH


# Outputs --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateChanged:
    state: SourceState
    error: SourceError | None


@dataclass(frozen=True, slots=True)
class MotionChanged:
    """An event started or ended (updates stay on the motion thread)."""

    change: Change
    event: MotionEvent


@dataclass(frozen=True, slots=True)
class ClipSaved:
    clip: Clip


@dataclass(frozen=True, slots=True)
class WriteFailed:
    error: OSError
    disk_full: bool  # recording pauses until there is room again


@dataclass(frozen=True, slots=True)
class DiskRecovered:
    """There is room again after a full disk: recording goes on."""


@dataclass(frozen=True, slots=True)
class LabelChanged:
    """What the event shows changed after a crop came back (the first result always
    counts, even `Label.NONE`). `confidence` is the detector's best score for `label`
    (0.0 for `NONE`). On the classifier's thread; may come after the event ended."""

    event: MotionEvent
    label: Label
    confidence: float


@dataclass(frozen=True, slots=True)
class DetectionStreamChanged:
    """The detection stream failed (the main stream stands in meanwhile) or is back: once
    per outage, on the detection stream's thread."""

    failed: bool
    error: SourceError | None = None


type Output = (
    StateChanged
    | MotionChanged
    | ClipSaved
    | WriteFailed
    | DiskRecovered
    | LabelChanged
    | DetectionStreamChanged
)
type OutputCallback = Callable[[Output], None]


@dataclass(slots=True)
class _EventCrops:
    """One event's crops and the label last sent out (guarded by the pipeline's lock)."""

    label: EventLabel
    sent: tuple[Label, float] | None = None
    person: float | None = None  # the best person score sent to the recorder


@dataclass(slots=True)
class _ClassifyStats:
    submitted: int = 0  # crops the worker accepted
    skipped: int = 0  # crops the worker refused (busy), retried shortly
    no_picture: int = 0  # no colour picture yet
    picture_errors: int = 0  # the colour picture failed (logged at debug)
    failed: int = 0  # accepted crops that came back with an error
    events_labelled: int = 0


class _DetectListener:
    """The detection stream's state changes (they are not the camera's availability)."""

    def __init__(self, pipeline: CameraPipeline) -> None:
        self.pipeline = pipeline

    def on_state(self, state: SourceState, error: SourceError | None) -> None:
        self.pipeline._on_detect_state(state, error)


def wall_time(monotonic: float) -> float:
    """Wall-clock time of an engine (monotonic) timestamp."""
    return time.time() - max(0.0, time.monotonic() - monotonic)


class CameraPipeline:
    """Owns a camera's stages, their channels and their start and stop order.

    Thread-safe. `recording` (the user's switch) and `armed` steer the
    record-on-motion policy and may be set from any thread.
    """

    def __init__(
        self,
        source: Source,
        store: ClipStore,
        camera: str,
        settings: MotionSettings,
        on_output: OutputCallback,
        *,
        policy: RecordPolicy | None = None,
        retention: Retention | None = None,
        owner: str | None = None,
        detect_source: Source | None = None,
        classifier: ClassifierWorker | None = None,
        label_threshold: float = 0.5,
        crop_plan: CropPlan | None = None,
    ) -> None:
        """`camera` is the clip folder; `owner` is recorded in every clip's index entry.

        With `detect_source`, `source` should be configured not to decode (`decode=False`).
        With `classifier` (shared, started and stopped by its owner), motion events get
        labels: only labels the detector gives at least `label_threshold` count.
        """
        self.policy = policy or RecordPolicy()
        self.source = source
        self.detect_source = detect_source
        self.settings = settings  # as configured; see `_detector_settings`
        self._keyframe_rate: float | None = None
        self.fallbacks = 0  # times the detection stream failed and the main one stood in
        self._fallback = False
        self._content: Box | None = None  # the detection stream's picture, bars excluded
        self._content_frames = 0
        self.classifier = classifier
        self.crop_plan = crop_plan or CropPlan()
        self._label_threshold = label_threshold
        self._labels: OrderedDict[str, _EventCrops] = OrderedDict()  # event id → its crops
        self._label_lock = threading.Lock()
        self._classify_stats = _ClassifyStats()
        self.store = store
        self.retention = retention or Retention()
        self.on_output = on_output
        self.recording = True
        self.armed = False
        self.disk_full = False
        self._thumbnail: tuple[str | None, float] = (None, 0.0)  # event id, its score
        # Channels and stages (Frigate's init_queues): each stage gets its input here.
        self.frames: DropOldestQueue[AnalysisFrame] = DropOldestQueue(ANALYSIS_QUEUE)
        self.watcher = MotionWatcher(self.frames, self._detector_settings(), self._on_motion)
        self._set_confirm()
        self.recorder = ClipRecorder(
            source,
            store,
            camera,
            self._on_clip,
            self._on_write_error,
            preroll=self.policy.preroll,
            postroll=self.policy.postroll,
            max_length=self.policy.max_length,
            owner=owner,
        )
        self._unsubscribe = [
            source.add_listener(self),
            source.add_frame_callback(self._on_main_frame),
            source.add_packet_callback(self.recorder.add),
            source.add_jpeg_callback(self.recorder.add),
        ]
        if detect_source is not None:
            self._unsubscribe += [
                detect_source.add_listener(_DetectListener(self)),
                detect_source.add_frame_callback(self._on_detect_frame),
            ]

    def start(self) -> None:
        """Consumers first, so the first packet and frame have somewhere to go."""
        self.recorder.start()  # writer thread
        self.watcher.start()  # motion thread
        if self.detect_source is not None:
            self.detect_source.start()  # detection stream's thread
        self.source.start()  # source thread

    def stop(self) -> None:
        """Stop pulling frames; returns once the open clips are on disk.

        Motion first (an open event ends, which sets its clip's post-roll end), then
        the source (no more packets), then the writer (finishes the open clips).
        """
        self.watcher.stop()
        if self.detect_source is not None:
            self.detect_source.stop()
        self.source.stop()
        self.recorder.stop()  # also drops the pre-roll
        self.frames.clear()
        if self._fallback:
            # A fresh start tries the detection stream again, and tells if it still fails.
            self._fallback = False
            self.source.set_decode(False)

    def close(self) -> None:
        """Detach from the source for good (after `stop`)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def update_settings(self, settings: MotionSettings) -> None:
        self.settings = settings
        self.watcher.update_settings(self._detector_settings())
        self._set_confirm()

    def _set_confirm(self) -> None:
        """Keyframes only: a keyframe's candidate is confirmed on the rest of its group."""
        analysed = self.detect_source or self.source
        if analysed.config.keyframes_only:
            self.watcher.set_confirm(self.settings, self._request_burst)

    def _request_burst(self, keyframe: float) -> bool:
        """From the stream that is analysed now (the main one while the detection stream
        is down)."""
        analysed = (
            self.source if self.detect_source is None or self._fallback else self.detect_source
        )
        return analysed.request_burst(keyframe)

    def _detector_settings(self) -> MotionSettings:
        """With keyframes only, the detector runs at the keyframe rate (its calibration
        and memories count frames): the slowest it allows until the rate is measured."""
        analysed = self.detect_source or self.source
        if not analysed.config.keyframes_only:
            return self.settings
        rate = self._keyframe_rate or MIN_DETECT_FPS
        return replace(self.settings, detect_fps=min(self.settings.detect_fps, rate))

    def _note_keyframe_rate(self, source: Source) -> None:
        interval = source.stats.keyframe_interval
        if self._keyframe_rate is None and interval and source.config.keyframes_only:
            self._keyframe_rate = max(MIN_DETECT_FPS, 1.0 / interval)
            self.watcher.update_settings(self._detector_settings())

    def record_clip(self, duration: float) -> str | None:
        """A manual clip of `duration` seconds from now; None while the disk is full."""
        if not self._disk_ok():
            return None
        return self.recorder.begin("manual", None, time.time(), duration)

    def stats(self) -> dict[str, object]:
        """The source's counters and what happened to its analysis frames."""
        stats: dict[str, object] = {
            **self.source.stats.as_dict(),
            "dropped_frames": self.frames.dropped,
            "detect_errors": self.watcher.detect_errors,
            # Keyframes only: events a group's frames confirmed before the next keyframe.
            "bursts_confirmed": self.watcher.confirm.confirmed,
        }
        if self.detect_source is not None:
            stats["detection_stream"] = {
                **self.detect_source.stats.as_dict(),
                "state": self.detect_source.state.value,
                "fallbacks": self.fallbacks,
                "in_fallback": self._fallback,
            }
        if self.classifier is not None:
            counts = self._classify_stats
            stats["classify"] = {
                "crops_submitted": counts.submitted,
                "crops_skipped": counts.skipped,
                "crops_failed": counts.failed,
                "no_picture": counts.no_picture,
                "picture_errors": counts.picture_errors,
                "events_labelled": counts.events_labelled,
                "label_threshold": self._label_threshold,
                "state": self.classifier.state.value,
                "unavailable_reason": self.classifier.unavailable_reason,
            }
        return stats

    def set_label_threshold(self, value: float) -> None:
        """The least score a label needs to count; for labels computed from now on."""
        with self._label_lock:
            self._label_threshold = value

    def event_label(self, event_id: str) -> tuple[Label, float] | None:
        """An event's label so far and its confidence; None before its first crop came
        back (or with no classifier, or for an event long gone)."""
        with self._label_lock:
            crops = self._labels.get(event_id)
            return None if crops is None else crops.sent

    def still_jpeg(self, width: int | None = None) -> bytes | None:
        """The latest picture: from the detection stream while it streams (already
        decoded), else from the main stream (which may decode a keyframe for it)."""
        detect = self.detect_source
        # Only a small picture from the detection stream: a full-size one (a snapshot kept
        # as evidence) is the main stream's. A letterboxed one is not the camera's picture.
        usable = (
            detect is not None
            and width is not None
            and width <= (detect.stats.width or 0)
            and not self._fallback
            and self._content in (None, FULL_FRAME)
        )
        if usable and detect is not None and (still := detect.still_jpeg(width)):
            return still
        return self.source.still_jpeg(width)

    # Source threads -------------------------------------------------------------------

    def on_state(self, state: SourceState, error: SourceError | None) -> None:
        if state is not SourceState.STREAMING:
            # What the pre-roll holds is from before the outage: a clip begun while the
            # main stream is down must not pass it off as the event (the substream may
            # still see motion meanwhile).
            self.recorder.drop_preroll()
        self._emit(StateChanged(state, error))

    def _on_main_frame(self, frame: AnalysisFrame) -> None:
        if self.detect_source is None or self._fallback:
            self._note_keyframe_rate(self.source)
            self.frames.put(frame)

    def _on_detect_frame(self, frame: AnalysisFrame) -> None:
        if self._fallback:
            return
        assert self.detect_source is not None
        self._note_keyframe_rate(self.detect_source)
        if self._content_frames < CONTENT_FRAMES:
            found = content_box(frame.gray)
            self._content = found if self._content is None else union_box(self._content, found)
            self._content_frames += 1
        assert self._content is not None
        x0, y0, x1, y1 = self._content
        if self._content != FULL_FRAME:
            # Letterboxed: analyse only the picture, so boxes are fractions of the main one.
            height, width = frame.gray.shape
            gray = frame.gray[
                round(y0 * height) : round(y1 * height), round(x0 * width) : round(x1 * width)
            ]
            frame = AnalysisFrame(
                frame.seq, frame.time, frame.wall, np.ascontiguousarray(gray), frame.burst
            )
        self.frames.put(frame)

    def _on_detect_state(self, state: SourceState, error: SourceError | None) -> None:
        """The detection stream failed: decode the main one until it is back."""
        if state is SourceState.FAILED and not self._fallback:
            self._fallback = True
            self.fallbacks += 1
            _LOGGER.warning(  # once per outage: the source retries without logging
                "Detection stream of %s failed (%s); detecting on the main stream meanwhile",
                self.recorder.camera,
                error.message if error else "stopped",
            )
            self.watcher.relearn()
            self.source.set_decode(True)
            self._emit(DetectionStreamChanged(True, error))
        elif state is SourceState.STREAMING:
            self._content, self._content_frames = None, 0  # it may be back in another shape
            if self._fallback:
                self._fallback = False
                _LOGGER.info("Detection stream of %s is back", self.recorder.camera)
                self.source.set_decode(False)
                self.watcher.relearn()
                self._emit(DetectionStreamChanged(False))

    # Motion thread --------------------------------------------------------------------

    def _on_motion(self, change: Change, event: MotionEvent, result: MotionResult | None) -> None:
        self._record(change, event, result)
        if change is not Change.UPDATED:
            self._emit(MotionChanged(change, event))
        if self.classifier is not None and change is not Change.ENDED and result is not None:
            # After MotionChanged: a label never comes out before its event's start.
            self._classify(self.classifier, event, result)

    def _classify(
        self, classifier: ClassifierWorker, event: MotionEvent, result: MotionResult
    ) -> None:
        """Hand a crop of this frame's motion to the classifier when the event's plan says
        one is due. Never waits for the classifier; nothing here breaks the motion thread."""
        if result.box is None or classifier.state not in (WorkerState.LOADING, WorkerState.READY):
            return  # unavailable or stopped: no picture converted for nothing
        now = time.monotonic()
        counts = self._classify_stats
        with self._label_lock:
            crops = self._labels.get(event.id)
            if crops is None:
                crops = self._labels[event.id] = _EventCrops(EventLabel(self.crop_plan))
                while len(self._labels) > LABELLED_EVENTS:
                    self._labels.popitem(last=False)
            if not crops.label.due(now):
                return
            if classifier.busy:  # skipped before a picture is converted for nothing
                crops.label.submitted(now, accepted=False)
                counts.skipped += 1
                return
        try:
            picture = self._colour_picture(result.box)
        except Exception:  # a label is not worth a camera's motion thread
            _LOGGER.debug("No colour picture for a crop on %s", self.recorder.camera, exc_info=True)
            counts.picture_errors += 1
            picture = None
        else:
            if picture is None:
                counts.no_picture += 1
        accepted = False
        if picture is not None:
            rgb, box = picture
            key = f"{self.recorder.camera}/{event.id}"
            accepted = classifier.submit(rgb, box, lambda found: self._on_crop(event, found), key)
        with self._label_lock:
            crops.label.submitted(now, accepted)  # a refused one is retried shortly
        if accepted:
            counts.submitted += 1
        elif picture is not None:
            counts.skipped += 1

    def _colour_picture(self, box: Box) -> tuple[RgbImage, Box] | None:
        """The latest colour picture and where `box` (0-1 of the main picture) is in it:
        the detection stream's while it streams (already decoded; its letterbox bars are
        not in the main picture), else the main stream's (a keyframe decoded for it when
        the main stream is only demuxed)."""
        detect = self.detect_source
        content = self._content
        if (
            detect is not None
            and not self._fallback
            and detect.state is SourceState.STREAMING
            and (rgb := detect.still_rgb(CLASSIFY_WIDTH)) is not None
        ):
            if content is None or content == FULL_FRAME:
                return rgb, box
            x0, y0, x1, y1 = content
            width, height = x1 - x0, y1 - y0
            bx0, by0, bx1, by1 = box
            mapped = (x0 + bx0 * width, y0 + by0 * height, x0 + bx1 * width, y0 + by1 * height)
            return rgb, mapped
        rgb = self.source.still_rgb(CLASSIFY_WIDTH)
        return None if rgb is None else (rgb, box)

    # Classifier thread ------------------------------------------------------------------

    def _on_crop(self, event: MotionEvent, found: CropResult) -> None:
        """A crop of `event` came back: its label, when that changed, goes to the clip and
        out (in the worker's order, as the worker calls back one result at a time)."""
        counts = self._classify_stats
        classification = found.classification
        if classification is None:
            counts.failed += 1
            _LOGGER.debug("Crop of %s failed: %s", found.key, found.error)
            return
        with self._label_lock:
            crops = self._labels.get(event.id)
            if crops is None:
                return  # pragma: no cover - forgotten: LABELLED_EVENTS newer events since
            crops.label.add(classification)
            best = crops.label.best(self._label_threshold)
            assert best is not None  # a result was just added
            label, confidence = best[0], round(best[1], 3)
            person = crops.label.person
            if crops.sent == (label, confidence) and crops.person == person:
                return
            crops.person = person
            if crops.sent is None:
                counts.events_labelled += 1
            crops.sent = (label, confidence)
        try:
            self.recorder.set_label(event.id, label.value, confidence, person)
        except OSError as error:  # the index could not be written: the label still goes out
            _LOGGER.warning("Could not store the label of %s: %s", found.key, error)
        self._emit(LabelChanged(event, label, confidence))

    def _record(self, change: Change, event: MotionEvent, result: MotionResult | None) -> None:
        """The record-on-motion policy: which events get a clip, and its thumbnail."""
        if change is Change.STARTED and self._should_record():
            reason = "alarm" if self.armed else "motion"
            start = wall_time(event.start)
            self.recorder.begin(reason, event.id, start - self.recorder.preroll, motion_start=start)
        elif change is Change.ENDED:
            self.recorder.end(event.id, wall_time(event.last_motion))
        if change is Change.ENDED or result is None or result.box is None:
            return
        self.recorder.set_box(event.id, event.box)
        # The thumbnail is the frame with most motion, preferring a subject near the
        # middle: someone entering at the edge scores high but shows little (and
        # the media browser crops thumbnails to their centre).
        x0, _, x1, _ = result.box
        score = result.score * (1.0 - abs((x0 + x1) / 2 - 0.5))
        best_id, best = self._thumbnail
        better = best_id != event.id or score > best
        if not better or not self.recorder.recording:
            return
        if still := self.still_jpeg(THUMBNAIL_WIDTH):
            self.recorder.set_thumbnail(event.id, still)
            self._thumbnail = (event.id, score)

    def _should_record(self) -> bool:
        mode = self.policy.mode
        if not self.recording or mode is RecordMode.OFF:
            return False
        if mode is RecordMode.ALARMS and not self.armed:
            return False
        if self.source.state is not SourceState.STREAMING:
            return False  # nothing to record: the main stream is down (see on_state)
        return self._disk_ok()

    def _disk_ok(self) -> bool:
        """The disk-full latch: after a full disk, record again once there is room."""
        if self.disk_full:
            if not self.store.disk_ok(self.retention):
                return False
            self.disk_full = False
            self._emit(DiskRecovered())
        return True

    # Writer thread --------------------------------------------------------------------

    def _on_clip(self, clip: Clip) -> None:
        self._emit(ClipSaved(clip))

    def _on_write_error(self, error: OSError) -> None:
        full = error.errno == errno.ENOSPC
        if full:
            self.disk_full = True
        self._emit(WriteFailed(error, full))

    def _emit(self, output: Output) -> None:
        try:
            self.on_output(output)
        except Exception:  # a broken consumer must not stop a camera thread
            _LOGGER.exception("Camera output handler failed on %s", type(output).__name__)
