"""Build the package a report may share: minimised and redacted, on this box.

From a stored clip: only the event (pre/post-roll dropped), at most 640 px wide,
video only (no audio), no container metadata and no encoder tags, time starting
at zero. Redaction happens before anyone can preview it: privacy masks painted
black, everything outside the motion region pixelated (default), faces
pixelated where a face finder is available.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import numpy.typing as npt

from ..motion.zones import Polygon, rasterise
from ..recording.clipwriter import temporary_path
from .destinations import sha256_file
from .faces import FaceFinder, Rect

MAX_WIDTH = 640
BLOCK = 16  # pixelation block (pixels) outside the motion region
FACE_EVERY = 3  # look for faces on every n-th frame; boxes stay on in between
ENCODE_OPTIONS = {"preset": "veryfast", "crf": "26"}
# bitexact: no encoder name/version in the container; the SEI filter drops x264's
# settings string (and any camera SEI) from the video stream itself.
MP4_OPTIONS = {"movflags": "+faststart", "fflags": "+bitexact"}
SEI_FILTER = "filter_units=remove_types=6"

type Image = npt.NDArray[np.uint8]
type Box = tuple[float, float, float, float]


class PackageError(Exception):
    """The clip could not be turned into a package (unreadable, or nothing in range)."""


@dataclass(frozen=True, slots=True)
class Redaction:
    masks: tuple[Polygon, ...] = ()
    box: Box | None = None  # normalised motion region (x0, y0, x1, y1)
    blur_outside: bool = True
    margin: float = 0.05  # kept around the motion region, as a share of the frame


@dataclass(frozen=True, slots=True)
class Package:
    path: Path
    sha256: str
    size: int
    duration: float
    width: int
    height: int
    frames: int
    faces_checked: bool
    face_frames: int  # frames in which at least one face was pixelated
    outside_blurred: bool
    masks: int

    def summary(self) -> str:
        """One line for the consent text: what was hidden."""
        parts = [f"{self.masks} privacy mask(s) painted black" if self.masks else "no masks set"]
        parts.append(
            "everything outside the motion region pixelated"
            if self.outside_blurred
            else "the whole picture left visible"
        )
        if not self.faces_checked:
            parts.append("faces NOT checked (no face detector on this system)")
        elif self.face_frames:
            parts.append(f"faces pixelated in {self.face_frames} of {self.frames} frames")
        else:
            parts.append("faces looked for, none found")
        return "; ".join(parts)


def build_package(
    source: Path,
    dest: Path,
    window: tuple[float, float] | None,
    redaction: Redaction,
    face_finder: FaceFinder | None,
) -> Package:
    """Write `dest` (temporary name, then renamed); `window` is in clip seconds."""
    tmp = temporary_path(dest)
    try:
        result = _build(source, tmp, window, redaction, face_finder)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    frames, width, height, duration, face_frames = result
    return Package(
        path=dest,
        sha256=sha256_file(dest),
        size=dest.stat().st_size,
        duration=round(duration, 3),
        width=width,
        height=height,
        frames=frames,
        faces_checked=face_finder is not None,
        face_frames=face_frames,
        outside_blurred=redaction.blur_outside and redaction.box is not None,
        masks=len(redaction.masks),
    )


def output_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_WIDTH / width)
    return max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)


def _build(
    source: Path,
    tmp: Path,
    window: tuple[float, float] | None,
    redaction: Redaction,
    face_finder: FaceFinder | None,
) -> tuple[int, int, int, float, int]:
    time_base = Fraction(1, 1000)
    frames = face_frames = 0
    first: float | None = None
    last_ms = -1
    faces: list[Rect] = []
    held = 0
    try:
        container = av.open(str(source))
    except (av.FFmpegError, OSError) as err:
        raise PackageError(f"cannot read the clip: {err}") from err
    with container as inp:
        if not inp.streams.video:
            raise PackageError("the clip has no video")
        video = inp.streams.video[0]
        start = video.start_time or 0
        rate = Fraction(round(float(video.average_rate or 10)) or 10)
        with av.open(str(tmp), "w", format="mp4", options=MP4_OPTIONS) as out:
            stream = None
            sei = _SeiFilter()
            width = height = 0
            masked = keep = None
            for frame in inp.decode(video):
                if frame.pts is None:
                    continue
                seconds = float((frame.pts - start) * (video.time_base or Fraction(1, 90000)))
                if window is not None and seconds < window[0]:
                    continue
                if window is not None and seconds > window[1]:
                    break
                if stream is None:
                    width, height = output_size(frame.width, frame.height)
                    stream = out.add_stream("libx264", rate=rate, options=ENCODE_OPTIONS)
                    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                    stream.codec_context.time_base = time_base
                    masked = rasterise(redaction.masks, height, width)
                    keep = _keep_region(redaction, height, width)
                    first = seconds
                assert first is not None and masked is not None
                ms = round((seconds - first) * 1000)
                if ms <= last_ms:
                    continue
                scaled = frame.reformat(width=width, height=height, format="rgb24")
                image = cast(Image, scaled.to_ndarray())
                if face_finder is not None:
                    if frames % FACE_EVERY == 0:
                        found = face_finder(_gray(image))
                        # One miss keeps the last boxes: detectors flicker on moving faces.
                        faces, held = (found, 1) if found else (faces if held else [], 0)
                    if faces:
                        face_frames += 1
                        _pixelate_rects(image, faces)
                if keep is not None:
                    image = np.where(keep[:, :, None], image, _pixelated(image, BLOCK))
                image[masked] = 0
                out_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                out_frame.pts, out_frame.time_base = ms, time_base
                for packet in stream.encode(out_frame):
                    sei.mux(out, stream, packet)
                frames += 1
                last_ms = ms
            if stream is None:
                raise PackageError("no frames in the event's time range")
            for packet in stream.encode(None):
                sei.mux(out, stream, packet)
            sei.mux(out, stream, None)
    step = 1.0 / float(rate)
    return frames, width, height, last_ms / 1000 + step, face_frames


class _SeiFilter:
    """Drops SEI units. Made at the first packet: the filter copies the stream's
    parameters, which exist only once the encoder is open."""

    def __init__(self) -> None:
        self._context: av.BitStreamFilterContext | None = None

    def mux(
        self, out: av.container.OutputContainer, stream: av.VideoStream, packet: av.Packet | None
    ) -> None:
        if self._context is None:
            if packet is None:
                return
            self._context = av.BitStreamFilterContext(SEI_FILTER, stream)
        for filtered in self._context.filter(packet):
            filtered.stream = stream
            out.mux(filtered)


def _keep_region(redaction: Redaction, height: int, width: int) -> npt.NDArray[np.bool_] | None:
    if not redaction.blur_outside or redaction.box is None:
        return None
    x0, y0, x1, y1 = redaction.box
    m = redaction.margin
    left, right = int(max(0.0, x0 - m) * width), int(np.ceil(min(1.0, x1 + m) * width))
    top, bottom = int(max(0.0, y0 - m) * height), int(np.ceil(min(1.0, y1 + m) * height))
    keep = np.zeros((height, width), bool)
    keep[top:bottom, left:right] = True
    return keep


def _gray(image: Image) -> Image:
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    return (image.astype(np.float32) @ weights).astype(np.uint8)


def _pixelated(image: Image, block: int) -> Image:
    """Each block x block tile replaced by its mean (edges padded)."""
    height, width, channels = image.shape
    rows, cols = -(-height // block), -(-width // block)
    padded = np.pad(image, ((0, rows * block - height), (0, cols * block - width), (0, 0)), "edge")
    tiles = padded.reshape(rows, block, cols, block, channels).mean(axis=(1, 3)).astype(np.uint8)
    big = np.repeat(np.repeat(tiles, block, axis=0), block, axis=1)
    return big[:height, :width]


def _pixelate_rects(image: Image, rects: list[Rect]) -> None:
    height, width = image.shape[:2]
    for x, y, w, h in rects:
        # A margin catches hair, ears and detector jitter.
        pad_x, pad_y = w // 4, h // 4
        left, top = max(0, x - pad_x), max(0, y - pad_y)
        right, bottom = min(width, x + w + pad_x), min(height, y + h + pad_y)
        if right > left and bottom > top:
            region = image[top:bottom, left:right]
            block = max(4, (right - left) // 5)
            image[top:bottom, left:right] = _pixelated(region, block)
