"""What a source hands on: small gray frames for analysis and encoded packets."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    # Between two keyframes, decoded to confirm what the last one showed (keyframes only:
    # `Source.request_burst`); every other frame is False.
    burst: bool = False


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One H.264/H.265 access unit as the camera sent it, for recording without
    re-encoding."""

    data: bytes
    pts: int | None
    dts: int | None
    time_base: Fraction
    is_keyframe: bool
    wall: float
    # The stream it came in (codec, size, parameter sets): a reconnect may bring another
    # (the camera's settings changed), and a clip holds one.
    info: StreamInfo | None = field(default=None, compare=False, repr=False)


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

    Frames of at least 3x the analysis height (720p and up, to 120 rows) whose
    first plane is luma and whose size divides into whole blocks of k x k pixels
    (1080p, 720p, 1440p, 4K; at most 1% of the width or height left over, split
    between both edges) become the mean of 3 x 3 evenly spread samples of each
    block, read straight from the decoder's Y plane: no colour conversion, no
    full-size copy (0.8 ms for 1080p fresh from the decoder here, where swscale on
    a thinned copy took 1.1 ms; most of it is reading the rows). Sensor noise is
    still averaged over ~9 samples. Other big frames are thinned the same way (a
    free view) and then area-averaged by swscale; smaller frames (substreams) are
    area-averaged by swscale, which also expands limited-range luma to 0-255.
    """
    width, height = analysis_size(frame.width, frame.height, target_height)
    luma_first = frame.format.name in LUMA_FIRST_FORMATS
    step = max(1, frame.height // (target_height * 3))
    if step > 1 and luma_first:
        # Only big frames: smaller ones keep swscale's exact area average (and its
        # range expansion), which the detector's thresholds were tuned on.
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        fast = block_mean(luma[: frame.height, : frame.width], width, height)
        if fast is not None:
            return fast
        thinned = np.ascontiguousarray(luma[::step, : frame.width : step])
        frame = av.VideoFrame.from_ndarray(thinned, format="gray")
    small = frame.reformat(width=width, height=height, format="gray", interpolation="AREA")
    plane = small.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return np.ascontiguousarray(rows[:, : plane.width])


# Share of a picture's width or height that whole-block averaging may leave out.
BLOCK_SLACK = 0.01
BLOCK_SAMPLES = 3  # samples per block each way


def _block_layout(size: int, out: int) -> tuple[int, int, list[int]] | None:
    """(block size, first pixel, sample offsets in a block) along one axis, or None."""
    block = size // out
    if block < 1 or size - block * out > size * BLOCK_SLACK:
        return None
    samples = min(block, BLOCK_SAMPLES)
    offsets = [block * (2 * i + 1) // (2 * samples) for i in range(samples)]
    return block, (size - block * out) // 2, offsets


def block_mean(luma: GrayImage, width: int, height: int) -> GrayImage | None:
    """`luma` reduced to width x height by averaging samples of whole blocks, or None
    when the sizes do not divide into whole blocks (see `to_analysis_gray`)."""
    rows = _block_layout(luma.shape[0], height)
    cols = _block_layout(luma.shape[1], width)
    if rows is None or cols is None:
        return None
    (ky, y0, dys), (kx, x0, dxs) = rows, cols
    band = slice(x0, x0 + kx * width)
    # Rows first: whole (contiguous) row segments add fast; then the columns.
    lines = luma[y0 + dys[0] :: ky][:height, band].astype(np.uint16)
    for dy in dys[1:]:
        np.add(lines, luma[y0 + dy :: ky][:height, band], out=lines)
    total = lines[:, dxs[0] :: kx]
    total = total[:, :width] if len(dxs) == 1 else total[:, :width].copy()
    for dx in dxs[1:]:
        np.add(total, lines[:, dx::kx][:, :width], out=total)
    count = len(dys) * len(dxs)
    if count == 1:
        return np.ascontiguousarray(total, dtype=np.uint8)
    total += count // 2
    total //= count
    return total.astype(np.uint8)


# Letterbox and pillarbox bars: black, flat, on both opposite edges -----------------

BAR_LEVEL = 24  # brightest a bar may be (limited-range black is 16, full-range 0)
BAR_SPREAD = 4  # brightest minus darkest pixel along a bar line (a dark scene is noisier)
BAR_MIN = 0.02  # thinner edges are not bars (and would hardly move a box)
BAR_SKEW = 0.03  # bars on opposite edges differ at most this much (+2 lines) in size
CONTENT_MIN = 0.4  # bars never leave less of the frame than this


def content_box(gray: GrayImage) -> Box:
    """The part of a detection frame that is picture: the frame without letterbox
    (top and bottom) or pillarbox (left and right) bars, normalised 0-1.

    A bar is a run of edge lines that are each near black (<= BAR_LEVEL) and flat
    (spread <= BAR_SPREAD), all of one level, present on *both* opposite edges with
    about the same size, and leaving at least CONTENT_MIN of the frame. A dark
    night scene is not mistaken for bars: its sensor noise breaks the flatness, a
    dark sky has no matching bar at the bottom, and an all-dark frame leaves no
    picture (the full frame is returned). Call it on a few frames and keep the
    largest box (`union_box`): a real bar is in every frame.
    """
    if gray.ndim != 2 or gray.size == 0:
        return (0.0, 0.0, 1.0, 1.0)
    top, bottom = _bars(gray)
    left, right = _bars(gray.T)
    height, width = gray.shape
    return (left / width, top / height, 1 - right / width, 1 - bottom / height)


def _bars(gray: GrayImage) -> tuple[int, int]:
    """Bar lines (rows of `gray`) at the start and end, or (0, 0)."""
    lines = gray.shape[0]
    # (ufunc reductions: immune to a test re-importing NumPy under coverage)
    low = np.minimum.reduce(gray, axis=1)
    high = np.maximum.reduce(gray, axis=1)
    flat = (high <= BAR_LEVEL) & (high - low <= BAR_SPREAD)
    start = _run(flat)
    end = _run(flat[::-1])
    if start == lines:  # every line is flat black: no picture to frame
        return 0, 0
    least = max(1, round(lines * BAR_MIN))
    if start < least or end < least:
        return 0, 0
    if abs(start - end) > 2 + lines * BAR_SKEW:
        return 0, 0
    if lines - start - end < lines * CONTENT_MIN:
        return 0, 0
    bars = np.concatenate((gray[:start], gray[lines - end :]))
    if (
        int(np.maximum.reduce(bars, axis=None)) - int(np.minimum.reduce(bars, axis=None))
        > BAR_SPREAD
    ):
        return 0, 0  # two different blacks: not one letterbox
    return start, end


def _run(flags: npt.NDArray[np.bool_]) -> int:
    """Length of the run of True at the start of `flags`."""
    falses = np.flatnonzero(~flags)
    return int(falses[0]) if falses.size else len(flags)


def union_box(*boxes: Box) -> Box:
    """The smallest box holding all of `boxes`."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def map_box(box: Box, content: Box) -> Box:
    """A box normalised to the detection frame → normalised to the main picture.

    `content` is where the picture lies in the detection frame (`content_box`);
    it shows the main stream's full field of view, scaled to fit, so different
    resolutions and aspect ratios (a 4:3 substream of a 16:9 camera) need nothing
    more than normalised coordinates. Parts of `box` on the bars are clipped.
    """
    cx0, cy0, cx1, cy1 = content
    span_x, span_y = cx1 - cx0, cy1 - cy0
    if span_x <= 0 or span_y <= 0:
        return box
    x0, y0, x1, y1 = box

    def clip(value: float) -> float:
        return min(1.0, max(0.0, value))

    return (
        clip((x0 - cx0) / span_x),
        clip((y0 - cy0) / span_y),
        clip((x1 - cx0) / span_x),
        clip((y1 - cy0) / span_y),
    )
