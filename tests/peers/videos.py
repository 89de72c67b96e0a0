"""Generated H.264 (and H.265) test videos with known content."""

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
    encoder: str = "libx264",
) -> Path:
    """A textured scene with a bright square sliding across, as H.264 MP4
    (`encoder="libx265"`: H.265)."""
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 200, (height, width), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(encoder, rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop or fps
        stream.options = _options(encoder, gop or fps)
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


def make_numbered(
    path: Path,
    *,
    fps: int = 10,
    seconds: float = 20.0,
    gop: int = 10,
    encoder: str = "libx264",
    bframes: int = 0,
) -> Path:
    """H.264 (or H.265) whose every frame carries its own number as a 10-bit barcode
    (`bframes`: H.264 with B-frames, which a decoder may hold back to reorder)."""
    width, height = BITS * BLOCK, 96
    with av.open(str(path), "w") as container:
        stream = container.add_stream(encoder, rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = (
            {
                "preset": "veryfast" if bframes else "ultrafast",  # (ultrafast has none)
                "bframes": str(bframes),
                "keyint_min": str(gop),
            }
            if encoder == "libx264"
            else _options(encoder, gop)
        )
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


# One scene as a camera's two streams: a 960x540 main stream and a letterboxed
# 640x480 substream (the 640x360 picture between two black bars); 2 s GOPs.
MAIN_SIZE = (960, 540)
SUB_SIZE = (640, 480)
SUB_BAR = 60
WALKER_APPEARS = 3.0  # seconds into the videos


def make_two_streams(
    folder: Path,
    *,
    fps: int = 10,
    seconds: float = 14.0,
    sub_gop: float = 2.0,
    main_encoder: str = "libx264",
) -> tuple[Path, Path]:
    """From 3 s on, someone walks in from the right edge, staying in the right half.

    `main_encoder="libx265"`: an H.265 main stream (the substream stays H.264)."""
    from ..scenarios import BACKGROUND, HEIGHT, WIDTH, _person  # only for these videos

    rng = np.random.default_rng(5)
    main: list[av.VideoFrame] = []
    subs: list[av.VideoFrame] = []
    for index in range(int(seconds * fps)):
        image = BACKGROUND + rng.normal(0, 3.0, (HEIGHT, WIDTH, 1)).astype(np.float32)
        if (t := index / fps) >= WALKER_APPEARS:
            _person(image, max(0.55, 1.0 - (t - WALKER_APPEARS) * 0.09), 0.45)
        picture = np.clip(image, 0, 255).astype(np.uint8)
        main.append(av.VideoFrame.from_ndarray(picture, "rgb24").reformat(*MAIN_SIZE))
        boxed = np.zeros((SUB_SIZE[1], SUB_SIZE[0], 3), np.uint8)
        boxed[SUB_BAR : SUB_BAR + HEIGHT] = picture
        subs.append(av.VideoFrame.from_ndarray(boxed, "rgb24"))
    return (
        _encode(folder / "main.mp4", main, MAIN_SIZE, fps, 2.0, main_encoder),
        _encode(folder / "sub.mp4", subs, SUB_SIZE, fps, sub_gop),
    )


def _encode(
    path: Path,
    frames: list[av.VideoFrame],
    size: tuple[int, int],
    fps: int,
    gop: float,
    encoder: str = "libx264",
) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(encoder, rate=Fraction(fps, 1))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = round(gop * fps)
        stream.options = _options(encoder, round(gop * fps))
        for index, frame in enumerate(frames):
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _options(encoder: str, gop: int) -> dict[str, str]:
    if encoder == "libx265":  # as cameras send it: no B-frames, a fixed keyframe interval
        params = f"bframes=0:keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error"
        return {"preset": "ultrafast", "x265-params": params}
    return {"preset": "ultrafast", "bframes": "0"}


def transcode_h264(source: Path, path: Path, *, seconds: float, gop: int = 10) -> Path:
    """The first `seconds` of a real video (e.g. vtest.avi) as H.264 MP4, for the RTSP peer."""
    with av.open(str(source)) as original, av.open(str(path), "w") as container:
        video = original.streams.video[0]
        fps = video.average_rate or Fraction(10, 1)
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "ultrafast", "bframes": "0"}
        for index, frame in enumerate(original.decode(video)):
            if index >= seconds * fps:
                break
            image = frame.reformat(format="yuv420p")
            image.pts = index
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
