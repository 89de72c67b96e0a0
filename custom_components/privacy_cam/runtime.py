"""One camera at run time: owns the engine source and motion worker, bridges them to HA."""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import (
    CONF_KIND,
    DOMAIN,
    EVENT_ALARM,
    EVENT_CLIP_SAVED,
    EVENT_MOTION_ENDED,
    EVENT_MOTION_STARTED,
    RECORD_ALARMS,
    RECORD_OFF,
    UNREACHABLE_ISSUE_DELAY,
    URL_KINDS,
)
from .engine import ErrorKind, Source, SourceError, SourceState
from .engine.motion.detector import MotionResult, MotionSettings
from .engine.motion.events import Change, MotionEvent
from .engine.motion.learning import NuisanceMemory, observe_clip
from .engine.motion.watcher import MotionWatcher
from .engine.recording.clipstore import CAMERA_RE, Clip, camera_slug
from .engine.recording.recorder import ClipRecorder
from .storage import DATA_FOLDER_LOCK, SharedStore

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)
STATE_VERSION = 1
LEARNED_KEY = "learned_regions"
FOLDER_KEY = "folder"  # the camera's clip folder, chosen once


@dataclass(frozen=True, slots=True)
class RecordingOptions:
    mode: str
    preroll: float
    postroll: float
    max_length: float


@dataclass(slots=True)
class CameraFlags:
    """User switches that must survive restarts (privacy mode before any frame)."""

    motion_detection: bool = True
    armed: bool = False
    privacy_mode: bool = False
    recording: bool = True


type MotionListener = Callable[[str, dict[str, Any]], None]


