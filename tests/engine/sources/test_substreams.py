"""Substreams without a camera: candidate URLs, the luma fast path, letterbox bars, boxes."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import av
import numpy as np
import pytest

from custom_components.privacy_cam.engine.sources.frames import (
    Box,
    analysis_size,
    block_mean,
    content_box,
    map_box,
    to_analysis_gray,
    union_box,
)
from custom_components.privacy_cam.engine.sources.urls import (
    REDACTED,
    redact_url,
    substream_candidates,
)

# Candidate URLs -------------------------------------------------------------------

SUBSTREAMS = [
    # Reolink
    ("rtsp://192.168.1.5:554/h264Preview_01_main", ["rtsp://192.168.1.5:554/h264Preview_01_sub"]),
    ("rtsp://192.168.1.5/h264Preview_02_main", ["rtsp://192.168.1.5/h264Preview_02_sub"]),
    (
        "rtsp://192.168.1.5/h265Preview_01_main",
        ["rtsp://192.168.1.5/h265Preview_01_sub", "rtsp://192.168.1.5/h264Preview_01_sub"],
    ),
    ("rtsp://192.168.1.5:554/Preview_01_main", ["rtsp://192.168.1.5:554/Preview_01_sub"]),
    # Hikvision and OEMs
    ("rtsp://10.0.0.7:554/Streaming/Channels/101", ["rtsp://10.0.0.7:554/Streaming/Channels/102"]),
    ("rtsp://10.0.0.7/Streaming/channels/401/", ["rtsp://10.0.0.7/Streaming/channels/402/"]),
    (
        "rtsp://10.0.0.7/ISAPI/Streaming/channels/101?transportmode=unicast",
        ["rtsp://10.0.0.7/ISAPI/Streaming/channels/102?transportmode=unicast"],
    ),
    ("rtsp://10.0.0.7/Streaming/Channels/1", ["rtsp://10.0.0.7/Streaming/Channels/2"]),
    ("rtsp://10.0.0.7/Streaming/Channels/102", []),  # already the substream
    ("rtsp://10.0.0.7/h264/ch1/main/av_stream", ["rtsp://10.0.0.7/h264/ch1/sub/av_stream"]),
    # Dahua, Amcrest, Lorex
    (
        "rtsp://10.0.0.8:554/cam/realmonitor?channel=1&subtype=0",
        ["rtsp://10.0.0.8:554/cam/realmonitor?channel=1&subtype=1"],
    ),
    (
        "rtsp://10.0.0.8/cam/realmonitor?channel=3&subtype=0&unicast=true&proto=Onvif",
        ["rtsp://10.0.0.8/cam/realmonitor?channel=3&subtype=1&unicast=true&proto=Onvif"],
    ),
    (
        "rtsp://10.0.0.8/cam/realmonitor?channel=1",
        ["rtsp://10.0.0.8/cam/realmonitor?channel=1&subtype=1"],
    ),
    ("rtsp://10.0.0.8/cam/realmonitor", ["rtsp://10.0.0.8/cam/realmonitor?subtype=1"]),
    ("rtsp://10.0.0.8/cam/realmonitor?channel=1&subtype=1", []),
    # TP-Link Tapo and generic stream1
    ("rtsp://192.168.0.20:554/stream1", ["rtsp://192.168.0.20:554/stream2"]),
    ("rtsp://192.168.0.20/stream11", []),
    # Generic main -> sub
    ("rtsp://cam.local/live/main", ["rtsp://cam.local/live/sub"]),
    ("rtsp://cam.local/ch01/Main", ["rtsp://cam.local/ch01/Sub"]),
    ("rtsp://cam.local/MAIN", ["rtsp://cam.local/SUB"]),
    ("rtsp://cam.local/ch1?streamtype=main", ["rtsp://cam.local/ch1?streamtype=sub"]),
    ("rtsp://cam.local/domain/x", []),  # "main" inside a word is not a stream name
    # Unbranded
    ("rtsp://192.168.1.9/ch0_0.264", ["rtsp://192.168.1.9/ch0_1.264"]),
    ("rtsp://192.168.1.9/ch0_0.h264", ["rtsp://192.168.1.9/ch0_1.h264"]),
    ("rtsp://192.168.1.9/live/ch00_0", ["rtsp://192.168.1.9/live/ch00_1"]),
    (
        "rtsp://192.168.1.9:554/user=admin_password=_channel=1_stream=0.sdp?real_stream",
        ["rtsp://192.168.1.9:554/user=admin_password=_channel=1_stream=1.sdp?real_stream"],
    ),
    (
        "rtsp://192.168.1.9/?user=admin&channel=1&stream=0.sdp",
        ["rtsp://192.168.1.9/?user=admin&channel=1&stream=1.sdp"],
    ),
    # Uniview, Sony, Vivotek, Foscam, Bosch, INSTAR
    ("rtsp://172.16.0.3/media/video1", ["rtsp://172.16.0.3/media/video2"]),
    ("rtsp://172.16.0.3/unicast/c2/s0/live", ["rtsp://172.16.0.3/unicast/c2/s1/live"]),
    ("rtsp://172.16.0.3/live.sdp", ["rtsp://172.16.0.3/live2.sdp"]),
    ("rtsp://172.16.0.3:88/videoMain", ["rtsp://172.16.0.3:88/videoSub"]),
    ("rtsp://172.16.0.3/?inst=1", ["rtsp://172.16.0.3/?inst=2"]),
    ("rtsp://172.16.0.3/11", ["rtsp://172.16.0.3/12"]),
    # Nothing known: no guesses
    ("rtsp://172.16.0.3/axis-media/media.amp", []),
    ("rtsps://192.168.1.1:7441/AbCdEf1234567890?enableSrtp", []),
    ("rtsp://172.16.0.3/", []),
    ("rtsp://[fe80::1", []),
    ("rtsp://host:99999/stream1", []),
]


@pytest.mark.parametrize(("url", "expected"), SUBSTREAMS)
def test_substream_candidates(url: str, expected: list[str]) -> None:
    assert substream_candidates(url) == expected


def test_substream_candidates_keep_host_port_and_credentials() -> None:
    url = "rtsp://admin:S3cret%21@192.168.1.5:8554/h264Preview_01_main"
    (candidate,) = substream_candidates(url)
    original, found = urlsplit(url), urlsplit(candidate)
    assert (found.scheme, found.netloc) == (original.scheme, original.netloc)
    assert found.path == "/h264Preview_01_sub"
    # Logged only through redact_url, like every camera URL.
    assert "S3cret" not in redact_url(candidate) and REDACTED in redact_url(candidate)
    dahua = "rtsp://cam/cam/realmonitor?channel=1&subtype=0&user=admin&password=x%26y"
    (candidate,) = substream_candidates(dahua)
    assert candidate == "rtsp://cam/cam/realmonitor?channel=1&subtype=1&user=admin&password=x%26y"
    assert "x%26y" not in redact_url(candidate)
    # Whitespace around a pasted URL does not make the main stream its own candidate.
    assert substream_candidates("  rtsp://cam/stream2 ") == []


def test_every_candidate_is_a_different_url_on_the_same_host() -> None:
    for url, _ in SUBSTREAMS:
        for candidate in substream_candidates(url):
            assert candidate != url
            assert urlsplit(candidate).netloc == urlsplit(url).netloc


# Luma fast path ---------------------------------------------------------------------


def _yuv(luma: np.ndarray, format: str = "yuv420p") -> av.VideoFrame:
    """A frame whose luma plane holds exactly `luma` (neutral chroma)."""
    height, width = luma.shape
    if format == "gray":
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(luma), format="gray")
    if format == "rgb24":
        return av.VideoFrame.from_ndarray(np.repeat(luma[:, :, None], 3, axis=2), format="rgb24")
    frame = av.VideoFrame(width, height, format)
    first = frame.planes[0]
    padded = np.zeros((height, first.line_size), np.uint8)
    padded[:, :width] = luma
    first.update(padded.tobytes())
    for plane in frame.planes[1:]:
        plane.update(bytes([128]) * plane.buffer_size)
    return frame


def _reference(luma: np.ndarray, width: int, height: int) -> np.ndarray:
    """The true mean of each whole block (centred crop), as floats."""
    ky, kx = luma.shape[0] // height, luma.shape[1] // width
    y0, x0 = (luma.shape[0] - ky * height) // 2, (luma.shape[1] - kx * width) // 2
    crop = luma[y0 : y0 + ky * height, x0 : x0 + kx * width].astype(np.float64)
    return crop.reshape(height, ky, width, kx).mean(axis=(1, 3))


@pytest.mark.parametrize(
    ("width", "height"),
    [(1920, 1080), (1280, 720), (640, 360), (640, 480), (320, 240), (2560, 1440), (160, 90)],
)
def test_luma_fast_path_matches_block_means(width: int, height: int) -> None:
    rng = np.random.default_rng(width)
    # Smooth content (a gradient with soft blobs) plus sensor noise.
    yy, xx = np.mgrid[0:height, 0:width]
    luma = 60 + 100 * (xx / width) + 40 * np.sin(yy / 37.0) * np.cos(xx / 53.0)
    luma = np.clip(luma + rng.normal(0, 2, luma.shape), 0, 255).astype(np.uint8)
    frame = _yuv(luma)
    gray = to_analysis_gray(frame, 120)
    out_w, out_h = analysis_size(width, height, 120)
    assert gray.shape == (out_h, out_w) and gray.dtype == np.uint8
    assert gray.flags["C_CONTIGUOUS"]
    reference = _reference(luma, out_w, out_h)
    if height < 3 * 2 * 120:  # not thinned: range-expanded, as swscale always did
        reference = np.clip((reference - 16) * 255 / 219, 0, 255)
    assert np.abs(gray - reference).mean() < 2.5


def test_luma_fast_path_formats_and_fallback() -> None:
    luma = np.tile(np.linspace(0, 255, 640).astype(np.uint8), (360, 1))
    for fmt in ("yuv420p", "nv12", "yuvj422p", "gray"):
        gray = to_analysis_gray(_yuv(luma, fmt), 120)
        assert gray.shape == (120, 212)
        assert int(gray[:, 0].mean()) <= 5 and gray[:, -1].mean() > 245
    # Limited-range luma is stretched (like swscale), full-range formats are not.
    mid = np.full((360, 640), 100, np.uint8)
    assert int(to_analysis_gray(_yuv(mid), 120).mean()) == 98
    assert int(to_analysis_gray(_yuv(mid, "yuvj420p"), 120).mean()) == 100
    # RGB has no luma plane: converted by swscale, same picture.
    rgb = to_analysis_gray(_yuv(luma, "rgb24"), 120)
    assert rgb.shape == (120, 212) and np.abs(rgb.astype(int) - gray).mean() < 6
    # 704x576 (D1) to 120 rows is no whole number of blocks: the swscale path.
    d1 = _yuv(np.full((576, 704), 100, np.uint8))
    assert block_mean(np.zeros((576, 704), np.uint8), 146, 120) is None
    assert to_analysis_gray(d1, 120).shape == (120, 146)
    # 2688x1520 (a 4 MP camera): thinned to every 4th pixel, then swscale.
    big = to_analysis_gray(_yuv(np.full((1520, 2688), 100, np.uint8)), 120)
    assert big.shape == (120, 212) and abs(int(big.mean()) - 100) <= 1
    # (swscale stretches limited-range luma there: 100 -> 98, as before the fast path.)
    assert abs(int(to_analysis_gray(d1, 120).mean()) - 100) <= 2


def test_block_mean_is_exact_on_constant_blocks() -> None:
    blocks = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    luma = blocks.repeat(9, 0).repeat(9, 1)
    out = block_mean(luma, 4, 3)
    assert out is not None and np.array_equal(out, blocks)
    # One sample per block where the blocks are single pixels.
    assert np.array_equal(block_mean(blocks, 4, 3), blocks)  # type: ignore[arg-type]
    # A line-padded plane (line size > width) reads only the picture.
    padded = np.zeros((18, 40), np.uint8)
    padded[:, :36] = luma[:18, :36]
    padded[:, 36:] = 255
    out = block_mean(padded[:, :36], 4, 2)
    assert out is not None and np.array_equal(out, blocks[:2])


# Letterbox bars and box mapping --------------------------------------------------------


def _scene(height: int, width: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(40, 220, (height, width)).astype(np.uint8)


def _approx(box: Box, expected: Box, tolerance: float = 0.011) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(box, expected, strict=True))


def test_content_box_letterbox_and_pillarbox() -> None:
    # A 16:9 picture letterboxed into 4:3 (160x120): bars of 15 rows, black at 16.
    frame = np.full((120, 160), 16, np.uint8)
    frame[15:105] = _scene(90, 160)
    assert _approx(content_box(frame), (0.0, 15 / 120, 1.0, 105 / 120))
    # Full-range black (0) pillarbox: a 4:3 picture in a 16:9 frame.
    frame = np.zeros((120, 212), np.uint8)
    frame[:, 26:186] = _scene(120, 160)
    assert _approx(content_box(frame), (26 / 212, 0.0, 186 / 212, 1.0))
    # Both at once (a windowbox), and a bar one line thicker on one side.
    frame = np.full((120, 212), 16, np.uint8)
    frame[10:111, 20:192] = _scene(101, 172)
    assert _approx(content_box(frame), (20 / 212, 10 / 120, 192 / 212, 111 / 120))
    # No bars: the full frame.
    assert content_box(_scene(120, 212)) == (0.0, 0.0, 1.0, 1.0)
    assert content_box(np.zeros((0, 0), np.uint8)) == (0.0, 0.0, 1.0, 1.0)


def test_content_box_is_not_fooled_by_dark_scenes() -> None:
    rng = np.random.default_rng(7)
    # Night: everything dark with sensor noise.
    night = np.clip(rng.normal(18, 3, (120, 212)), 0, 255).astype(np.uint8)
    night[60:80, 90:110] = 120  # one lit window
    assert content_box(night) == (0.0, 0.0, 1.0, 1.0)
    # A black (clipped, noiseless) sky at the top only: no matching bar at the bottom.
    sky = _scene(120, 212)
    sky[:40] = 16
    assert content_box(sky) == (0.0, 0.0, 1.0, 1.0)
    # Clipped black at top and bottom, but of very different heights.
    uneven = _scene(120, 212)
    uneven[:10] = 16
    uneven[90:] = 16
    assert content_box(uneven) == (0.0, 0.0, 1.0, 1.0)
    # An all-black frame (lens cap, IR off): nothing to frame.
    assert content_box(np.full((120, 212), 16, np.uint8)) == (0.0, 0.0, 1.0, 1.0)
    # Two different blacks on top and bottom: not one letterbox.
    two = _scene(120, 212)
    two[:15] = 0
    two[105:] = 20
    assert content_box(two) == (0.0, 0.0, 1.0, 1.0)
    # Bars of a thin edge (a line or two of encoder black) do not count.
    thin = _scene(120, 212)
    thin[:1] = 16
    thin[-1:] = 16
    assert content_box(thin) == (0.0, 0.0, 1.0, 1.0)
    # Bars that would leave under 40% of the frame are a dark scene, not a letterbox.
    band = np.full((120, 212), 16, np.uint8)
    band[40:80] = _scene(40, 212)
    assert content_box(band) == (0.0, 0.0, 1.0, 1.0)
    # Over a few frames the widest box wins: a dark frame that looked barred is outvoted.
    assert union_box((0.0, 0.2, 1.0, 0.8), (0.0, 0.0, 1.0, 1.0)) == (0.0, 0.0, 1.0, 1.0)
    assert union_box((0.1, 0.2, 0.9, 0.8), (0.2, 0.1, 0.8, 0.9)) == (0.1, 0.1, 0.9, 0.9)


def test_content_box_on_a_decoded_letterboxed_substream(tmp_path: Path) -> None:
    """A 640x480 substream showing a 16:9 picture with limited-range black bars, through
    H.264 and the analysis path, as the pipeline would see it."""
    path = tmp_path / "letterbox.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(5):
            luma = np.full((480, 640), 16, np.uint8)
            luma[60:420] = _scene(360, 640, seed=index)
            frame = _yuv(luma)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        boxes = [content_box(to_analysis_gray(f, 120)) for f in container.decode(video=0)]
    for box in boxes:
        assert _approx(box, (0.0, 0.125, 1.0, 0.875), 0.02)


def test_map_box() -> None:
    # No bars: normalised boxes carry over unchanged, whatever the resolutions.
    assert map_box((0.1, 0.2, 0.3, 0.4), (0.0, 0.0, 1.0, 1.0)) == (0.1, 0.2, 0.3, 0.4)
    # Letterboxed detection frame: y rescaled from the picture band.
    mapped = map_box((0.5, 0.125, 0.75, 0.5), (0.0, 0.125, 1.0, 0.875))
    assert _approx(mapped, (0.5, 0.0, 0.75, 0.5), 1e-9)
    # Pillarbox, and a box reaching onto the bars is clipped to the picture.
    mapped = map_box((0.0, 0.0, 0.5, 1.0), (0.125, 0.0, 0.875, 1.0))
    assert _approx(mapped, (0.0, 0.0, 0.5, 1.0), 1e-9)
    # A degenerate content box maps nothing.
    assert map_box((0.1, 0.1, 0.2, 0.2), (0.5, 0.0, 0.5, 1.0)) == (0.1, 0.1, 0.2, 0.2)
