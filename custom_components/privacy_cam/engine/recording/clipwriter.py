"""Write clips as they happen, then as browser-playable MP4.

A clip is written progressively to a temporary fragmented MP4 (one fragment per
keyframe, flushed as it completes), so that what was recorded is on disk while
the event goes on: memory stays at one open fragment, a stop only has to close
the file, and after a crash the file is readable up to its last complete
fragment. Finishing remuxes the fragments (no re-encode, ~20 ms per 30 s of
1080p) into a plain MP4 with the moov atom first (`+faststart`), which every
player handles, and renames it into place.

H.264 and H.265 are remuxed as the camera sent them; timestamps are rebased onto one clip
clock: a reconnect (the camera's clock restarts or jumps) continues the clip
after a gap as long as the outage, and equal or backward timestamps within a
session are nudged forward instead of failing the file. JPEG stills (MJPEG and
snapshot cameras) are encoded with libx264 at their own pace.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import io
import os
import struct
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ..sources.errors import SourceError
from ..sources.frames import EncodedPacket, JpegFrame, StreamInfo
from ..sources.jpeg import ImageDecoder

MP4_OPTIONS = {"movflags": "+faststart"}
# A fragment per keyframe, each pushed to the file as soon as it is complete.
FRAGMENT_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "flush_packets": "1",
}
ENCODE_OPTIONS = {"preset": "veryfast", "crf": "23", "tune": "zerolatency"}
TICKS = 90_000  # the clip clock: 1/90000 s, RTP's video clock
TIME_BASE = Fraction(1, TICKS)
# A jump of the camera's clock this far beyond the time that passed is a new session.
MAX_CLOCK_JUMP = 5.0
JPEG_KEYFRAME_SECONDS = 2.0  # fragment length of encoded stills
# Fragments are pushed to the OS at once (a crash of the process loses nothing); every
# few seconds they are also forced to the disk, so a power cut loses at most that much.
SYNC_INTERVAL = 5.0
# Codecs recorded as the camera sends them (Annex B packets), and FFmpeg's raw demuxer
# for each, which parses a stream's parameters from its parameter sets + a keyframe.
REMUX_FORMATS = {"h264": "h264", "hevc": "hevc"}
# MP4 sample entries: Apple's players (Safari, iOS) play H.265 only as 'hvc1'; FFmpeg's
# default, 'hev1', plays nowhere else either.
SAMPLE_ENTRIES = {"hevc": "hvc1"}


def temporary_path(path: Path) -> Path:
    """Where `path` is written before it is complete (a hidden `.part` name)."""
    return path.with_name(f".{path.stem}.part{path.suffix}")


def _finishing_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.final.part{path.suffix}")


class ClipWriter:
    """Progressive writer of one clip: `write` items, then `finish` or `abort`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = temporary_path(path)
        self.written = 0  # items in the file
        self._out: Any = None
        # When each written item arrived and where it is in the clip (seconds):
        # a few floats per frame, to cut the clip at a wall time afterwards.
        self._walls: list[float] = []
        self._times: list[float] = []
        self._lock_fd: int | None = None
        self._synced = 0.0  # wall time of the last fsync

    def _create(self) -> Any:
        """Open the temporary file, locked: it is never salvaged while written."""
        self._lock_fd = os.open(self.tmp, os.O_RDONLY | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # (FFmpeg opens the same file, the same inode, when the header is written.)
        return av.open(str(self.tmp), "w", format="mp4", options=FRAGMENT_OPTIONS)

    def write(self, item: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self, until: float | None = None) -> float:
        """Close, turn into a faststart MP4 at `path`; returns the duration.

        What arrived at or after the wall time `until` is dropped, e.g. the end
        of a cooldown past the post-roll.
        """
        cut = None
        if until is not None:
            index = bisect.bisect_left(self._walls, until)
            cut = self._times[index] if index < len(self._times) else None
        try:
            self._close()
            if not self.written:
                raise ValueError("nothing was recorded")
            return finalize(self.tmp, self.path, cut)
        except BaseException:
            self.abort()
            raise

    def _mark(self, wall: float, time: float) -> None:
        self.written += 1
        if wall - self._synced >= SYNC_INTERVAL and self._lock_fd is not None:
            if self._synced:
                os.fsync(self._lock_fd)  # (any descriptor of the file syncs its data)
            self._synced = wall
        if not self._walls or wall >= self._walls[-1]:
            self._walls.append(wall)
            self._times.append(time)

    def abort(self) -> None:
        """Drop the clip (a failed write must not leave files taking space)."""
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):
            self._close()
        self.tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        try:
            if self._out is not None:
                out, self._out = self._out, None
                out.close()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # releases the lock
                self._lock_fd = None