class CameraRuntime:
    """Starts and stops the camera, turns thread callbacks into loop state."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        source: Source,
        settings: MotionSettings,
        shared: SharedStore,
        recording: RecordingOptions,
        *,
        camera: str,
    ) -> None:
        """`camera` is the clip folder from `async_camera_folder` (never the title)."""
        self.hass = hass
        self.entry = entry
        self.source = source
        self.shared = shared
        self.record_options = recording
        self.camera = camera
        self.watcher = MotionWatcher(source, settings, self._on_motion)
        self.recorder = ClipRecorder(
            source,
            shared.store,
            self.camera,
            self._on_clip,
            self._on_write_error,
            preroll=recording.preroll,
            postroll=recording.postroll,
            max_length=recording.max_length,
            owner=entry.entry_id,
        )
        # This camera's clips are the ones it recorded (owner), never a folder's.
        self.last_clip: Clip | None = next(iter(shared.store.clips(owner=entry.entry_id)), None)
        self.disk_full = False
        self._thumbnail_score: tuple[str | None, float] = (None, 0.0)
        self.flags = CameraFlags()
        self.learning = NuisanceMemory()
        self.available = False
        self.last_error: SourceError | None = None
        self.motion = False
        self.alarm = False
        self.last_motion: datetime | None = None
        self.current_event: MotionEvent | None = None
        self._alarm_event_id: str | None = None
        self._store = _state_store(hass, entry.entry_id)
        self._listeners: list[CALLBACK_TYPE] = []
        self._motion_listeners: list[MotionListener] = []
        self._issue_timer: CALLBACK_TYPE | None = None
        self._logged_down = False
        self._closed = True
        source.add_listener(self)

    @property
    def issue_id(self) -> str:
        return f"camera_unreachable_{self.entry.entry_id}"

    @property
    def is_on(self) -> bool:
        """False in privacy mode: no frame is pulled at all."""
        return not self.flags.privacy_mode

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
        if stored := await self._store.async_load():
            self.flags = CameraFlags(
                **{k: bool(v) for k, v in stored.items() if k in CameraFlags.__slots__}
            )
            self.learning = NuisanceMemory.from_dict(stored.get(LEARNED_KEY))
        self.watcher.enabled = self.flags.motion_detection
        self.watcher.set_learned(self.learning.learned_grid(), self.learning.max_area)

    async def async_start(self) -> None:
        """Pull frames (never in privacy mode)."""
        if self.flags.privacy_mode:
            return
        self._closed = False
        await self.hass.async_add_executor_job(self._start_threads)
        self._async_notify()

    def _start_threads(self) -> None:
        self.recorder.start()
        self.source.start()
        self.watcher.start()

    async def async_stop(self) -> None:
        """Stop pulling frames; threads end within 2 s and buffers are dropped."""
        self._closed = True
        self._async_cancel_issue_timer()
        await self.hass.async_add_executor_job(self._stop_threads)
        self.available = False
        self._async_end_motion()
        self._async_notify()

    def _stop_threads(self) -> None:
        self.watcher.stop()
        self.source.stop()
        self.recorder.stop()  # writes what was being recorded, drops the pre-roll

    async def async_unload(self) -> None:
        await self.async_stop()
        self.recorder.close()
        await self._store.async_save(self._flags_dict())
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        ir.async_delete_issue(self.hass, DOMAIN, self.disk_issue_id)

    @property
    def disk_issue_id(self) -> str:
        return f"disk_full_{self.entry.entry_id}"

    # User switches -------------------------------------------------------------------

    async def async_set_flag(self, name: str, value: bool) -> None:
        setattr(self.flags, name, value)
        await self._store.async_save(self._flags_dict())
        if name == "privacy_mode":
            if value:
                await self.async_stop()
            else:
                await self.async_start()
        elif name == "motion_detection":
            await self.hass.async_add_executor_job(self.watcher.set_enabled, value)
        elif name == "armed" and not value and self.alarm:
            # Disarming silences a running alarm at once.
            self.alarm = False
            self._alarm_event_id = None
        self._async_notify()

    def _flags_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self.flags, name) for name in CameraFlags.__slots__}
        data[LEARNED_KEY] = self.learning.as_dict()
        data[FOLDER_KEY] = self.camera
        return data

    # Local learning ------------------------------------------------------------------

    async def async_report_false_alarm(self, clip: Clip) -> None:
        """Learn what moved in place in the clip, then mark it; nothing leaves the box.

        The clip is analysed again (in an executor) for the cells where motion stayed
        in place. A clip teaches once: reporting it again only marks it. It is marked
        last, so a clip shown as a false alarm has taught what it could.
        """
        try:
            await self._async_learn_from(clip)
        finally:
            await self.hass.async_add_executor_job(
                lambda: self.shared.store.update(clip.id, false_alarm=True)
            )

    async def _async_learn_from(self, clip: Clip) -> None:
        if self.learning.taught(clip.id):
            return
        path = await self.hass.async_add_executor_job(self.shared.store.file_for, clip.id)
        if path is None:
            return  # the file is gone: nothing to learn from
        motion = clip.motion
        window = (motion[0], motion[1]) if motion is not None and len(motion) == 2 else None
        try:
            seen = await self.hass.async_add_executor_job(
                observe_clip, path, self.watcher.settings, window
            )
        except Exception:  # noqa: BLE001 - a broken clip must not break the report
            _LOGGER.warning("Could not analyse clip %s to learn from it", clip.id)
            return
        if self.learning.learn(clip.id, seen) is None:
            return  # the same clip was reported twice at once: it taught already
        await self.hass.async_add_executor_job(
            self.watcher.set_learned, self.learning.learned_grid(), self.learning.max_area
        )
        await self._store.async_save(self._flags_dict())
        self._async_notify()

    async def async_reset_learning(self) -> None:
        self.learning.reset()
        await self.hass.async_add_executor_job(self.watcher.set_learned, None)
        await self._store.async_save(self._flags_dict())
        self._async_notify()

    @callback
    def async_update_settings(self, settings: MotionSettings) -> None:
        self.watcher.update_settings(settings)
        self._async_notify()

    # Source thread -> loop ---------------------------------------------------------

    def on_state(self, state: SourceState, error: SourceError | None) -> None:
        """Called on the source thread."""
        if not self._closed:
            self.hass.loop.call_soon_threadsafe(self._async_on_state, state, error)

    @callback
    def _async_on_state(self, state: SourceState, error: SourceError | None) -> None:
        if self._closed:
            return
        if state == SourceState.STREAMING:
            self._async_online()
        elif state == SourceState.FAILED and error is not None:
            self._async_offline(error)

    @callback
    def _async_online(self) -> None:
        self.available = True
        self.last_error = None
        self._async_cancel_issue_timer()
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        if self._logged_down:
            _LOGGER.info("Camera %s is back online", self.entry.title)
            self._logged_down = False
        self._async_notify()

    @callback
    def _async_offline(self, error: SourceError) -> None:
        self.available = False
        self.last_error = error
        if not self._logged_down:
            # Once per outage; the message is scrubbed of credentials by the engine.
            _LOGGER.warning("Camera %s is unavailable: %s", self.entry.title, error.message)
            self._logged_down = True
        if error.kind == ErrorKind.INVALID_AUTH and self.entry.data[CONF_KIND] in URL_KINDS:
            self.entry.async_start_reauth(self.hass)
        if self._issue_timer is None:
            self._issue_timer = async_call_later(
                self.hass, UNREACHABLE_ISSUE_DELAY, self._async_raise_issue
            )
        self._async_notify()

    @callback
    def _async_raise_issue(self, _now: object) -> None:
        self._issue_timer = None
        if self.available or self._closed:
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="camera_unreachable",
            translation_placeholders={
                "name": self.entry.title,
                "error": self.last_error.message if self.last_error else "",
            },
        )

    @callback
    def _async_cancel_issue_timer(self) -> None:
        if self._issue_timer is not None:
            self._issue_timer()
            self._issue_timer = None

    # Motion worker thread -> loop ------------------------------------------------------

    def _on_motion(self, change: Change, event: MotionEvent, result: MotionResult | None) -> None:
        """Called on the motion thread; only starts and ends cross to the loop."""
        self._record(change, event, result)
        if change is not Change.UPDATED:
            self.hass.loop.call_soon_threadsafe(self._async_on_motion, change, event)

    def _record(self, change: Change, event: MotionEvent, result: MotionResult | None) -> None:
        """Clip control, on the motion thread (the recorder is thread-safe)."""
        if change is Change.STARTED and self._should_record():
            reason = "alarm" if self.flags.armed else "motion"
            since = _wall_ts(event.start) - self.recorder.preroll
            self.recorder.begin(reason, event.id, since, motion_start=_wall_ts(event.start))
        elif change is Change.ENDED:
            self.recorder.end(event.id, _wall_ts(event.last_motion))
        if change is Change.ENDED or result is None or result.box is None:
            return
        self.recorder.set_box(event.id, event.box)
        # The thumbnail is the frame with most motion, preferring a subject near the
        # middle: someone entering at the edge scores high but shows little (and
        # the media browser crops thumbnails to their centre).
        x0, _, x1, _ = result.box
        score = result.score * (1.0 - abs((x0 + x1) / 2 - 0.5))
        best_id, best = self._thumbnail_score
        better = best_id != event.id or score > best
        if better and self.recorder.recording and (still := self.source.still_jpeg(640)):
            self.recorder.set_thumbnail(event.id, still)
            self._thumbnail_score = (event.id, score)

    def _should_record(self) -> bool:
        mode = self.record_options.mode
        if not self.flags.recording or mode == RECORD_OFF:
            return False
        if mode == RECORD_ALARMS and not self.flags.armed:
            return False
        return self._disk_ok()

    def _disk_ok(self) -> bool:
        """After a full disk, record again (and drop the repair issue) once there is room."""
        if self.disk_full:
            if not self.shared.store.disk_ok(self.shared.retention):
                return False
            self.disk_full = False
            self.hass.loop.call_soon_threadsafe(
                ir.async_delete_issue, self.hass, DOMAIN, self.disk_issue_id
            )
        return True

    async def async_record_clip(self, duration: float) -> str | None:
        """A manual clip of `duration` seconds from now; None while the disk is full."""
        if not await self.hass.async_add_executor_job(self._disk_ok):
            return None
        return await self.hass.async_add_executor_job(
            self.recorder.begin, "manual", None, time.time(), duration
        )

    # Writer thread -> loop ----------------------------------------------------------

    def _on_clip(self, clip: Clip) -> None:
        self.hass.loop.call_soon_threadsafe(self._async_clip_saved, clip)

    def _on_write_error(self, error: OSError) -> None:
        if error.errno == errno.ENOSPC:
            self.disk_full = True
            self.hass.loop.call_soon_threadsafe(self._async_disk_full)

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
            },
        )
        self.hass.async_add_executor_job(self.shared.store.enforce, self.shared.retention)
        self._async_notify()

    @callback
    def _async_disk_full(self) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.disk_issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="disk_full",
            translation_placeholders={"name": self.entry.title},
        )

    @callback
    def _async_on_motion(self, change: Change, event: MotionEvent) -> None:
        if change is Change.STARTED:
            if self._closed:
                return
            self.current_event = event
            self.motion = True
            self.last_motion = _wall(event.start)
            self._fire(EVENT_MOTION_STARTED, event)
            if self.flags.armed and self.flags.motion_detection:
                self.alarm = True
                self._alarm_event_id = event.id
                self._fire(EVENT_ALARM, event)
        elif change is Change.ENDED and self.current_event is event:
            self._async_end_motion()
        self._async_notify()

    @callback
    def _async_end_motion(self) -> None:
        event, self.current_event = self.current_event, None
        self.motion = False
        if event is None:
            return
        self.last_motion = _wall(event.last_motion)
        if self._alarm_event_id == event.id:
            self.alarm = False
            self._alarm_event_id = None
        self._fire(EVENT_MOTION_ENDED, event)

    @callback
    def _fire(self, event_type: str, event: MotionEvent) -> None:
        data: dict[str, Any] = {
            "entity_id": self.camera_entity_id,
            "camera": self.entry.title,
            "event_id": event.id,
            "score": round(event.peak_score, 3),
            "box": [round(v, 4) for v in event.box],
        }
        self.hass.bus.async_fire(f"{DOMAIN}_{event_type}", data)
        for listener in list(self._motion_listeners):
            listener(event_type, data)

    @callback
    def _async_notify(self) -> None:
        for update in list(self._listeners):
            update()


def _wall_ts(monotonic: float) -> float:
    return time.time() - max(0.0, time.monotonic() - monotonic)


def media_content_id(clip_id: str) -> str:
    return f"media-source://{DOMAIN}/clip/{clip_id}"


def _state_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The camera's switches, learning and clip folder, kept per config entry."""
    return Store(hass, STATE_VERSION, f"{DOMAIN}.{entry_id}")


