"""What a source hands on: small gray frames for analysis and encoded packets."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

type GrayImage = npt.NDArray[np.uint8]
# A region of the picture as (x0, y0, x1, y1), each 0-1 of the width/height.
type Box = tuple[float, float, float, float]

# 8-bit formats whose first plane is full-resolution luma.
LUMA_FIRST_FORMATS = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "nv12", "gray"}
)
DEFAULT_ANALYSIS_HEIGHT = 120  # what motion detection works on


@dataclass(frozen=True, slots=True)
class AnalysisFrame:
    """A gray frame at analysis size.

    `time` is seconds on the stream's clock (monotonic for live sources, media
    time for files); `wall` is the UNIX time the frame arrived.
    """

    seq: int
    time: float
    wall: float
    gray: GrayImage


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One H.264 access unit as the camera sent it, for recording without re-encoding."""

    data: bytes
    pts: int | None
    dts: int | None
    time_base: Fraction
    is_keyframe: bool
    wall: float


@dataclass(frozen=True, slots=True)
class JpegFrame:
    """A still as the camera sent it, with its arrival time; always a keyframe."""

    data: bytes
    wall: float
    is_keyframe: bool = True


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What a source found out about its video."""

    codec: str
    width: int
    height: int
    fps: float | None = None
    time_base: Fraction | None = None
    extradata: bytes | None = None


def analysis_size(width: int, height: int, target_height: int) -> tuple[int, int]:
    """Scale (width, height) down to target_height, keeping aspect, even sizes."""
    if height <= target_height:
        return width - width % 2, height - height % 2
    out_w = max(2, round(width * target_height / height))
    return out_w - out_w % 2, target_height - target_height % 2


def to_analysis_gray(frame: av.VideoFrame, target_height: int) -> GrayImage:
    """Scale a decoded frame to analysis size as 8-bit luma.

    Large frames are first thinned to every n-th pixel of the Y plane (a free
    view), keeping at least three samples per output pixel each way, then
    area-averaged by swscale: ~0.2 ms for 1080p instead of ~0.5 ms for a
    full area filter, and sensor noise is still averaged over ~9 samples.
    """
    step = max(1, frame.height // (target_height * 3))
    if step > 1 and frame.format.name in LUMA_FIRST_FORMATS:
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        thinned = np.ascontiguousarray(luma[::step, : frame.width : step])
        frame = av.VideoFrame.from_ndarray(thinned, format="gray")
    width, height = analysis_size(frame.width, frame.height, target_height)
    small = frame.reformat(width=width, height=height, format="gray", interpolation="AREA")
    plane = small.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return np.ascontiguousarray(rows[:, : plane.width])