class RemuxWriter(ClipWriter):
    """Remuxes H.264 or H.265 packets (Annex B) as they arrive; the clip starts at a
    keyframe."""

    def __init__(self, path: Path, info: StreamInfo) -> None:
        super().__init__(path)
        self.info = info
        self.sessions = 0  # runs of packets on one camera clock (1 + reconnects)
        self.repaired = 0  # packets whose timestamps were nudged forward
        self._template: Any = None
        self._stream: Any = None
        self._offset = 0  # added to the camera's clock (in ticks) to get the clip's
        self._last_in: int | None = None  # camera clock of the last packet, in ticks
        self._last_wall = 0.0
        self._last_out = -1
        fps = info.fps if info.fps and 1 <= info.fps <= 120 else 15.0
        self._step = round(TICKS / fps)  # one frame, in ticks (then as measured)
        self._need_keyframe = True
        self._reanchor = False  # the next timed packet sets the clock offset anew

    def write(self, packet: EncodedPacket) -> None:
        dts = packet.dts if packet.dts is not None else packet.pts
        pts = packet.pts if packet.pts is not None else dts
        if dts is None or pts is None:
            # FFmpeg's RTSP client gives a session's first keyframe no time: place
            # it one frame on (or after the outage) and let the next packet anchor.
            if self._need_keyframe and not packet.is_keyframe:
                return
            if self._need_keyframe:
                self._start_session(packet, 0)
                out_dts = self._offset
            else:
                elapsed = packet.wall - self._last_wall
                gap = round(elapsed * TICKS) if elapsed > 1.0 else 0  # an outage
                out_dts = self._last_out + max(self._step, gap)
            self._reanchor = True
            self._mux(packet, out_dts, out_dts, None)
            return
        in_dts = _ticks(dts, packet.time_base)
        in_pts = _ticks(pts, packet.time_base)
        if self._reanchor:
            self._offset = self._last_out + self._step - in_dts
            self._reanchor = False
        elif self._last_in is not None:
            step = in_dts - self._last_in
            elapsed = packet.wall - self._last_wall
            if step < -TICKS // 2 or step > (max(0.0, elapsed) + MAX_CLOCK_JUMP) * TICKS:
                self._need_keyframe = True  # a new session: its clock starts anew
        if self._need_keyframe:
            if not packet.is_keyframe:
                return  # nothing decodable before a keyframe
            self._start_session(packet, in_dts)
        out_dts = in_dts + self._offset
        if out_dts <= self._last_out:
            out_dts = self._last_out + 1  # equal or backward: nudge, do not fail
            self.repaired += 1
        out_pts = max(in_pts + self._offset, out_dts)
        self._mux(packet, out_dts, out_pts, in_dts)

    def _mux(self, packet: EncodedPacket, out_dts: int, out_pts: int, in_dts: int | None) -> None:
        out_packet = av.Packet(packet.data)
        out_packet.dts, out_packet.pts = out_dts, out_pts
        out_packet.time_base = TIME_BASE
        out_packet.is_keyframe = packet.is_keyframe
        out_packet.stream = self._stream
        try:
            self._out.mux(out_packet)
        except ValueError:
            return  # a packet FFmpeg refuses costs one frame, not the clip
        if self._last_out >= 0 and in_dts is not None and 1 < out_dts - self._last_out < TICKS:
            self._step = out_dts - self._last_out
        self._last_out = out_dts
        if in_dts is not None:
            self._last_in = in_dts
        self._last_wall = packet.wall
        self._mark(packet.wall, out_dts / TICKS)

    def _start_session(self, packet: EncodedPacket, in_dts: int) -> None:
        if self._out is None:
            # No live input to copy stream parameters from: FFmpeg parses them from
            # SPS/PPS + the first keyframe (the template stays open while muxing).
            head = (self.info.extradata or b"") + packet.data
            codec = self.info.codec
            self._template = av.open(io.BytesIO(head), format=REMUX_FORMATS.get(codec, codec))
            self._out = self._create()
            self._stream = self._out.add_stream_from_template(
                self._template.streams.video[0], opaque=True
            )
            if codec in SAMPLE_ENTRIES:
                self._stream.codec_tag = SAMPLE_ENTRIES[codec]
            self._stream.time_base = TIME_BASE  # the clip clock, kept exactly
            self._offset = -in_dts
        else:
            # After an outage the clip goes on where the wall clock says.
            gap = round(max(0.0, packet.wall - self._last_wall) * TICKS)
            self._offset = self._last_out + max(gap, self._step) - in_dts
        self.sessions += 1
        self._need_keyframe = False

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            if self._template is not None:
                self._template.close()
                self._template = None