async def async_camera_folder(hass: HomeAssistant, entry: ConfigEntry, shared: SharedStore) -> str:
    """The camera's clip folder: chosen once, then read back, never re-derived.

    A new camera never takes a folder that holds clips of another camera (or of a
    removed one, or clips without an owner), nor one another camera already has.
    A camera set up before folders were remembered keeps the folder it had then,
    derived from its name as before, and claims the clips without an owner in it.
    """
    lock = hass.data.setdefault(DATA_FOLDER_LOCK, asyncio.Lock())
    async with lock:
        state = _state_store(hass, entry.entry_id)
        stored = await state.async_load() or {}
        folder = stored.get(FOLDER_KEY)
        if not isinstance(folder, str) or not CAMERA_RE.fullmatch(folder):
            # Stored switches without a folder: a camera from before (migration).
            folder = await _async_choose_folder(hass, entry, shared, legacy=bool(stored))
            await state.async_save({**stored, FOLDER_KEY: folder})
        shared.cameras[folder] = entry.entry_id
        await hass.async_add_executor_job(shared.store.claim, folder, entry.entry_id)
    return folder


async def _async_choose_folder(
    hass: HomeAssistant, entry: ConfigEntry, shared: SharedStore, *, legacy: bool
) -> str:
    base = camera_slug(entry.title)
    suffix = camera_slug(entry.entry_id)
    candidates = [
        base,
        f"{base[:57]}_{suffix[-6:]}",
        f"{base[: max(1, 63 - len(suffix))]}_{suffix}"[:64],
    ]
    taken = {slug for slug, owner in shared.cameras.items() if owner != entry.entry_id}
    live = set(shared.cameras.values())
    for other in hass.config_entries.async_entries(DOMAIN):
        if other.entry_id == entry.entry_id or other.entry_id in live:
            continue
        # Cameras not set up now (disabled, failing) keep their folders too.
        data = await _state_store(hass, other.entry_id).async_load()
        if data and isinstance(folder := data.get(FOLDER_KEY), str):
            taken.add(folder)
    allowed: set[str | None] = {entry.entry_id, None} if legacy else {entry.entry_id}
    for folder in candidates:
        if folder in taken:
            continue
        owners = await hass.async_add_executor_job(shared.store.folder_owners, folder)
        if owners <= allowed:
            return folder
    return candidates[-1]


def _wall(monotonic: float) -> datetime:
    """Wall-clock time of a monotonic timestamp from the engine."""
    return dt_util.utcnow() - timedelta(seconds=max(0.0, time.monotonic() - monotonic))
