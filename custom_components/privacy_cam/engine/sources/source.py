"""The worker-thread life of a camera source: connect, stream, back off, stop.

A concrete source implements one connected session (`_run_session`); this
base class turns it into a thread that reconnects with exponential backoff,
hands gray analysis frames, packets and stills to whoever subscribed (the
camera's pipeline, `engine/pipeline.py`), keeps the latest still, tracks stats
and tells listeners about state changes.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import av

from .errors import ErrorKind, SourceError
from .frames import (
    DEFAULT_ANALYSIS_HEIGHT,
    AnalysisFrame,
    EncodedPacket,
    GrayImage,
    JpegFrame,
    StreamInfo,
    to_analysis_gray,
)
from .jpeg import DEFAULT_RGB_WIDTH, RgbImage, encode_jpeg, to_rgb
from .reachability import Reach, knock, probe_target
from .urls import scrub

_LOGGER = logging.getLogger(__name__)

BACKOFF_MIN = 1.0
BACKOFF_MAX = 60.0
# While backing off, how often the camera's TCP port is knocked on (see reachability.py).
PROBE_INTERVAL = 1.0
STOP_TIMEOUT = 2.0
RATE_WINDOW = 2.0
# Keyframe intervals kept for the median (`SourceStats.keyframe_interval`).
KEYFRAME_HISTORY = 9


class SourceState(StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """Everything needed to open one camera. Credentials live apart from the URL."""

    kind: str
    url: str = ""
    username: str | None = None
    password: str | None = None
    verify_ssl: bool = True
    rtsp_transport: str = "tcp"
    snapshot_interval: float = 1.0
    analysis_height: int = DEFAULT_ANALYSIS_HEIGHT
    analysis_fps: float = 5.0
    connect_timeout: float = 8.0
    realtime: bool = False  # play files at their own pace, like a live camera
    # False: demux only (packets for the recorder, stills decoded from the latest
    # keyframe on demand), no analysis frames; `Source.set_decode` switches at run time.
    decode: bool = True
    # Decode only keyframes (FFmpeg's skip_frame NONKEY): analysis at the camera's
    # keyframe rate, for cameras with a short keyframe interval. The analysis_fps cap
    # still applies: keyframes slower than it are all analysed, an all-intra stream
    # is not analysed faster than with every frame decoded.
    keyframes_only: bool = False
    fetch: Callable[[], bytes] | None = field(default=None, compare=False)
    # Reconnect pacing (tests shrink these; the logic is the same).
    backoff_min: float = BACKOFF_MIN
    backoff_max: float = BACKOFF_MAX
    probe_interval: float = PROBE_INTERVAL

    @property
    def secrets(self) -> tuple[str | None, ...]:
        # A very short username ("a") would mangle every message it is scrubbed from.
        user = self.username if self.username and len(self.username) >= 3 else None
        return (self.password, user)


@dataclass(slots=True)
class SourceStats:
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    # Frames received (for FFmpeg sources: video packets, decoded or not).
    frames: int = 0
    # Frames the decoder produced (0 while only demuxing).
    decoded_frames: int = 0
    analysis_frames: int = 0
    # Keyframes only: frames decoded between keyframes to confirm a candidate, and bursts.
    burst_frames: int = 0
    bursts: int = 0
    reconnects: int = 0
    # Camera data refused for exceeding a byte or pixel cap (logged once per source).
    oversized: int = 0
    # Reconnects started early because the camera's port accepted again.
    early_retries: int = 0
    last_error: str | None = None
    last_error_kind: ErrorKind | None = None
    connected_since: float | None = None
    # Seconds between keyframes: the median of the recent intervals.
    keyframe_interval: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "fps": None if self.fps is None else round(self.fps, 2),
            "frames": self.frames,
            "decoded_frames": self.decoded_frames,
            "analysis_frames": self.analysis_frames,
            "burst_frames": self.burst_frames,
            "bursts": self.bursts,
            "reconnects": self.reconnects,
            "oversized": self.oversized,
            "early_retries": self.early_retries,
            "last_error": self.last_error,
            "last_error_kind": self.last_error_kind,
            "connected_since": self.connected_since,
            "keyframe_interval": (
                None if self.keyframe_interval is None else round(self.keyframe_interval, 3)
            ),
        }


class SourceListener(Protocol):
    """Callbacks run on the source thread: keep them short and thread-safe."""

    def on_state(self, state: SourceState, error: SourceError | None) -> None: ...


FrameCallback = Callable[[AnalysisFrame], None]
PacketCallback = Callable[[EncodedPacket], None]
JpegCallback = Callable[[JpegFrame], None]


class Source:
    """Base class; subclasses implement `_run_session` (and `_interrupt`)."""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.stats = SourceStats()
        self.info: StreamInfo | None = None
        self._state = SourceState.STOPPED
        self._listeners: list[SourceListener] = []
        self._frame_callbacks: list[FrameCallback] = []
        self._packet_callbacks: list[PacketCallback] = []
        self._jpeg_callbacks: list[JpegCallback] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._new_frame = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._first_result = threading.Event()
        self._first_error: SourceError | None = None
        self._latest_frame: av.VideoFrame | None = None
        self._latest_jpeg: bytes | None = None
        self._frame_seq = 0
        self._next_analysis = 0.0
        self._next_burst = 0.0
        self._rate_window: tuple[float, int] | None = None
        self._streamed = False
        # Set by sessions once the camera answered (HTTP response, FFmpeg opened it).
        self._answered = False
        self._oversize_logged = False
        self._decode = config.decode
        self._keyframe_at: float | None = None
        self._keyframe_gaps: deque[float] = deque(maxlen=KEYFRAME_HISTORY)

    # Public API --------------------------------------------------------------

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_listener(self, listener: SourceListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def add_frame_callback(self, callback: FrameCallback) -> Callable[[], None]:
        """Gray frames at analysis size and rate (`analysis_height`, `analysis_fps`)."""
        self._frame_callbacks.append(callback)
        return lambda: self._frame_callbacks.remove(callback)

    def add_packet_callback(self, callback: PacketCallback) -> Callable[[], None]:
        self._packet_callbacks.append(callback)
        return lambda: self._packet_callbacks.remove(callback)

    def add_jpeg_callback(self, callback: JpegCallback) -> Callable[[], None]:
        """Stills as the camera sent them (MJPEG and snapshot cameras)."""
        self._jpeg_callbacks.append(callback)
        return lambda: self._jpeg_callbacks.remove(callback)

    @property
    def decoding(self) -> bool:
        """Whether frames are decoded (analysis frames, stills from decoded frames)."""
        return self._decode

    def set_decode(self, decode: bool) -> None:
        """Start or stop decoding at run time; thread-safe, takes effect at the next
        packet (decoding resumes at the next keyframe: a decoder needs one).

        Only FFmpeg sources (RTSP, files, wrapped stream URLs) can stop decoding;
        other sources always decode.
        """
        self._decode = decode

    def request_burst(self, keyframe: float) -> bool:
        """Keyframes only: also decode the frames after the keyframe whose analysis frame
        is dated `keyframe`, up to the next keyframe, handed on as analysis frames marked
        `burst` (at most `analysis_fps`), to confirm what that keyframe showed. Ignored
        once the next keyframe came. Thread-safe; False where the source has no such thing
        to give (it decodes every frame anyway, or is not FFmpeg's)."""
        return False

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._first_result.clear()
        self._first_error = None
        self._thread = threading.Thread(
            target=self._run, name=f"privacy_cam_{self.config.kind}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop the worker; True when it ended within timeout."""
        self._stop.set()
        self._interrupt()
        with self._new_frame:
            self._new_frame.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                _LOGGER.warning("%s source did not stop within %ss", self.config.kind, timeout)
                return False
            self._thread = None
        self._clear_stills()
        self._set_state(SourceState.STOPPED, None)
        return True

    def wait_ready(self, timeout: float) -> StreamInfo:
        """Block until the first frame or the first failure (for test-before-configure)."""
        if not self._first_result.wait(timeout):
            if self._answered:
                raise SourceError(
                    ErrorKind.NO_FRAME,
                    f"the camera answered, but no complete picture came within {timeout:g} s",
                )
            raise SourceError(ErrorKind.NO_ANSWER, f"nothing answered within {timeout:g} s")
        if self._first_error is not None:
            raise self._first_error
        assert self.info is not None
        return self.info

    def still_jpeg(self, width: int | None = None) -> bytes | None:
        """The latest full frame as JPEG, optionally scaled to `width`."""
        with self._lock:
            raw = self._latest_jpeg
            frame = self._latest_frame
        if raw is not None and (width is None or (self.info and width >= self.info.width)):
            return raw
        if frame is None:
            return None
        return encode_jpeg(frame, width)

    def still_rgb(self, max_width: int = DEFAULT_RGB_WIDTH) -> RgbImage | None:
        """The latest decoded frame in colour (HxWx3 uint8 RGB), scaled down to
        `max_width` when wider; None before the first frame. Costs a few ms (a
        conversion of its own each call: any thread may call it)."""
        with self._lock:
            frame = self._latest_frame
        return None if frame is None else to_rgb(frame, max_width)

    # For subclasses -------------------------------------------------------------

    def _run_session(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _interrupt(self) -> None:
        """Unblock a session stuck in I/O; called from the stopping thread."""

    @property
    def _stopping(self) -> bool:
        return self._stop.is_set()

    def _set_info(self, info: StreamInfo) -> None:
        self.info = info
        self.stats.codec = info.codec
        self.stats.width = info.width
        self.stats.height = info.height
        if info.fps:
            self.stats.fps = info.fps

    def _clear_stills(self) -> None:
        with self._lock:
            self._latest_frame = None
            self._latest_jpeg = None

    def _emit_frame(
        self, frame: av.VideoFrame, now: float, jpeg: bytes | None = None, *, counted: bool = False
    ) -> None:
        """Hand on a decoded frame: keep it as the still, sample it for analysis.

        `counted`: the frame was already counted on arrival (`_note_frame`), as
        FFmpeg sources count packets.
        """
        self.stats.decoded_frames += 1
        if counted:
            self._note_streaming()
        else:
            self._note_frame(now)
        with self._new_frame:
            self._latest_frame = frame
            self._latest_jpeg = jpeg
            self._frame_seq += 1
            self._new_frame.notify_all()
        if now >= self._next_analysis:
            self._publish_gray(to_analysis_gray(frame, self.config.analysis_height), now)

    def _emit_burst(self, frame: av.VideoFrame, at: float) -> None:
        """A frame between two keyframes (`request_burst`) that arrived at `at`."""
        self.stats.burst_frames += 1
        if at < self._next_burst:
            return
        interval = 1.0 / self.config.analysis_fps
        self._next_burst = max(self._next_burst + interval, at + interval * 0.5)
        gray = to_analysis_gray(frame, self.config.analysis_height)
        out = AnalysisFrame(self.stats.analysis_frames, at, time.time(), gray, burst=True)
        for callback in self._frame_callbacks:
            callback(out)

    def _emit_gray(self, gray: GrayImage, now: float) -> None:
        """For sources that already hold luma at analysis size (the demo)."""
        if now >= self._next_analysis:
            self._publish_gray(gray, now)

    def _emit_packet(self, packet: EncodedPacket) -> None:
        for callback in self._packet_callbacks:
            callback(packet)

    def _emit_jpeg(self, still: JpegFrame) -> None:
        for callback in self._jpeg_callbacks:
            callback(still)

    def _oversized(self, what: str) -> SourceError:
        """Count camera data over a cap (logged once per source) and return the error."""
        self.stats.oversized += 1
        if not self._oversize_logged:
            self._oversize_logged = True
            _LOGGER.warning(
                "Refused camera data (%s camera: %s); further ones are only counted",
                self.config.kind,
                what,
            )
        return SourceError(ErrorKind.NO_VIDEO, what)

    # Internals -------------------------------------------------------------------

    def _publish_gray(self, gray: GrayImage, now: float) -> None:
        interval = 1.0 / self.config.analysis_fps
        # Keep a steady cadence but never build a backlog after a stall.
        self._next_analysis = max(self._next_analysis + interval, now + interval * 0.5)
        self.stats.analysis_frames += 1
        frame = AnalysisFrame(self.stats.analysis_frames, now, time.time(), gray)
        for callback in self._frame_callbacks:
            callback(frame)

    def _note_keyframe(self, media: float | None, now: float) -> None:
        """A keyframe arrived at `media` seconds on the stream's clock (else `now`)."""
        at = now if media is None else media
        last = self._keyframe_at
        self._keyframe_at = at
        if last is None or at <= last:
            return
        self._keyframe_gaps.append(at - last)
        self.stats.keyframe_interval = statistics.median(self._keyframe_gaps)

    def _note_frame(self, now: float, *, streaming: bool = True) -> None:
        """Count a frame as it arrives; `streaming`: it also proves the stream works."""
        self.stats.frames += 1
        # Frame rate over windows of >= 2 s: arrival gaps alone are useless
        # because streams start with a burst of buffered frames.
        if self._rate_window is None:
            self._rate_window = (now, self.stats.frames)
        else:
            start, count = self._rate_window
            if now - start >= RATE_WINDOW:
                self.stats.fps = (self.stats.frames - count) / (now - start)
                self._rate_window = (now, self.stats.frames)
        if streaming:
            self._note_streaming()

    def _note_streaming(self) -> None:
        if not self._streamed:
            self._streamed = True
            self.stats.connected_since = time.time()
            self._first_result.set()
            self._set_state(SourceState.STREAMING, None)

    def _set_state(self, state: SourceState, error: SourceError | None) -> None:
        if state == self._state and error is None:
            return
        self._state = state
        for listener in list(self._listeners):
            try:
                listener.on_state(state, error)
            except Exception:  # a broken listener must not kill the camera
                _LOGGER.exception("Source listener failed")

    def _run(self) -> None:
        backoff = self.config.backoff_min
        while not self._stop.is_set():
            self._streamed = False
            self._answered = False
            self._rate_window = None
            self._keyframe_at = None
            self._set_state(SourceState.CONNECTING, None)
            try:
                self._run_session()
                if self._stop.is_set():
                    break
                raise SourceError(ErrorKind.CANNOT_CONNECT, "stream ended")
            except SourceError as err:
                error = err
            except Exception as err:  # noqa: BLE001 - keep the worker alive, classify
                error = SourceError(ErrorKind.CANNOT_CONNECT, scrub(str(err), *self.config.secrets))
            if self._stop.is_set():
                break
            if self._streamed:
                backoff = self.config.backoff_min
            self.stats.reconnects += 1
            self.stats.last_error = error.message
            self.stats.last_error_kind = error.kind
            self.stats.connected_since = None
            if not self._first_result.is_set():
                self._first_error = error
                self._first_result.set()
            self._set_state(SourceState.FAILED, error)
            if error.kind in (ErrorKind.INVALID_AUTH, ErrorKind.INVALID_URL):
                # Retrying bad credentials can lock the camera account: wait for
                # the user (reauth / reconfigure restarts the source).
                self._stop.wait()
                break
            if self._wait_to_retry(backoff, error):
                # Back from an outage: retry at once, and briskly while it boots.
                self.stats.early_retries += 1
                backoff = self.config.backoff_min
            else:
                backoff = min(backoff * 2, self.config.backoff_max)

    def _wait_to_retry(self, backoff: float, error: SourceError) -> bool:
        """Wait `backoff` seconds, knocking on the camera's port meanwhile.

        True when the port was closed or silent and then accepted: the camera is back
        and the full connect is tried at once. A port that accepts all along (the camera
        is up but failing) never shortens the wait, so the backoff still protects it.
        """
        target = probe_target(self.config.url)
        if target is None:  # wrapped HA cameras polled through HA: no port to knock on
            self._stop.wait(backoff)
            return False
        interval = self.config.probe_interval
        seen_down = error.kind is ErrorKind.CONNECTION_REFUSED
        deadline = time.monotonic() + backoff
        while True:
            reach = knock(*target, timeout=min(interval, 1.0))
            if reach is Reach.OPEN and seen_down:
                return True
            seen_down = seen_down or reach is not Reach.OPEN
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stop.wait(min(interval, remaining)):
                return False