class JpegWriter(ClipWriter):
    """Encodes stills with libx264 as they arrive (a keyframe every 2 s)."""

    def __init__(self, path: Path, fps: float | None = None) -> None:
        super().__init__(path)
        self.fps = fps
        self._decoder = ImageDecoder()
        self._stream: Any = None
        self._start = 0.0
        self._last_pts = -1
        self._size = (0, 0)

    def write(self, still: JpegFrame) -> None:
        try:
            image = self._decoder.decode(still.data)
        except SourceError:
            return  # one bad still does not spoil the clip
        if self._out is None:
            self._open(image, still.wall)
        pts = round((still.wall - self._start) * 1000)
        if pts <= self._last_pts:
            return
        width, height = self._size
        frame = image.reformat(width=width, height=height, format="yuv420p")
        frame.pts, frame.time_base = pts, Fraction(1, 1000)
        for packet in self._stream.encode(frame):
            self._out.mux(packet)
        self._last_pts = pts
        self._mark(still.wall, pts / 1000)

    def _open(self, image: Any, wall: float) -> None:
        self._start = wall
        self._size = (image.width - image.width % 2, image.height - image.height % 2)
        rate = Fraction(round(self.fps)) if self.fps else Fraction(10)
        out = self._create()
        stream = out.add_stream("libx264", rate=rate, options=ENCODE_OPTIONS)
        stream.width, stream.height = self._size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.codec_context.gop_size = max(1, round(float(rate) * JPEG_KEYFRAME_SECONDS))
        self._out, self._stream = out, stream

    def _close(self) -> None:
        if self._out is not None and self._stream is not None:
            for packet in self._stream.encode(None):
                self._out.mux(packet)
            self._stream = None
        super()._close()


# Finishing and salvaging ------------------------------------------------------------


def being_written(path: Path) -> bool:
    """Is a writer (of this or another process) still writing `path`?"""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # (also releases a lock taken here)
    return False


def complete_length(path: Path) -> int | None:
    """Bytes of a fragmented MP4 up to the end of its last complete fragment.

    None when not even one fragment (moof + mdat) is complete.
    """
    size = path.stat().st_size
    end: int | None = None
    moof_seen = False
    with path.open("rb") as file:
        position = 0
        while position + 8 <= size:
            file.seek(position)
            header = file.read(16)
            length, kind = struct.unpack(">I4s", header[:8])
            if length == 1 and len(header) == 16:
                length = struct.unpack(">Q", header[8:16])[0]
            if length < 8 or position + length > size:
                break  # cut short (or zero: "to the end", never complete here)
            if kind == b"moof":
                moof_seen = True
            elif kind == b"mdat" and moof_seen:
                end = position + length
                moof_seen = False
            position += length
    return end


def finalize(fragmented: Path, path: Path, until: float | None = None) -> float:
    """Remux a fragmented MP4 (up to its last complete fragment) into a faststart
    MP4 at `path`; `fragmented` is removed. Returns the duration in seconds.
    """
    end = complete_length(fragmented)
    if end is None:
        fragmented.unlink(missing_ok=True)
        raise ValueError("no complete fragment")
    if end < fragmented.stat().st_size:
        os.truncate(fragmented, end)  # a crash cut the last fragment short
    tmp = _finishing_path(path)
    last = first = None
    step = 0
    try:
        with av.open(str(fragmented)) as source:
            stream = source.streams.video[0]
            time_base = stream.time_base or TIME_BASE
            limit = None if until is None else int(until / time_base)
            with av.open(str(tmp), "w", format="mp4", options=MP4_OPTIONS) as out:
                # opaque: the decoder's parameters; the default would open an encoder
                # (libx264/libx265, threads and lookahead) for packets that are copied.
                target = out.add_stream_from_template(stream, opaque=True)
                if stream.codec_context.name in SAMPLE_ENTRIES:
                    target.codec_tag = SAMPLE_ENTRIES[stream.codec_context.name]
                target.time_base = time_base
                for packet in source.demux(stream):
                    if packet.dts is None or packet.pts is None:
                        continue  # the demuxer's end marker
                    if first is None:
                        first = packet.dts
                    elif limit is not None and packet.dts - first >= limit:
                        break
                    if last is not None:
                        if packet.dts <= last:  # (never from our writer; cheap insurance)
                            packet.dts = last + 1
                            packet.pts = max(packet.pts, packet.dts)
                        if (packet.dts - last) * time_base < 1:
                            step = packet.dts - last  # one frame (not an outage)
                    last = packet.dts
                    packet.stream = target
                    out.mux(packet)
        if last is None or first is None:
            raise ValueError("no frames in the clip")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fragmented.unlink(missing_ok=True)
    return float((last - first + step) * time_base)


# Whole clips at once (tools, benchmarks, sharing) -------------------------------


def remux_packets(packets: Sequence[EncodedPacket], info: StreamInfo, path: Path) -> float:
    """Copy H.264 or H.265 packets into an MP4 without re-encoding; returns the duration."""
    if not packets or not packets[0].is_keyframe:
        raise ValueError("a clip must start with a keyframe")
    return _write_all(RemuxWriter(path, info), packets)


def encode_jpegs(frames: Sequence[JpegFrame], path: Path, fps: float | None = None) -> float:
    """Encode stills (MJPEG, snapshot cameras) to H.264 at their own pace."""
    if not frames:
        raise ValueError("no frames to encode")
    return _write_all(JpegWriter(path, fps), frames)


def _write_all(writer: RemuxWriter | JpegWriter, items: Sequence[Any]) -> float:
    write: Callable[[Any], None] = writer.write
    try:
        for item in items:
            write(item)
    except BaseException:
        writer.abort()
        raise
    return writer.finish()


def _ticks(value: int, time_base: Fraction) -> int:
    return value * time_base.numerator * TICKS // time_base.denominator
