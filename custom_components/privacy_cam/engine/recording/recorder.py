"""Motion and manual clips: pre-roll + event + post-roll, cut at keyframes, on disk as they happen.

The recorder takes a source's encoded output (H.264 packets, or JPEG stills
for MJPEG/snapshot cameras) through `add`, which the camera's pipeline
subscribes to the source, and keeps a pre-roll buffer. A clip that
begins takes the pre-roll and every item after it; the items go, in order, to
one writer thread that appends them to the clip's file as they arrive (see
`clipwriter`). Several clips may be open at once (a manual clip during a
motion event): each item goes to each. Finishing a clip closes its file,
makes it a faststart MP4 and adds it to the store.

An event's label (what moved, issue 15) may come while its clip is open, while it is
being finished, or after it was saved: `set_label` puts it on the open clips and
updates the index entries of the clips of that event already saved.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..sources.frames import Box, EncodedPacket, JpegFrame, StreamInfo
from ..sources.source import Source
from .clipstore import Clip, ClipStore
from .clipwriter import ClipWriter, JpegWriter, RemuxWriter
from .preroll import PrerollBuffer

_LOGGER = logging.getLogger(__name__)

DEFAULT_PREROLL = 5.0
DEFAULT_POSTROLL = 5.0
DEFAULT_MAX_LENGTH = 120.0
# How long stop() waits for the writer to close the open clips (HA's stop stage
# allows 100 s for every integration together).
STOP_TIMEOUT = 30.0
# Events whose label and saved clips are remembered, for a label that comes late.
LABELLED_EVENTS = 16

type Item = EncodedPacket | JpegFrame
type ClipCallback = Callable[[Clip], None]
type ErrorCallback = Callable[[OSError], None]


@dataclass(slots=True, eq=False)  # each clip is itself: compared by identity
class _Active:
    clip_id: str
    reason: str
    event_id: str | None
    part: int
    since: float  # the wall time asked for: a manual clip lasts `duration` from here
    duration: float | None  # manual clips end by themselves
    stop_at: float | None = None  # wall time; None while the event goes on
    start: float | None = None  # wall time of the first item (a keyframe)
    last: float = 0.0  # wall time of the latest item
    thumbnail: bytes | None = None
    box: Box | None = None
    motion_start: float | None = None  # wall times of the event's motion
    motion_end: float | None = None
    label: str | None = None
    confidence: float | None = None
    person: float | None = None
    stream: StreamInfo | None = None  # of the part's first packet
    origin: float | None = None  # wall time of the clip's first keyframe (its first part)

    def next_part(self, start: float | None) -> _Active:
        """The event goes on in a new clip from `start` (wall time of a keyframe; None:
        from the next keyframe)."""
        return _Active(
            uuid.uuid4().hex[:12],
            self.reason,
            self.event_id,
            self.part + 1,
            self.since,
            self.duration,
            self.stop_at,
            start,
            origin=self.origin,
            thumbnail=self.thumbnail,
            box=self.box,
            motion_start=self.motion_start,
            motion_end=self.motion_end,
            label=self.label,
            confidence=self.confidence,
            person=self.person,
        )


def _other_stream(active: _Active, item: Item) -> bool:
    """Is this packet of a stream another clip must hold (after a reconnect, the
    camera's codec, size or parameter sets changed)?"""
    if not isinstance(item, EncodedPacket) or item.info is None or active.stream is None:
        return False
    # Codec and parameter sets (which hold the picture size): a session's packets all
    # carry the same; another session of the same camera settings carries equal ones.
    old, new = active.stream, item.info
    return (old.codec, old.extradata) != (new.codec, new.extradata)


@dataclass(frozen=True, slots=True)
class _Write:
    clip_id: str
    item: Item


@dataclass(frozen=True, slots=True)
class _Finish:
    active: _Active


type _Job = _Write | _Finish


class ClipRecorder:
    """One per camera. Methods are thread-safe; callbacks run on the writer thread."""

    def __init__(
        self,
        source: Source,  # read for the stream's info, its frame rate and a fallback thumbnail
        store: ClipStore,
        camera: str,
        on_clip: ClipCallback,
        on_error: ErrorCallback | None = None,
        *,
        preroll: float = DEFAULT_PREROLL,
        postroll: float = DEFAULT_POSTROLL,
        max_length: float = DEFAULT_MAX_LENGTH,
        owner: str | None = None,
    ) -> None:
        self.source = source
        self.store = store
        self.camera = camera
        self.owner = owner  # recorded in every clip's index entry
        self.on_clip = on_clip
        self.on_error = on_error
        self.postroll = postroll
        self.max_length = max_length
        self.buffer: PrerollBuffer[Any] = PrerollBuffer(preroll)
        self._active: list[_Active] = []
        self._lock = threading.Lock()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._writers: dict[str, ClipWriter | None] = {}  # writer thread only
        self._broken: set[str] = set()  # clips whose write failed (set by the writer)
        # Late labels: held while a label is stored, so a clip being saved meanwhile
        # cannot keep an older one (taken before `_lock`, never inside it).
        self._label_lock = threading.Lock()
        self._labels: OrderedDict[str, tuple[str, float, float | None]] = (
            OrderedDict()
        )  # event → label
        self._saved: OrderedDict[str, list[str]] = OrderedDict()  # event → its saved clips

    @property
    def preroll(self) -> float:
        return self.buffer.seconds

    @property
    def recording(self) -> bool:
        return bool(self._active)

    @property
    def open_bytes(self) -> int:
        """Memory held for clips beyond the pre-roll: items not yet handed to FFmpeg."""
        return sum(len(job.item.data) for job in list(self._jobs.queue) if isinstance(job, _Write))

    def start(self) -> None:
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(
                target=self._write_loop, name="privacy_cam_writer", daemon=True
            )
            self._writer.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Finish every open clip, wait until it is on disk, and end the writer thread."""
        with self._lock:
            for active in list(self._active):
                self._finish_locked(active)
        self._jobs.put(None)
        if self._writer is not None:
            self._writer.join(timeout)
            if self._writer.is_alive():
                _LOGGER.warning("Clips of %s were not finished within %ss", self.camera, timeout)
            self._writer = None
        self.buffer.clear()

    def drop_preroll(self) -> None:
        """Forget the pre-roll (the stream went down: it is no longer "just before")."""
        with self._lock:
            self.buffer.clear()

    # Control ------------------------------------------------------------------------

    def begin(
        self,
        reason: str,
        event_id: str | None,
        since: float,
        duration: float | None = None,
        motion_start: float | None = None,
    ) -> str:
        """Start a clip from the keyframe at or before `since` (wall time).

        With `duration` the clip ends by itself, `duration` seconds after `since`
        (manual clips: they run beside any motion clip; one at a time, a second
        request extends the open one). Otherwise it runs until
        `end()` plus the post-roll; an open clip of the same event is kept, an
        open clip of another event is finished.
        """
        with self._lock:
            if event_id is None and duration is not None:
                # One manual clip per camera: asking again extends it (a flood of calls
                # must not open an encoder each).
                for active in list(self._active):
                    if active.event_id is None and active.duration is not None:
                        if active.clip_id in self._broken:  # its write failed: start anew
                            self._finish_locked(active)
                            continue
                        active.duration = max(active.duration, since + duration - active.since)
                        if active.stop_at is not None and active.origin is not None:
                            # From the clip's first keyframe, whichever part is open now.
                            active.stop_at = max(active.since, active.origin) + active.duration
                        return active.clip_id
            if event_id is not None:
                for active in list(self._active):
                    if active.event_id == event_id:
                        return active.clip_id
                    if active.event_id is not None:
                        self._finish_locked(active)
            active = _Active(
                uuid.uuid4().hex[:12],
                reason,
                event_id,
                1,
                since,
                duration,
                motion_start=motion_start,
            )
            self._active.append(active)
            clip_id = active.clip_id
            for item in self.buffer.since(since):
                active = self._feed_locked(active, item)  # (a new part after a split)
            return clip_id

    def end(self, event_id: str | None, last_motion: float) -> None:
        """The event ended at `last_motion` (wall time): stop after the post-roll."""
        with self._lock:
            for active in list(self._active):
                if active.event_id == event_id and event_id is not None:
                    active.stop_at = last_motion + self.postroll
                    active.motion_end = last_motion
                    if active.start is not None and active.last >= active.stop_at:
                        # The event ended later than its post-roll (the cooldown): cut now.
                        self._finish_locked(active)
                    elif active.start is None and active.part > 1:
                        # A next part still waiting for the camera's new stream: the
                        # event is over, so nothing more is owed (and none stays open).
                        self._finish_locked(active)

    def set_thumbnail(self, event_id: str | None, jpeg: bytes) -> None:
        with self._lock:
            for active in self._active:
                if active.event_id == event_id:
                    active.thumbnail = jpeg

    def set_box(self, event_id: str | None, box: Box) -> None:
        """Where the event's motion is so far (kept with the clip, for learning)."""
        with self._lock:
            for active in self._active:
                if active.event_id == event_id:
                    active.box = box

    def set_label(
        self, event_id: str, label: str, confidence: float, person: float | None = None
    ) -> None:
        """What the event shows so far: kept with its open clips, and written to the index
        entries of its clips already saved (a label may come after the clip's end).

        `person`: the best score any crop gave a person, whatever the label (see `Clip`).
        """
        confidence = round(float(confidence), 3)
        person = None if person is None else round(float(person), 3)
        with self._label_lock:
            with self._lock:
                _remember(self._labels, event_id, (label, confidence, person))
                for active in self._active:
                    if active.event_id == event_id:
                        active.label, active.confidence = label, confidence
                        active.person = person
                saved = list(self._saved.get(event_id, ()))
            for clip_id in saved:
                self.store.update(clip_id, label=label, confidence=confidence, person=person)

    # Source thread ----------------------------------------------------------------------

    def add(self, item: Item) -> None:
        """Called by the source for every packet or still."""
        with self._lock:
            self.buffer.add(item)
            for active in list(self._active):
                self._feed_locked(active, item)

    def _feed_locked(self, active: _Active, item: Item) -> _Active:
        """Feed one item to a clip; returns the part that took it (a new one after a
        split: a long event, or the camera back with another stream)."""
        if active.start is not None and _other_stream(active, item):
            # The camera came back with another stream (its settings changed): this part
            # ends here, and the event goes on in a new one from that stream's keyframe.
            self._finish_locked(active)
            active = active.next_part(None)
            self._active.append(active)
        if active.start is None:
            if not item.is_keyframe:
                return active  # a clip starts at a keyframe
            if active.stop_at is not None and item.wall >= active.stop_at:
                self._finish_locked(active)  # a next part whose time ran out: nothing
                return active
            active.start = item.wall
            if active.origin is None:
                active.origin = item.wall
            if active.duration is not None and active.stop_at is None:
                # However late the first keyframe came, the clip is as long as asked.
                active.stop_at = max(active.since, item.wall) + active.duration
        elif active.stop_at is not None and item.wall >= active.stop_at:
            self._finish_locked(active)
            return active
        elif item.is_keyframe and item.wall - active.start >= self.max_length - 0.1:
            # Long event: close this part at a keyframe, go on in the next.
            # (a little slack: a keyframe due at the limit may arrive just before it)
            self._finish_locked(active)
            active = active.next_part(item.wall)
            self._active.append(active)
        if active.stream is None and isinstance(item, EncodedPacket):
            active.stream = item.info
        active.last = item.wall
        self._jobs.put(_Write(active.clip_id, item))
        return active

    def _finish_locked(self, active: _Active) -> None:
        if active in self._active:
            self._active.remove(active)
            self._jobs.put(_Finish(active))

    # Writer thread ---------------------------------------------------------------------

    def _write_loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            if isinstance(job, _Write):
                self._write(job)
            else:
                self._finish(job.active)
        # Nothing may stay open past stop (normally nothing is).
        for writer in self._writers.values():
            if writer is not None:
                writer.abort()  # pragma: no cover - every open clip was finished first
        self._writers.clear()

    def _write(self, job: _Write) -> None:
        if job.clip_id not in self._writers:
            self._writers[job.clip_id] = self._open(job.clip_id, job.item)
        writer = self._writers[job.clip_id]
        if writer is None:
            return  # this clip failed already
        try:
            writer.write(job.item)
        except Exception as err:  # noqa: BLE001 - reported, the clip is dropped
            self._failed(writer, err)
            self._writers[job.clip_id] = None
            self._broken.add(job.clip_id)

    def _open(self, clip_id: str, first: Item) -> ClipWriter | None:
        try:
            video, _ = self.store.new_paths(self.camera, first.wall, clip_id)
        except OSError as err:
            self._failed(None, err)
            self._broken.add(clip_id)
            return None
        if isinstance(first, JpegFrame):
            writer: ClipWriter = JpegWriter(video, self.source.stats.fps or None)
        elif (info := first.info or self.source.info) is None:
            return None  # pragma: no cover - packets come after the stream info
        else:
            writer = RemuxWriter(video, info)
        return writer

    def _finish(self, active: _Active) -> None:
        self._broken.discard(active.clip_id)
        writer = self._writers.pop(active.clip_id, None)
        if writer is None or active.start is None:
            return
        try:
            duration = writer.finish(active.stop_at)
            clip = self._save(active, writer, duration)
        except Exception as err:  # noqa: BLE001 - reported, the clip is dropped
            self._failed(writer, err)
            return
        self.on_clip(clip)

    def _save(self, active: _Active, writer: ClipWriter, duration: float) -> Clip:
        assert active.start is not None
        video = writer.path
        thumb = video.with_suffix(".jpg")
        thumbnail = active.thumbnail or self.source.still_jpeg(640)
        if thumbnail:
            tmp = thumb.with_name(f".{thumb.stem}.part.jpg")
            tmp.write_bytes(thumbnail)
            tmp.replace(thumb)
        clip = Clip(
            id=active.clip_id,
            camera=self.camera,
            start=active.start,
            duration=round(duration, 3),
            reason=active.reason,
            path=video.relative_to(self.store.root).as_posix(),
            size=video.stat().st_size,
            event_id=active.event_id,
            part=active.part,
            box=None if active.box is None else [round(float(v), 4) for v in active.box],
            motion=_motion_window(active, active.start, duration),
            owner=self.owner,
            label=active.label,
            confidence=active.confidence,
            person=active.person,
        )
        self.store.add(clip)
        if active.event_id is None:
            return clip
        with self._label_lock:
            with self._lock:
                _remember(
                    self._saved, active.event_id, [*self._saved.get(active.event_id, ()), clip.id]
                )
                latest = self._labels.get(active.event_id)
            if latest is not None and latest != (clip.label, clip.confidence, clip.person):
                # Labelled while the clip was being finished.
                label, confidence, person = latest
                clip = (
                    self.store.update(clip.id, label=label, confidence=confidence, person=person)
                    or clip
                )
        return clip

    def _failed(self, writer: ClipWriter | None, err: Exception) -> None:
        if writer is not None:
            writer.abort()
        if isinstance(err, OSError):
            _LOGGER.error("Could not write a clip for %s: %s", self.camera, err.strerror or err)
            if self.on_error is not None:
                self.on_error(err)
        else:
            _LOGGER.error("Could not write a clip for %s: %s", self.camera, err)


def _remember[T](memory: OrderedDict[str, T], event_id: str, value: T) -> None:
    """Keep `value` for the event, forgetting the oldest events beyond `LABELLED_EVENTS`."""
    memory[event_id] = value
    memory.move_to_end(event_id)
    while len(memory) > LABELLED_EVENTS:
        memory.popitem(last=False)


def _motion_window(active: _Active, start: float, duration: float) -> list[float] | None:
    """Where the motion is in the clip (seconds from its start): what a report keeps."""
    if active.motion_start is None:
        return None
    begin = min(max(0.0, active.motion_start - start), duration)
    end = duration if active.motion_end is None else active.motion_end - start
    return [round(begin, 3), round(min(max(begin, end), duration), 3)]
