"""A built-in synthetic camera: a garden with someone walking through now and then.

The scene is generated, encoded to real H.264 with libx264 and decoded like
any camera, so every later stage (detection, remuxed recording) runs on the
same path as with a real RTSP camera.
"""

from __future__ import annotations

import time
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

from .frames import EncodedPacket, StreamInfo
from .source import Source

DEMO_WIDTH = 640
DEMO_HEIGHT = 360
DEMO_FPS = 10
# Every cycle someone walks across, then the garden stays still.
CYCLE_SECONDS = 20.0
WALK_START = 3.0
WALK_SECONDS = 7.0

type RGB = npt.NDArray[np.uint8]


class DemoScene:
    """Pure frame generator: time in, RGB picture out."""

    def __init__(self, width: int = DEMO_WIDTH, height: int = DEMO_HEIGHT, seed: int = 7) -> None:
        self.width, self.height = width, height
        self.background = _garden(width, height, np.random.default_rng(seed))

    def walker_box(self, t: float) -> tuple[int, int, int, int] | None:
        """Pixel box (x0, y0, x1, y1) of the walker at time t, or None when absent."""
        cycle, phase = divmod(t, CYCLE_SECONDS)
        if not WALK_START <= phase < WALK_START + WALK_SECONDS:
            return None
        progress = (phase - WALK_START) / WALK_SECONDS
        if int(cycle) % 2:
            progress = 1 - progress
        body_w, body_h = self.width // 14, self.height * 2 // 5
        x0 = int(-body_w + progress * (self.width + body_w))
        y1 = self.height * 9 // 10
        return x0, y1 - body_h, x0 + body_w, y1

    def render(self, t: float) -> RGB:
        frame = self.background.copy()
        box = self.walker_box(t)
        if box is not None:
            _draw_walker(frame, box, t)
        return frame


def _garden(width: int, height: int, rng: np.random.Generator) -> RGB:
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    horizon = 0.45
    sky = np.stack([150 + 60 * y + 0 * x, 180 + 40 * y + 0 * x, 235 + 0 * y + 0 * x], axis=-1)
    grass_tex = rng.normal(0, 12, (height, width)).astype(np.float32)
    grass = np.stack([60 + grass_tex, 130 + grass_tex + 30 * y, 55 + grass_tex], axis=-1)
    image = np.where((y < horizon)[..., None], sky, grass)
    # A house and a path give the eye (and the detector) some fixed structure.
    hx0, hx1, hy0, hy1 = int(width * 0.6), int(width * 0.9), int(height * 0.2), int(height * 0.5)
    image[hy0:hy1, hx0:hx1] = (200, 170, 140)
    image[int(height * 0.33) : hy1, int(width * 0.7) : int(width * 0.76)] = (90, 60, 40)
    image[int(height * 0.5) :, int(width * 0.3) : int(width * 0.4)] += 35
    return np.clip(image, 0, 255).astype(np.uint8)


def _draw_walker(frame: RGB, box: tuple[int, int, int, int], t: float) -> None:
    x0, y0, x1, y1 = box
    h, w = frame.shape[:2]
    head = (y1 - y0) // 6
    cx = (x0 + x1) // 2
    sway = int(3 * np.sin(t * 8))
    parts = [
        (cx - head // 2, y0, cx + head // 2, y0 + head, (225, 190, 160)),  # head
        (x0, y0 + head, x1, y0 + head * 7 // 2, (180, 40, 40)),  # coat
        (x0 + sway, y0 + head * 7 // 2, cx - 1 + sway, y1, (40, 40, 70)),  # legs
        (cx + 1 - sway, y0 + head * 7 // 2, x1 - sway, y1, (40, 40, 70)),
    ]
    for left, top, right, bottom, colour in parts:
        px0, px1 = max(0, left), min(w, right)
        py0, py1 = max(0, top), min(h, bottom)
        if px0 < px1 and py0 < py1:
            frame[py0:py1, px0:px1] = colour


class DemoSource(Source):
    """Plays the demo scene in real time as an H.264 camera."""

    def _run_session(self) -> None:
        scene = DemoScene()
        encoder = av.CodecContext.create("libx264", "w")
        encoder.width, encoder.height = scene.width, scene.height
        encoder.pix_fmt = "yuv420p"
        encoder.time_base = Fraction(1, DEMO_FPS)
        encoder.framerate = Fraction(DEMO_FPS, 1)
        encoder.gop_size = DEMO_FPS * 2
        encoder.options = {"preset": "ultrafast", "tune": "zerolatency"}
        # SPS/PPS as extradata, so clips can be remuxed into MP4 without re-encoding.
        encoder.flags |= av.codec.context.Flags.global_header
        started = time.monotonic()
        index = 0
        while not self._stopping:
            t = index / DEMO_FPS
            rgb = av.VideoFrame.from_ndarray(scene.render(t), format="rgb24")
            frame = rgb.reformat(format="yuv420p")
            frame.pts = index
            frame.time_base = encoder.time_base
            now = time.monotonic()
            for packet in encoder.encode(frame):
                if self.info is None:
                    self._set_info(
                        StreamInfo(
                            codec="h264",
                            width=scene.width,
                            height=scene.height,
                            fps=float(DEMO_FPS),
                            time_base=encoder.time_base,
                            extradata=encoder.extradata,
                        )
                    )
                self._emit_packet(
                    EncodedPacket(
                        bytes(packet),
                        packet.pts,
                        packet.dts,
                        encoder.time_base,
                        packet.is_keyframe,
                        time.time(),
                    )
                )
            self._emit_frame(frame, now)
            index += 1
            self._stop.wait(max(0.0, started + index / DEMO_FPS - time.monotonic()))
