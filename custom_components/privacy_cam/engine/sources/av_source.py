"""Sources that FFmpeg opens itself: RTSP/RTSPS cameras, wrapped HA stream URLs, files."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import av
import av.error
from av.codec.context import Flags

from .errors import ErrorKind, SourceError
from .frames import EncodedPacket, StreamInfo
from .group import Group
from .jpeg import DEFAULT_RGB_WIDTH, ImageTooLarge, RgbImage, check_size, encode_jpeg, to_rgb
from .source import Source, SourceConfig
from .urls import redact_url, scrub, with_credentials

_LOGGER = logging.getLogger(__name__)

# A live camera sends packets many times a second; a longer silence is a stall.
# Kept under the 2 s stop budget because FFmpeg can only be interrupted by it.
READ_TIMEOUT = 1.5
# Codecs whose packets are kept for the recorder (remuxed as sent, `RemuxWriter`);
# other codecs are watched, and not recorded.
RECORDED_CODECS = frozenset({"h264", "hevc"})
# Pictures up to this size (substreams: 640x360 to 800x600) are decoded on the source
# thread alone: FFmpeg's helper threads only add hand-offs there (measured 10-20 % more
# CPU for 640x360) and cost two threads per camera. So are keyframes only (one picture
# every second or two). Bigger streams keep FFmpeg's threads, to keep up in real time.
SINGLE_THREAD_PIXELS = 500_000
# Packets in a row that decode to nothing before we call the stream garbage
# (a decoder may legitimately buffer a few frames before its first output).
MAX_UNDECODABLE = 150


def classify_av_error(err: BaseException, secrets: tuple[str | None, ...]) -> SourceError:
    """Turn an FFmpeg/OS error into a SourceError without leaking credentials."""
    message = scrub(getattr(err, "strerror", None) or str(err), *secrets)
    if isinstance(err, (av.error.HTTPUnauthorizedError, av.error.HTTPForbiddenError)):
        return SourceError(ErrorKind.INVALID_AUTH, "the camera refused the credentials")
    if isinstance(err, av.error.HTTPNotFoundError):
        return SourceError(ErrorKind.NO_VIDEO, "the camera has no stream at that path")
    if isinstance(err, (av.error.InvalidDataError, av.error.DecoderNotFoundError)):
        return SourceError(ErrorKind.NO_VIDEO, f"not a video stream ({message})")
    if isinstance(err, ConnectionRefusedError):
        return SourceError(ErrorKind.CONNECTION_REFUSED, "the camera refused the connection")
    if isinstance(err, (av.error.ExitError, TimeoutError)):
        return SourceError(ErrorKind.NO_ANSWER, "timed out waiting for the camera")
    return SourceError(ErrorKind.CANNOT_CONNECT, message)


@dataclass(frozen=True, slots=True)
class Keyframe:
    """The latest keyframe as it arrived, enough for a fresh decoder to show it."""

    seq: int
    codec: str
    extradata: bytes | None
    data: bytes


class AvSource(Source):
    """Demuxes with FFmpeg; keeps H.264/H.265 packets for remuxing, decodes for analysis.

    With decoding off (`SourceConfig.decode`, `set_decode`) it only demuxes: packets
    go on to the recorder, the stream info comes from the codec's headers, and a
    still is the latest keyframe, decoded on demand (`still_jpeg`, in an executor).
    """

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        self._keyframe: Keyframe | None = None
        self._keyframe_still: tuple[int, int | None, bytes] | None = None  # seq, width, JPEG
        self._unrecorded_logged = False
        self._group: Group | None = None  # keyframes only: the latest group of pictures

    def still_jpeg(self, width: int | None = None) -> bytes | None:
        """The latest decoded frame, or else the latest keyframe decoded now (blocking:
        ~10 ms for 1080p, callers run it in an executor) as JPEG."""
        still = super().still_jpeg(width)
        if still is not None:
            return still
        with self._lock:
            keyframe, cached = self._keyframe, self._keyframe_still
        if keyframe is None:
            return None
        if cached is not None and cached[:2] == (keyframe.seq, width):
            return cached[2]
        frame = decode_keyframe(keyframe)
        if frame is None:
            return None
        still = encode_jpeg(frame, width)
        with self._lock:
            self._keyframe_still = (keyframe.seq, width, still)
        return still

    def still_rgb(self, max_width: int = DEFAULT_RGB_WIDTH) -> RgbImage | None:
        """The latest decoded frame, or else (demuxing only) the latest keyframe decoded
        now with a fresh decoder (~10 ms for 1080p), in colour."""
        still = super().still_rgb(max_width)
        if still is not None:
            return still
        with self._lock:
            keyframe = self._keyframe
        frame = None if keyframe is None else decode_keyframe(keyframe)
        return None if frame is None else to_rgb(frame, max_width)

    def request_burst(self, keyframe: float) -> bool:
        """Keyframes only: decode the rest of the group whose keyframe's analysis frame
        is dated `keyframe` (see `Source.request_burst`)."""
        group = self._group
        if group is None or not self._decode:
            return False
        group.want(keyframe)
        return True

    def _clear_stills(self) -> None:
        super()._clear_stills()
        with self._lock:
            self._keyframe = None
            self._keyframe_still = None

    def _open_options(self) -> dict[str, str]:
        options = {"analyzeduration": "1000000", "probesize": "1000000"}
        if self.config.url.startswith(("rtsp://", "rtsps://")):
            options |= {"rtsp_transport": self.config.rtsp_transport, "rtsp_flags": "prefer_tcp"}
            if self.config.rtsp_transport != "tcp":
                del options["rtsp_flags"]
        return options

    def _run_session(self) -> None:
        config = self.config
        url = with_credentials(config.url, config.username, config.password)
        started = time.monotonic()
        try:
            container: Any = av.open(
                url, options=self._open_options(), timeout=(config.connect_timeout, READ_TIMEOUT)
            )
        except (av.FFmpegError, OSError) as err:
            if time.monotonic() - started >= config.connect_timeout * 0.9:
                # FFmpeg reports an interrupted RTSP handshake as "invalid data".
                raise SourceError(ErrorKind.NO_ANSWER, "timed out waiting for the camera") from None
            raise classify_av_error(err, config.secrets) from None
        self._answered = True
        try:
            self._stream(container)
        except (av.FFmpegError, OSError) as err:
            if self._stopping:
                return
            if self._streamed:
                # A dying server shows up as "invalid data" from the demuxer:
                # after video has flowed, any failure is a lost connection.
                message = classify_av_error(err, config.secrets).message
                raise SourceError(
                    ErrorKind.CANNOT_CONNECT, f"lost the stream ({message})"
                ) from None
            raise classify_av_error(err, config.secrets) from None
        finally:
            container.close()

    def _stream(self, container: Any) -> None:
        if not container.streams.video:
            raise SourceError(ErrorKind.NO_VIDEO, "the stream has no video track")
        stream = container.streams.video[0]
        codec = stream.codec_context
        try:  # as declared by the stream's headers (SPS), before any frame is decoded
            check_size(codec.width, codec.height)
        except ImageTooLarge as err:
            raise self._oversized(err.message) from None
        keyframes_only = self.config.keyframes_only
        if keyframes_only or 0 < codec.width * codec.height <= SINGLE_THREAD_PIXELS:
            codec.thread_count = 1  # (before the decoder opens, at its first packet)
        group: Group | None = None
        if keyframes_only:
            codec.skip_frame = "NONKEY"
            # Only intra frames: nothing to reorder, so out at once, not a keyframe late.
            codec.flags |= Flags.low_delay
            # Its own decoder: on the source thread alone like the keyframes', unless the
            # picture is big enough to need FFmpeg's threads to keep up (a 4K main stream).
            single = 0 < codec.width * codec.height <= SINGLE_THREAD_PIXELS
            group = Group(codec.name, codec.extradata, single_thread=single)
        self._group = group
        rate = stream.average_rate or stream.guessed_rate
        keep_packets = codec.name in RECORDED_CODECS
        extradata = raw_extradata = codec.extradata
        annexb: Any = None
        if keep_packets and extradata and not extradata.startswith((b"\0\0\1", b"\0\0\0\1")):
            # MP4-style (avcC/hvcC) input, e.g. a replayed file: recordings want Annex B
            # like RTSP sends, so convert packets and parameter sets once here.
            try:
                annexb = av.BitStreamFilterContext(f"{codec.name}_mp4toannexb", stream)
            except (av.FFmpegError, ValueError):
                # A record FFmpeg cannot convert (its decoder may cope): watched, not
                # recorded, rather than not watched at all.
                keep_packets = False
                self._log_unrecorded(f"{codec.name} with parameter sets that cannot be copied")
            convert = avcc_to_annexb if codec.name == "h264" else hvcc_to_annexb
            extradata = convert(extradata)
        if codec.name not in RECORDED_CODECS:
            self._log_unrecorded(f"{codec.name} (only H.264 and H.265 are recorded)")
        info: StreamInfo | None = None
        if codec.width and codec.height:  # for demuxing only; decoding takes the frame's
            info = StreamInfo(
                codec=codec.name,
                width=codec.width,
                height=codec.height,
                fps=float(rate) if rate else None,
                time_base=stream.time_base,
                extradata=extradata,
            )
        # What the session's packets carry for the recorder (a reconnect in another codec
        # or with other parameter sets is another clip): one object for the session.
        packet_info = info or StreamInfo(
            codec=codec.name,
            width=0,
            height=0,
            fps=float(rate) if rate else None,
            time_base=stream.time_base,
            extradata=extradata,
        )
        info_set = False
        # Whether the decoder is fed: from the first packet, as a camera may not flag its
        # keyframes; switched on later (`set_decode`), from the next keyframe.
        decoding = self._decode or info is None
        waited = 0  # packets since decoding was asked for, waiting for a keyframe
        undecodable = 0
        clock: tuple[float, float] | None = None  # (wall start, media start) for realtime
        realtime = self.config.realtime
        for packet in container.demux(stream):
            if self._stopping:
                return
            if packet.size == 0:
                continue
            key = packet.is_keyframe
            media: float | None = None  # (Fraction arithmetic: only where needed)
            if (key or realtime) and packet.pts is not None:
                media = float(packet.pts * packet.time_base)
            if realtime and media is not None:
                if clock is None:
                    clock = (time.monotonic(), media)
                self._stop.wait(max(0.0, clock[0] + media - clock[1] - time.monotonic()))
            now = time.monotonic()
            if key:
                self._note_keyframe(media, now)
                self._keep_keyframe(codec.name, raw_extradata, packet)
            # Without the stream's size from its headers, decode until a frame tells it.
            wanted = self._decode or info is None
            if wanted != decoding:
                if group is not None:
                    group.reset()  # packets left out, or not yet decodable: not a group
                if not wanted:
                    decoding = False
                    undecodable = 0
                    super()._clear_stills()  # stills come from keyframes again
                elif key or waited >= MAX_UNDECODABLE:  # a decoder (re)starts at a keyframe
                    codec.flush_buffers()
                    decoding = True
                    waited = 0
                else:
                    waited += 1
            if not decoding and info is not None and not info_set:
                self._set_info(info)
                info_set = True
            self._note_frame(now, streaming=not decoding and info_set)
            frames: list[Any] = []
            if decoding:
                # Live streams lose a packet now and then; only a run of them is fatal.
                with contextlib.suppress(av.error.InvalidDataError):
                    frames = packet.decode()
                if not frames and key and keyframes_only:
                    frames = _drain(codec)
                if frames:
                    undecodable = 0
                elif key or not keyframes_only:
                    undecodable += 1
                    if undecodable > MAX_UNDECODABLE:
                        raise SourceError(ErrorKind.NO_VIDEO, "no decodable video in the stream")
            if group is not None and decoding:
                bursts = group.bursts
                for burst, arrived in group.add(packet, key, now):
                    self._emit_burst(burst, arrived)
                self.stats.bursts += group.bursts - bursts
            if keep_packets and self._has_packet_callbacks():
                # After decoding: the Annex B filter takes the packet over.
                self._emit_packets(packet, annexb, packet_info)
            for frame in frames:
                if not info_set:
                    self._set_info(
                        StreamInfo(
                            codec=codec.name,
                            width=frame.width,
                            height=frame.height,
                            fps=float(rate) if rate else None,
                            time_base=stream.time_base,
                            extradata=extradata,
                        )
                    )
                    info_set = True
                    info = self.info
                self._emit_frame(frame, now, counted=True)

    def _log_unrecorded(self, why: str) -> None:
        """Said once per camera: one whose clips never come should say why."""
        if self._unrecorded_logged or not self._has_packet_callbacks():
            return
        self._unrecorded_logged = True
        _LOGGER.warning(
            "The %s stream is %s: it is watched, not recorded",
            scrub(redact_url(self.config.url), *self.config.secrets),
            why,
        )

    def _keep_keyframe(self, codec: str, extradata: bytes | None, packet: Any) -> None:
        with self._lock:
            seq = 1 if self._keyframe is None else self._keyframe.seq + 1
            self._keyframe = Keyframe(seq, codec, extradata, bytes(packet))

    def _emit_packets(self, packet: Any, annexb: Any, info: StreamInfo) -> None:
        time_base = packet.time_base
        wall = time.time()
        for out in annexb.filter(packet) if annexb is not None else (packet,):
            self._emit_packet(
                EncodedPacket(bytes(out), out.pts, out.dts, time_base, out.is_keyframe, wall, info)
            )

    def _has_packet_callbacks(self) -> bool:
        return bool(self._packet_callbacks)


def _drain(codec: Any) -> list[Any]:
    """The picture a decoder holds back to reorder (a stream that may have B-frames):
    decoding only keyframes, it would come out keyframes late, with the wrong time."""
    frames: list[Any] = []
    with contextlib.suppress(av.FFmpegError):  # a broken keyframe: nothing to show
        frames = codec.decode(None)
    codec.flush_buffers()  # ready for the next keyframe
    return frames


def decode_keyframe(keyframe: Keyframe) -> av.VideoFrame | None:
    """Decode one keyframe with a fresh decoder (its own, so any thread may call it)."""
    try:
        decoder: Any = av.CodecContext.create(keyframe.codec, "r")
        if keyframe.extradata:
            decoder.extradata = keyframe.extradata
        frames = decoder.decode(av.Packet(keyframe.data))
        frames += decoder.decode(None)  # flush: a decoder may hold its first frame back
    except (av.FFmpegError, ValueError):  # ValueError: no such decoder in this FFmpeg
        return None
    return frames[0] if frames else None


def avcc_to_annexb(extradata: bytes) -> bytes:
    """SPS/PPS from an avcC record as start-code prefixed NAL units."""
    out = bytearray()
    try:
        position = 6
        for count_at in (5, None):
            if count_at is None:
                count = extradata[position]
                position += 1
            else:
                count = extradata[count_at] & 0x1F
            for _ in range(count):
                size = int.from_bytes(extradata[position : position + 2], "big")
                out += b"\x00\x00\x00\x01" + extradata[position + 2 : position + 2 + size]
                position += 2 + size
    except IndexError:
        return b""
    return bytes(out)


def hvcc_to_annexb(extradata: bytes) -> bytes:
    """VPS/SPS/PPS (and SEI) from an hvcC record as start-code prefixed NAL units."""
    out = bytearray()
    position = 23  # the fixed part; then arrays of NAL units, one per type

    def take(size: int) -> bytes:
        nonlocal position
        chunk = extradata[position : position + size]
        if len(chunk) != size:
            raise IndexError  # cut short: a broken record gives nothing
        position += size
        return chunk

    try:
        for _ in range(extradata[22]):
            count = int.from_bytes(take(3)[1:], "big")
            for _ in range(count):
                size = int.from_bytes(take(2), "big")
                out += b"\x00\x00\x00\x01" + take(size)
    except IndexError:
        return b""
    return bytes(out)
