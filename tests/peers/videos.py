"""Generated H.264 test videos with known content."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np


def make_h264(
    path: Path,
    *,
    width: int = 320,
    height: int = 240,
    fps: int = 10,
    seconds: float = 20.0,
    gop: int | None = None,
    seed: int = 1,
) -> Path:
    """A textured scene with a bright square sliding across, as H.264 MP4."""
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 200, (height, width), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop or fps
        stream.options = {"preset": "ultrafast", "bframes": "0"}
        size = max(8, height // 5)
        for index in range(int(seconds * fps)):
            luma = background.copy()
            x = (index * 4) % max(1, width - size)
            luma[height // 3 : height // 3 + size, x : x + size] = 250
            frame = av.VideoFrame(width, height, "yuv420p")
            frame.planes[0].update(_pad(luma, frame.planes[0].line_size))
            for plane in frame.planes[1:]:
                plane.update(bytes([128]) * plane.buffer_size)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _pad(luma: np.ndarray, line_size: int) -> bytes:
    height, width = luma.shape
    if line_size == width:
        return luma.tobytes()
    padded = np.zeros((height, line_size), np.uint8)
    padded[:, :width] = luma
    return padded.tobytes()


def jpeg_frames(count: int = 10, width: int = 320, height: int = 240) -> list[bytes]:
    """Distinct JPEG images (a moving square) for MJPEG and snapshot servers."""
    from custom_components.privacy_cam.engine.sources.jpeg import encode_jpeg

    images = []
    for index in range(count):
        rgb = np.full((height, width, 3), 90, np.uint8)
        x = index * (width // count)
        rgb[height // 3 : height // 3 + 40, x : x + 40] = (250, 250, 250)
        images.append(encode_jpeg(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
    return images


BITS = 10
BLOCK = 32


def make_numbered(path: Path, *, fps: int = 10, seconds: float = 20.0, gop: int = 10) -> Path:
    """H.264 whose every frame carries its own number as a 10-bit barcode on top."""
    width, height = BITS * BLOCK, 96
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "ultrafast", "bframes": "0", "keyint_min": str(gop)}
        for index in range(int(seconds * fps)):
            luma = np.full((height, width), 60, np.uint8)
            for bit in range(BITS):
                if index >> bit & 1:
                    luma[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 220
            frame = av.VideoFrame.from_ndarray(luma, format="gray").reformat(format="yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def read_number(frame: av.VideoFrame) -> int:
    """The frame number drawn by make_numbered."""
    luma = frame.to_ndarray(format="gray")
    return sum(1 << bit for bit in range(BITS) if luma[BLOCK // 2, bit * BLOCK + BLOCK // 2] > 140)


def read_packets(path: Path, count: int) -> tuple[list[Any], Any]:
    """The first `count` H.264 packets of a file as a camera source hands them on."""
    import time

    from custom_components.privacy_cam.engine import SourceConfig, create_source

    source = create_source(SourceConfig(kind="file", url=str(path)))
    packets: list[Any] = []
    source.add_packet_callback(packets.append)
    source.start()
    try:
        source.wait_ready(5)
        deadline = time.monotonic() + 10
        while len(packets) < count and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        source.stop()
    assert source.info is not None and len(packets) >= count
    return packets[:count], source.info
