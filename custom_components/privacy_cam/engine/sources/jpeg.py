"""JPEG in and out through PyAV, so the always-on path needs no Pillow or OpenCV; and the
colour pictures the classifier takes (`to_rgb`)."""

from __future__ import annotations

from fractions import Fraction
from typing import cast

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from .errors import ErrorKind, SourceError

JPEG_SOI = b"\xff\xd8"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_RGB_WIDTH = 1280  # colour stills for the classifier: enough for a crop of a box

type RgbImage = npt.NDArray[np.uint8]  # HxWx3
# A camera picture larger than this is refused before decoding (a decoder would
# allocate width x height x 1.5 bytes on the header's word).
MAX_SIDE = 8192
MAX_PIXELS = 40_000_000


class ImageTooLarge(SourceError):
    """A picture whose header declares more pixels than we decode."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(ErrorKind.NO_VIDEO, f"picture too large ({width}x{height})")


def check_size(width: int, height: int) -> None:
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageTooLarge(width, height)


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _scaled(frame: av.VideoFrame, width: int | None) -> tuple[int, int]:
    """The frame's size scaled down to `width` (even sides) when it is wider."""
    if width and width < frame.width:
        out_w = max(2, width - width % 2)
        return out_w, max(2, round(frame.height * out_w / frame.width / 2) * 2)
    return frame.width, frame.height


def to_rgb(frame: av.VideoFrame, max_width: int | None = DEFAULT_RGB_WIDTH) -> RgbImage:
    """A frame as an HxWx3 uint8 RGB array, scaled down to `max_width` when wider.

    Any thread may call it: a reformatter of its own, as in `encode_jpeg`.
    """
    out_w, out_h = _scaled(frame, max_width)
    image = VideoReformatter().reformat(frame, width=out_w, height=out_h, format="rgb24")
    return np.ascontiguousarray(image.to_ndarray(), dtype=np.uint8)


def encode_jpeg(frame: av.VideoFrame, width: int | None = None, quality: int = 5) -> bytes:
    """Encode a frame as JPEG, scaled down to `width` when smaller than the frame.

    `quality` is FFmpeg's qscale (2 best .. 31 worst).
    """
    out_w, out_h = _scaled(frame, width)
    # A reformatter of our own: frame.reformat() caches one on the frame, and the latest
    # frame is scaled here (executor) while the source thread scales it for analysis;
    # two threads in one SwsContext crash the process.
    image = VideoReformatter().reformat(frame, width=out_w, height=out_h, format="yuvj420p")
    codec = cast(av.VideoCodecContext, av.CodecContext.create("mjpeg", "w"))
    codec.width, codec.height = out_w, out_h
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    # Pinning the quantiser range gives a fixed quality, as qscale does in ffmpeg's CLI.
    codec.options = {"qmin": str(quality), "qmax": str(quality)}
    packets = [*codec.encode(image), *codec.encode(None)]
    return b"".join(bytes(packet) for packet in packets)


class ImageDecoder:
    """Decodes JPEG and PNG stills, nothing else (no format guessing: a camera must not
    choose which FFmpeg demuxer parses its bytes). JPEG has an optional
    reduced-resolution IDCT. Sizes are checked from the header before decoding."""

    def __init__(self, lowres: int = 0) -> None:
        self.lowres = lowres
        self._codec: av.VideoCodecContext | None = None

    def decode(self, data: bytes) -> av.VideoFrame:
        if not data:
            raise SourceError(ErrorKind.NO_VIDEO, "empty image")
        if data.startswith(JPEG_SOI):
            size = jpeg_size(data)
            if size is None:  # FFmpeg would skip junk and find a header we did not check
                raise SourceError(ErrorKind.NO_VIDEO, "not a decodable JPEG image")
            check_size(*size)
            frame = self._decode_jpeg(data)
            check_size(frame.width, frame.height)
            return frame
        if data.startswith(PNG_SIGNATURE):
            size = png_size(data)
            if size is None:
                raise SourceError(ErrorKind.NO_VIDEO, "not a decodable PNG image")
            check_size(*size)
            return _decode_png(data)
        raise SourceError(ErrorKind.NO_VIDEO, "not a JPEG or PNG image")

    def _decode_jpeg(self, data: bytes) -> av.VideoFrame:
        if self._codec is None:
            codec = av.CodecContext.create("mjpeg", "r")
            # FFmpeg's own limit too, in case a header slips past ours.
            options = {"max_pixels": str(MAX_PIXELS)}
            if self.lowres:
                options["lowres"] = str(self.lowres)
            codec.options = options
            self._codec = codec  # type: ignore[assignment]
        assert self._codec is not None
        try:
            frames = self._codec.decode(av.Packet(data))
        except av.FFmpegError as err:
            self._codec = None
            raise SourceError(ErrorKind.NO_VIDEO, "not a decodable JPEG image") from err
        if not frames:
            raise SourceError(ErrorKind.NO_VIDEO, "not a decodable JPEG image")
        return frames[0]


def _decode_png(data: bytes) -> av.VideoFrame:
    """PNG (some HA cameras) through FFmpeg's PNG decoder only, never a probed demuxer."""
    codec = av.CodecContext.create("png", "r")
    try:
        frames = codec.decode(av.Packet(data))
    except av.FFmpegError as err:
        raise SourceError(ErrorKind.NO_VIDEO, "not a decodable PNG image") from err
    if not frames:
        raise SourceError(ErrorKind.NO_VIDEO, "not a decodable PNG image")
    return frames[0]


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Read (width, height) from a JPEG's SOF headers without decoding it: the largest
    of them (a decoder may honour a later one), None if the header does not parse."""
    i = 2
    n = len(data)
    size: tuple[int, int] | None = None
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: every frame header came before it
            return size
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > n:
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            size = (max(width, size[0]), max(height, size[1])) if size else (width, height)
        i += 2 + length
    return size
