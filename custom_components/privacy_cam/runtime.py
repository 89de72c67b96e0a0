"""One camera in Home Assistant: its pipeline's outputs become entity state and bus events.

The camera itself (threads, motion, clips) is `engine/pipeline.py`. This is the
loop side: it starts and stops the pipeline in an executor, applies the user's
switches, and turns the pipeline's outputs into state, events and repair issues.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .classifier import LABEL_DEADLINE, LabelOptions, labels_available, person_score
from .const import (
    DOMAIN,
    EVENT_ALARM,
    EVENT_CLIP_SAVED,
    EVENT_MOTION_ENDED,
    EVENT_MOTION_LABELLED,
    EVENT_MOTION_STARTED,
)
from .engine import Source, SourceError, SourceState
from .engine.classify import ClassifierWorker, Label
from .engine.motion.detector import MotionSettings
from .engine.motion.events import Change, MotionEvent
from .engine.motion.learning import NuisanceMemory
from .engine.pipeline import (
    CameraPipeline,
    ClipSaved,
    DetectionStreamChanged,
    DiskRecovered,
    LabelChanged,
    MotionChanged,
    Output,
    RecordPolicy,
    StateChanged,
    WriteFailed,
    wall_time,
)
from .engine.recording.clipstore import Clip
from .flags import FLAG_NAMES, CameraFlags, CameraState
from .issues import CameraIssues
from .media_source import media_content_id
from .storage import SharedStore

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

type MotionListener = Callable[[str, dict[str, Any]], None]


class CameraRuntime:
    """Starts and stops the camera's pipeline; its outputs arrive here on the loop."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        source: Source,
        settings: MotionSettings,
        shared: SharedStore,
        recording: RecordPolicy,
        *,
        camera: str,
        detect_source: Source | None = None,
        classifier: ClassifierWorker | None = None,
        labels: LabelOptions | None = None,
    ) -> None:
        """`camera` is the clip folder from `async_camera_folder` (never the title);
        `classifier` the instance's worker (None: no labels, as without ncnn)."""
        self.hass = hass
        self.entry = entry
        self.shared = shared
        self.camera = camera
        self.labels = labels or LabelOptions()
        self.pipeline = CameraPipeline(
            source,
            shared.store,
            camera,
            settings,
            self._on_output,
            policy=recording,
            retention=shared.retention,
            owner=entry.entry_id,
            detect_source=detect_source,
            classifier=classifier,
            label_threshold=self.labels.threshold,
        )
        self.saved = CameraState(hass, entry.entry_id, camera)
        self.issues = CameraIssues(hass, entry)
        # This camera's clips are the ones it recorded (owner), never a folder's.
        self.last_clip: Clip | None = next(iter(shared.store.clips(owner=entry.entry_id)), None)
        self.available = False
        self.motion = False
        self.alarm = False
        self.last_motion: datetime | None = None
        self.current_event: MotionEvent | None = None
        # The open event's best label so far (None: not classified yet, or no detector).
        self.label: Label | None = None
        self.confidence: float | None = None
        self._alarm_event_id: str | None = None
        self._alarmed_event_id: str | None = None  # the last event that raised one
        self._label_deadline: CALLBACK_TYPE | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._motion_listeners: list[MotionListener] = []
        self._closed = True

    # Kept state, for entities, services, diagnostics and tests.
    @property
    def flags(self) -> CameraFlags:
        return self.saved.flags

    @property
    def learning(self) -> NuisanceMemory:
        return self.saved.learning

    @property
    def is_on(self) -> bool:
        """False in privacy mode: no frame is pulled at all."""
        return not self.flags.privacy_mode

    @property
    def labels_available(self) -> bool:
        """Whether events get person/vehicle/animal labels (see `classifier.py`)."""
        return labels_available(self.pipeline.classifier)

    @property
    def camera_entity_id(self) -> str | None:
        return er.async_get(self.hass).async_get_entity_id(
            "camera", DOMAIN, f"{self.entry.entry_id}_camera"
        )

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> Callable[[], None]:
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_add_motion_listener(self, listener: MotionListener) -> Callable[[], None]:
        self._motion_listeners.append(listener)
        return lambda: self._motion_listeners.remove(listener)

    # Life cycle ------------------------------------------------------------------------

    async def async_load_flags(self) -> None:
        await self.saved.async_load()
        self.pipeline.watcher.enabled = self.flags.motion_detection
        self._apply_flags()
        await self.saved.async_apply_learning(self.pipeline)

    def _apply_flags(self) -> None:
        """The switches that steer the pipeline's record-on-motion policy."""
        self.pipeline.recording = self.flags.recording
        self.pipeline.armed = self.flags.armed

    async def async_start(self) -> None:
        """Pull frames (never in privacy mode)."""
        if self.flags.privacy_mode:
            return
        self._closed = False
        await self.hass.async_add_executor_job(self.pipeline.start)
        self._async_notify()

    async def async_stop(self) -> None:
        """Stop pulling frames; open clips are on disk and buffers dropped when it returns."""
        self._closed = True
        self.issues.async_cancel()
        self.issues.async_detection_stream(False)  # a stopped camera has no stream to fix
        await self.hass.async_add_executor_job(self.pipeline.stop)
        self.available = False
        self._async_end_motion()
        self._async_notify()

    async def async_unload(self) -> None:
        await self.async_stop()
        self.pipeline.close()
        await self.saved.async_save()
        self.issues.async_remove()

    # User switches -------------------------------------------------------------------

    async def async_set_flag(self, name: str, value: bool) -> None:
        if name not in FLAG_NAMES:
            raise ValueError(f"unknown camera flag {name!r}")
        setattr(self.flags, name, value)
        self._apply_flags()
        await self.saved.async_save()
        if name == "privacy_mode":
            await (self.async_stop() if value else self.async_start())
        elif name == "motion_detection":
            await self.hass.async_add_executor_job(self.pipeline.watcher.set_enabled, value)
        elif name == "armed" and not value and self.alarm:
            # Disarming silences a running alarm at once.
            self.alarm = False
            self._alarm_event_id = None
        self._async_notify()

    @callback
    def async_update_settings(self, settings: MotionSettings) -> None:
        self.pipeline.update_settings(settings)
        self._async_notify()

    async def async_record_clip(self, duration: float) -> str | None:
        """A manual clip of `duration` seconds from now; None while the disk is full."""
        return await self.hass.async_add_executor_job(self.pipeline.record_clip, duration)

    # Local learning ------------------------------------------------------------------

    async def async_report_false_alarm(self, clip: Clip) -> None:
        """Learn from the clip (see `CameraState.async_learn_from`), then mark it.

        It is marked last, so a clip shown as a false alarm has taught what it could.
        A clip in which the detector saw a person (`person_score`) teaches nothing (the
        caller confirmed it was no person): local learning never learns to ignore
        people. Nothing leaves the box.
        """
        # As it is now: a label may have come since the caller read it.
        clip = self.shared.store.get(clip.id) or clip
        try:
            if person_score(clip) is None and await self.saved.async_learn_from(
                clip, self.shared.store, self.pipeline
            ):
                self._async_notify()
        finally:
            await self.hass.async_add_executor_job(
                lambda: self.shared.store.update(clip.id, false_alarm=True)
            )

    async def async_reset_learning(self) -> None:
        await self.saved.async_reset_learning(self.pipeline)
        self._async_notify()

    # Pipeline outputs ----------------------------------------------------------------

    def _on_output(self, output: Output) -> None:
        """Called on the camera's threads; everything else happens on the loop."""
        if isinstance(output, StateChanged) and self._closed:
            return
        self.hass.loop.call_soon_threadsafe(self._async_on_output, output)

    @callback
    def _async_on_output(self, output: Output) -> None:
        match output:
            case StateChanged(state=SourceState.STREAMING) if not self._closed:
                self.available = True
                self.issues.async_online()
            case StateChanged(state=SourceState.FAILED, error=SourceError() as error) if (
                not self._closed
            ):
                self.available = False
                self.issues.async_offline(error)
            case MotionChanged(change=Change.STARTED, event=event) if not self._closed:
                self._async_start_motion(event)
            case MotionChanged(change=Change.ENDED, event=event) if self.current_event is event:
                self._async_end_motion()
            case LabelChanged(event=event, label=label, confidence=confidence) if (
                self.current_event is event
            ):
                self._async_label(event, label, confidence)
            case ClipSaved(clip=clip):
                self._async_clip_saved(clip)
            case WriteFailed(disk_full=True):
                self.issues.async_disk_full()
            case DiskRecovered():
                self.issues.async_disk_ok()
            case DetectionStreamChanged(failed=failed, error=error) if not self._closed:
                self.issues.async_detection_stream(failed, (error and error.message) or "no video")
            case _:
                return
        self._async_notify()

    @callback
    def _async_start_motion(self, event: MotionEvent) -> None:
        self.current_event = event
        self.motion = True
        self.label = self.confidence = None
        self.last_motion = _wall(event.start)
        self._fire(EVENT_MOTION_STARTED, event)
        self._async_maybe_alarm(event)
        if self.labels.alarm_for is not None and self.labels_available:

            @callback
            def _async_no_label(_now: datetime) -> None:
                self._label_deadline = None
                if self.current_event is event and self.label is None:
                    self._async_maybe_alarm(event, unlabelled=True)
                    self._async_notify()

            self._label_deadline = async_call_later(self.hass, LABEL_DEADLINE, _async_no_label)

    @callback
    def _async_label(self, event: MotionEvent, label: Label, confidence: float) -> None:
        """The open event's label so far changed (a crop came back from the classifier)."""
        self.label, self.confidence = label, confidence
        self._fire(EVENT_MOTION_LABELLED, event)
        if self.labels.alarm_for is not None:  # "any motion" decided at the start
            self._async_maybe_alarm(event)

    @callback
    def _async_maybe_alarm(self, event: MotionEvent, *, unlabelled: bool = False) -> None:
        """Armed, detecting, and the event is what the user alarms for: any motion, or a
        label of "Raise the alarm for". Without a detector, or with no label in time
        (`unlabelled`, see `LABEL_DEADLINE`), every event alarms, as before the user
        opted in: a missed intruder costs more than a false alarm. One alarm per event,
        even after a disarm and re-arm during it."""
        if not (self.flags.armed and self.flags.motion_detection):
            return
        if self._alarmed_event_id == event.id:
            return
        wanted = self.labels.alarm_for
        labelled = self.labels_available and not unlabelled
        if wanted is not None and labelled and self.label not in wanted:
            return
        self.alarm = True
        self._alarm_event_id = self._alarmed_event_id = event.id
        self._fire(EVENT_ALARM, event)

    @callback
    def _async_end_motion(self) -> None:
        event, self.current_event = self.current_event, None
        self.motion = False
        if self._label_deadline is not None:
            self._label_deadline()
            self._label_deadline = None
        if event is None:
            return
        self.last_motion = _wall(event.last_motion)
        if self._alarm_event_id == event.id:
            self.alarm = False
            self._alarm_event_id = None
        self._fire(EVENT_MOTION_ENDED, event)
        self.label = self.confidence = None

    @callback
    def _async_clip_saved(self, clip: Clip) -> None:
        self.last_clip = clip
        self.hass.bus.async_fire(
            f"{DOMAIN}_{EVENT_CLIP_SAVED}",
            {
                "entity_id": self.camera_entity_id,
                "camera": self.entry.title,
                "clip_id": clip.id,
                "event_id": clip.event_id,
                "media_content_id": media_content_id(clip.id),
                "label": clip.label,
                "confidence": clip.confidence,
            },
        )
        self.hass.async_add_executor_job(self.shared.store.enforce, self.shared.retention)

    @callback
    def _fire(self, event_type: str, event: MotionEvent) -> None:
        data: dict[str, Any] = {
            "entity_id": self.camera_entity_id,
            "camera": self.entry.title,
            "event_id": event.id,
            "score": round(event.peak_score, 3),
            "box": [round(v, 4) for v in event.box],
            # The best label of the event so far: None until a crop was classified (or
            # with no detector), "none" when the detector found no person, vehicle or animal.
            "label": None if self.label is None else str(self.label),
            "confidence": None if self.confidence is None else round(self.confidence, 3),
        }
        self.hass.bus.async_fire(f"{DOMAIN}_{event_type}", data)
        for listener in list(self._motion_listeners):
            listener(event_type, data)

    @callback
    def _async_notify(self) -> None:
        for update in list(self._listeners):
            update()


def _wall(monotonic: float) -> datetime:
    """Wall-clock time of an engine (monotonic) timestamp."""
    return dt_util.utc_from_timestamp(wall_time(monotonic))
