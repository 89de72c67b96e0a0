"""Write clips as browser-playable MP4: remux H.264 as sent, or encode JPEG stills.

Every file is written under a temporary name and renamed when complete, with
the moov atom before mdat (`+faststart`) so browsers and the HA apps can
start playing before the whole file arrives.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ..sources.errors import SourceError
from ..sources.frames import EncodedPacket, JpegFrame, StreamInfo
from ..sources.jpeg import ImageDecoder

MP4_OPTIONS = {"movflags": "+faststart"}
ENCODE_OPTIONS = {"preset": "veryfast", "crf": "23", "tune": "zerolatency"}


def temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.part{path.suffix}")


def remux_h264(packets: Sequence[EncodedPacket], info: StreamInfo, path: Path) -> float:
    """Copy H.264 packets into an MP4 without re-encoding; returns the duration."""
    return _cleaning_up(path, _remux_h264, packets, info, path)


def encode_jpegs(frames: Sequence[JpegFrame], path: Path, fps: float | None = None) -> float:
    """Encode stills (MJPEG, snapshot cameras) to H.264 at their own pace."""
    return _cleaning_up(path, _encode_jpegs, frames, path, fps)


def _cleaning_up(path: Path, write: Callable[..., float], *args: Any) -> float:
    """A failed write (disk full...) must not leave a partial file taking space."""
    try:
        return write(*args)
    except BaseException:
        temporary_path(path).unlink(missing_ok=True)
        raise


def _remux_h264(packets: Sequence[EncodedPacket], info: StreamInfo, path: Path) -> float:
    """The first packet must be a keyframe. Timestamps are shifted so the clip
    starts at zero. Written to a temporary name, then renamed into place.
    """
    if not packets or not packets[0].is_keyframe:
        raise ValueError("a clip must start with a keyframe")
    # There is no live input container to copy stream parameters from, so
    # FFmpeg parses them from SPS/PPS + the first keyframe (kept open while muxing).
    head = (info.extradata or b"") + packets[0].data
    tmp = temporary_path(path)
    base = _first_dts(packets)
    last = base
    with av.open(io.BytesIO(head), format="h264") as template:
        source_stream = template.streams.video[0]
        with av.open(str(tmp), "w", format="mp4", options=MP4_OPTIONS) as out:
            stream = out.add_stream_from_template(source_stream, opaque=True)
            for packet in packets:
                dts = packet.dts if packet.dts is not None else packet.pts
                pts = packet.pts if packet.pts is not None else dts
                if dts is None or pts is None or dts < last:
                    continue  # no usable time or out of order: drop, never corrupt
                out_packet = av.Packet(packet.data)
                out_packet.dts, out_packet.pts = dts - base, pts - base
                out_packet.time_base = packet.time_base
                out_packet.is_keyframe = packet.is_keyframe
                out_packet.stream = stream
                out.mux(out_packet)
                last = dts
    tmp.replace(path)
    frame = _frame_duration(packets)
    return float((last - base) * packets[0].time_base) + frame


def _encode_jpegs(frames: Sequence[JpegFrame], path: Path, fps: float | None) -> float:
    if not frames:
        raise ValueError("no frames to encode")
    decoder = ImageDecoder()
    tmp = temporary_path(path)
    start = frames[0].wall
    time_base = Fraction(1, 1000)
    last_pts = -1
    with av.open(str(tmp), "w", format="mp4", options=MP4_OPTIONS) as out:
        first = decoder.decode(frames[0].data)
        width, height = first.width - first.width % 2, first.height - first.height % 2
        rate = Fraction(round(fps or 10)) if fps else Fraction(10)
        stream = out.add_stream("libx264", rate=rate, options=ENCODE_OPTIONS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = time_base
        for item in frames:
            try:
                image = decoder.decode(item.data)
            except SourceError:
                continue  # one bad still does not spoil the clip
            pts = round((item.wall - start) * 1000)
            if pts <= last_pts:
                continue
            frame = image.reformat(width=width, height=height, format="yuv420p")
            frame.pts, frame.time_base = pts, time_base
            for packet in stream.encode(frame):
                out.mux(packet)
            last_pts = pts
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.replace(path)
    step = (frames[-1].wall - start) / max(1, len(frames) - 1)
    return max(0.0, frames[-1].wall - start) + step


def _first_dts(packets: Sequence[EncodedPacket]) -> int:
    first = packets[0]
    value = first.dts if first.dts is not None else first.pts
    return value or 0


def _frame_duration(packets: Sequence[EncodedPacket]) -> float:
    """One frame's length, from the spacing of the last two timestamps."""
    stamps = [p.dts for p in packets[-3:] if p.dts is not None]
    if len(stamps) >= 2 and stamps[-1] > stamps[-2]:
        return float((stamps[-1] - stamps[-2]) * packets[0].time_base)
    return 0.0
