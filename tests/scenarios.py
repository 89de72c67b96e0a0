"""Generated motion scenarios with ground truth known by construction.

Each scenario renders a textured scene at 640x360 (sensor noise included),
encodes it to H.264 and states when an object is present. Nuisance scenarios
have no object at all: any event there is a false alarm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from custom_components.privacy_cam.engine.motion.detector import MotionSettings

WIDTH, HEIGHT, FPS = 640, 360, 10
RGB = npt.NDArray[np.float32]


@dataclass
class Scenario:
    name: str
    seconds: float
    render: Callable[[float, np.random.Generator], RGB]
    appears: float | None = None  # when the object first shows (None: nuisance only)
    settings: MotionSettings = field(default_factory=MotionSettings)

    @property
    def has_object(self) -> bool:
        return self.appears is not None


def _scene(seed: int = 3) -> RGB:
    """A garden-like backdrop: sky, wall, grass texture, a path, some structure."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    x = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :, None]
    image = np.where(y < 0.35, [150, 175, 210] + 40 * y, [70, 120, 60] + 0 * y) + 0 * x
    texture = rng.normal(0, 14, (HEIGHT // 4, WIDTH // 4)).repeat(4, 0).repeat(4, 1)
    image = image + texture[..., None] * (y >= 0.35)
    image[int(HEIGHT * 0.15) : int(HEIGHT * 0.5), int(WIDTH * 0.55) : int(WIDTH * 0.9)] = (
        190,
        160,
        130,
    )
    bricks = (np.arange(WIDTH) % 24 < 2)[None, :] | (np.arange(HEIGHT) % 12 < 2)[:, None]
    region = (
        slice(int(HEIGHT * 0.15), int(HEIGHT * 0.5)),
        slice(int(WIDTH * 0.55), int(WIDTH * 0.9)),
    )
    image[region][bricks[region]] = (120, 100, 90)
    image[int(HEIGHT * 0.6) :, int(WIDTH * 0.2) : int(WIDTH * 0.3)] += 30
    return np.clip(image, 0, 255).astype(np.float32)


BACKGROUND = _scene()


def _noise(rng: np.random.Generator, sigma: float = 3.0) -> RGB:
    return rng.normal(0, sigma, (HEIGHT, WIDTH, 1)).astype(np.float32)


def _draw(image: RGB, x: float, y: float, w: float, h: float, colour: tuple[int, int, int]) -> None:
    """Draw a box in normalised coordinates (x, y = top-left)."""
    x0, x1 = int(max(0, x) * WIDTH), int(min(1, x + w) * WIDTH)
    y0, y1 = int(max(0, y) * HEIGHT), int(min(1, y + h) * HEIGHT)
    if x0 < x1 and y0 < y1:
        image[y0:y1, x0:x1] = colour


def _person(image: RGB, x: float, y: float = 0.45, scale: float = 1.0) -> None:
    w, h = 0.06 * scale, 0.42 * scale
    _draw(image, x + w * 0.3, y, w * 0.4, h * 0.15, (220, 185, 160))  # head
    _draw(image, x, y + h * 0.15, w, h * 0.45, (60, 60, 140))  # coat
    _draw(image, x + w * 0.05, y + h * 0.6, w * 0.4, h * 0.4, (40, 40, 40))  # legs
    _draw(image, x + w * 0.55, y + h * 0.6, w * 0.4, h * 0.4, (40, 40, 40))


def _crossing(appears: float, speed: float, scale: float = 1.0) -> Callable[..., RGB]:
    def render(t: float, rng: np.random.Generator) -> RGB:
        image = BACKGROUND + _noise(rng)
        if t >= appears:
            x = -0.06 * scale + (t - appears) * speed
            if x < 1.0:
                _person(image, x, 0.5 - 0.05 * scale, scale)
        return image

    return render


def _cat(t: float, rng: np.random.Generator) -> RGB:
    image = BACKGROUND + _noise(rng)
    if t >= 4.0:
        x = 1.0 - (t - 4.0) * 0.15
        if x > -0.06:
            _draw(image, x, 0.86, 0.06, 0.045, (90, 80, 70))  # body
            _draw(image, x - 0.015, 0.84, 0.02, 0.03, (90, 80, 70))  # head
    return image


def _enter_and_stop(t: float, rng: np.random.Generator) -> RGB:
    image = BACKGROUND + _noise(rng)
    if t >= 4.0:
        x = min(0.45, -0.06 + (t - 4.0) * 0.17)
        _person(image, x)
    return image


def _light_switch(t: float, rng: np.random.Generator) -> RGB:
    """A lamp at the left lights the scene unevenly from 5 s to 12 s."""
    image = BACKGROUND * 0.45 + _noise(rng, 4)
    if 5.0 <= t < 12.0:
        xs = np.linspace(1.0, 0.2, WIDTH, dtype=np.float32)[None, :, None]
        image = image * (1.0 + 1.2 * xs) + 25 * xs
    return image


def _dusk(t: float, rng: np.random.Generator) -> RGB:
    level = 1.0 - 0.85 * min(1.0, t / 25.0)
    return BACKGROUND * level + _noise(rng, 3 + 6 * (1 - level))


def _ir_flip(t: float, rng: np.random.Generator) -> RGB:
    """Colour by day; at 6 s the camera flips to IR: gray, vegetation bright, more contrast."""
    if t < 6.0:
        return BACKGROUND * 0.5 + _noise(rng, 4)
    ir = BACKGROUND[..., 1:2] * 0.7 + BACKGROUND[..., 0:1] * 0.5  # leaves reflect IR
    gray = np.clip((ir - 60) * 1.6 + 40, 0, 255)
    return np.repeat(gray, 3, axis=2) + _noise(rng, 6)


def _night_noise(t: float, rng: np.random.Generator) -> RGB:
    return BACKGROUND * 0.12 + _noise(rng, 14)


def _exposure(t: float, rng: np.random.Generator) -> RGB:
    gain = 1.0 if t < 5.0 else (1.6 if t < 10.0 else 0.65)
    return BACKGROUND * 0.6 * gain + _noise(rng)


def _rain(t: float, rng: np.random.Generator) -> RGB:
    image = BACKGROUND * 0.7 + _noise(rng)
    for _ in range(120):
        x = int(rng.integers(0, WIDTH))
        y = int(rng.integers(0, HEIGHT - 20))
        image[y : y + 18, x : x + 1] += 45
    return image


def _branch(t: float, rng: np.random.Generator) -> RGB:
    """Leaves swaying in a fixed region (top-left tree)."""
    image = BACKGROUND + _noise(rng)
    shift = round(4 * np.sin(2 * np.pi * 0.8 * t))
    leaves = _LEAVES
    y0, x0 = 10, 20 + shift
    image[y0 : y0 + leaves.shape[0], x0 : x0 + leaves.shape[1]] = leaves
    return image


_LEAVES = np.clip(
    np.random.default_rng(9).normal(0, 40, (90, 110, 1)) + np.array([40, 110, 40]), 0, 255
).astype(np.float32)

SCREEN_BOX = (0.62, 0.2, 0.8, 0.42)  # x0, y0, x1, y1 of a TV inside a mask


def _screen(t: float, rng: np.random.Generator) -> RGB:
    image = BACKGROUND * 0.5 + _noise(rng)
    x0, y0, x1, y1 = SCREEN_BOX
    level = float(rng.uniform(20, 230))
    image[int(y0 * HEIGHT) : int(y1 * HEIGHT), int(x0 * WIDTH) : int(x1 * WIDTH)] = level
    return image


_SCREEN_MASK = (
    (SCREEN_BOX[0] - 0.02, SCREEN_BOX[1] - 0.02),
    (SCREEN_BOX[2] + 0.02, SCREEN_BOX[1] - 0.02),
    (SCREEN_BOX[2] + 0.02, SCREEN_BOX[3] + 0.02),
    (SCREEN_BOX[0] - 0.02, SCREEN_BOX[3] + 0.02),
)

OBJECT_SCENARIOS = [
    Scenario("person_crossing", 16, _crossing(4.0, 0.18), appears=4.0),
    Scenario("cat", 16, _cat, appears=4.0),
    Scenario("slow_walker", 20, _crossing(4.0, 0.03), appears=4.0),
    Scenario("enter_and_stop", 25, _enter_and_stop, appears=4.0),
    Scenario("close_person", 12, _crossing(4.0, 0.35, scale=2.0), appears=4.0),
]
NUISANCE_SCENARIOS = [
    Scenario("light_switch", 18, _light_switch),
    Scenario("dusk_ramp", 30, _dusk),
    Scenario("ir_day_to_night", 16, _ir_flip),
    Scenario("night_noise", 20, _night_noise),
    Scenario("auto_exposure", 16, _exposure),
    Scenario("rain", 16, _rain),
    Scenario("masked_screen", 16, _screen, settings=MotionSettings(masks=(_SCREEN_MASK,))),
]
BRANCH = Scenario("swaying_branch", 30, _branch)


def render_video(scenario: Scenario, path: Path, seed: int = 0) -> Path:
    """Encode the scenario as H.264 (as a camera would send it)."""
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS, 1))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for index in range(int(scenario.seconds * FPS)):
            rgb = np.clip(scenario.render(index / FPS, rng), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


# A flag on a pole that flaps in gusts (4-8 s of every 14 s): a real nuisance that fires.
FLAG_BOX = (0.72, 0.25, 0.86, 0.45)  # x0, y0, x1, y1


def _flag_image(t: float, rng: np.random.Generator, image: RGB) -> None:
    if 4.0 <= (t % 14.0) < 8.0:
        x0, y0, x1, y1 = FLAG_BOX
        h, w = int((y1 - y0) * HEIGHT), int((x1 - x0) * WIDTH)
        phase = rng.uniform(0, 6.28)
        wave = np.sin(np.linspace(0, 12, w)[None, :] + phase + np.linspace(0, 3, h)[:, None]) > 0
        flag = np.where(wave[..., None], [230.0, 40.0, 40.0], [250.0, 250.0, 250.0])
        image[int(y0 * HEIGHT) : int(y0 * HEIGHT) + h, int(x0 * WIDTH) : int(x0 * WIDTH) + w] = flag


def _flag(t: float, rng: np.random.Generator) -> RGB:
    image = BACKGROUND * 0.8 + _noise(rng)
    _flag_image(t, rng, image)
    return image


def _flag_and_walker(t: float, rng: np.random.Generator) -> RGB:
    """The flag flaps while someone walks past under it (from the left, 4 s in)."""
    image = _flag(t, rng)
    if t >= 4.0:
        x = -0.06 + (t - 4.0) * 0.15
        if x < 1.0:
            _person(image, x, 0.2)
    return image


FLAG = Scenario("flapping_flag", 42, _flag)
FLAG_WALKER = Scenario("flag_and_walker", 12, _flag_and_walker, appears=4.0)


# Nuisance classes a user without masks meets (issue 13) --------------------------------
# Each class comes in variants (seed, texture, size, speed) so the detector is not tuned
# to one rendering. Object scenarios state when the object leaves (`leaves`), so a test
# can measure how long an event runs past it.


@dataclass
class Variant:
    """One rendering of a class: `cls` groups variants in the per-class table."""

    cls: str
    scenario: Scenario
    leaves: float | None = None  # when the object is fully out of view


_BACKDROPS: dict[tuple[int, float], RGB] = {}


def backdrop(seed: int, grain: float = 14.0) -> RGB:
    """Another garden: the same layout idea, other texture, grain and wall position."""
    key = (seed, grain)
    if key not in _BACKDROPS:
        rng = np.random.default_rng(seed)
        base = _scene(seed)
        extra = rng.normal(0, grain * 0.5, (HEIGHT // 8, WIDTH // 8)).repeat(8, 0).repeat(8, 1)
        _BACKDROPS[key] = np.clip(base + extra[..., None], 0, 255).astype(np.float32)
    return _BACKDROPS[key]


def _walker_exit(appears: float, speed: float, scale: float) -> float:
    return appears + (1.0 + 0.06 * scale) / speed


def _walk(image: RGB, t: float, appears: float, speed: float, scale: float, y: float) -> None:
    if t >= appears:
        x = -0.06 * scale + (t - appears) * speed
        if x < 1.0:
            _person(image, x, y, scale)


def _headlights(seed: int, width: float, strength: float) -> Callable[..., RGB]:
    """Night; a car's lights sweep across the ground twice and light what they pass."""
    ground = backdrop(seed)
    ys = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    xs = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :, None]
    floor = np.clip((ys - 0.3) * 3.0, 0.0, 1.0)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground * 0.12 + _noise(rng, 5)
        for start, direction in ((3.0, 1.0), (9.0, -1.0)):
            if start <= t < start + 3.0:
                centre = -0.4 + (t - start) / 3.0 * 1.8
                if direction < 0:
                    centre = 1.0 - centre
                light = np.exp(-((xs - centre) ** 2) / (2 * width**2)) * floor
                image = image + light * (ground * strength + 25.0)
        return image

    return render


def _exposure_walk(seed: int, step: float) -> Callable[..., RGB]:
    """Someone crosses; the camera's auto exposure steps twice while they walk."""
    ground = backdrop(seed)

    def render(t: float, rng: np.random.Generator) -> RGB:
        gain = 1.0 if t < 5.0 else (step if t < 7.0 else 1.0 / step)
        image = ground * 0.6 + _noise(rng)
        _walk(image, t, 3.0, 0.2, 1.0, 0.45)
        return image * gain

    return render


def _exposure_steps(seed: int) -> Callable[..., RGB]:
    """Auto exposure steps up and down while the picture is otherwise still."""
    ground = backdrop(seed)

    def render(t: float, rng: np.random.Generator) -> RGB:
        gain = (1.0, 1.4, 0.8, 1.2)[min(3, int(t // 3))]
        return ground * 0.55 * gain + _noise(rng)

    return render


def _snow(seed: int, flakes: int, big: int) -> Callable[..., RGB]:
    """Heavy snow: many small flakes falling fast, a few big ones close to the lens."""
    ground = backdrop(seed)
    rng0 = np.random.default_rng(seed)
    far = rng0.uniform(0, 1, (flakes, 2)).astype(np.float32)
    near = rng0.uniform(0, 1, (big, 2)).astype(np.float32)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground * 0.8 + _noise(rng)
        for points, fall, size in ((far, 0.5, 2), (near, 1.6, 7)):
            xs = ((points[:, 0] + 0.05 * np.sin(t + points[:, 1] * 9)) % 1.0 * WIDTH).astype(int)
            ys = ((points[:, 1] + t * fall) % 1.0 * HEIGHT).astype(int)
            for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
                image[y : y + size, x : x + size] = 235.0
        return image

    return render


def _tree(seed: int, size: float, x0: float) -> Callable[..., RGB]:
    """An unmasked tree: leaves sway all the time, gusts (every few s) shake them hard."""
    ground = backdrop(seed)
    rng0 = np.random.default_rng(seed + 100)
    h, w = int(HEIGHT * size) // 12 * 12, int(WIDTH * size * 0.7) // 3 * 3
    leaves = np.clip(
        rng0.normal(0, 45, (h // 3, w // 3, 1)).repeat(3, 0).repeat(3, 1) + np.array([35, 100, 35]),
        0,
        255,
    ).astype(np.float32)
    clusters = 4
    phases = rng0.uniform(0, 6.28, clusters)
    gusts = np.sort(rng0.uniform(2.0, 13.0, 3))
    top, left = int(HEIGHT * 0.05), int(WIDTH * x0)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground + _noise(rng)
        gust = sum(float(np.exp(-(((t - g) / 0.8) ** 2))) for g in gusts)
        amplitude = 1.5 + 7.0 * min(1.0, gust)
        band = h // clusters
        for index in range(clusters):
            shift = round(amplitude * np.sin(2 * np.pi * 1.1 * t + phases[index]))
            rows = slice(index * band, (index + 1) * band)
            x = left + shift
            image[top + index * band : top + (index + 1) * band, x : x + w] = leaves[rows, :]
        return image

    return render


def _rain_walk(seed: int, drops: int, speed: float) -> Callable[..., RGB]:
    ground = backdrop(seed)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground * 0.7 + _noise(rng)
        _walk(image, t, 3.0, speed, 1.0, 0.45)
        for _ in range(drops):
            x = int(rng.integers(0, WIDTH))
            y = int(rng.integers(0, HEIGHT - 20))
            image[y : y + 18, x : x + 1] += 45
        return image

    return render


def _shake_walk(seed: int, pixels: int, speed: float) -> Callable[..., RGB]:
    """A camera on a pole shakes in the wind (whole picture jitters) while someone walks."""
    ground = backdrop(seed)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground.copy()
        _walk(image, t, 3.0, speed, 1.0, 0.45)
        dy, dx = (int(v) for v in rng.integers(-pixels, pixels + 1, 2))
        return np.roll(image, (dy, dx), axis=(0, 1)) + _noise(rng)

    return render


NUISANCE_CLASSES = [
    Variant("night_headlights", Scenario("headlights_a", 13, _headlights(11, 0.12, 1.2))),
    Variant("night_headlights", Scenario("headlights_b", 13, _headlights(12, 0.2, 2.0))),
    Variant("exposure_steps", Scenario("exposure_steps", 12, _exposure_steps(81))),
    Variant("heavy_snow", Scenario("snow_a", 10, _snow(21, 500, 6))),
    Variant("heavy_snow", Scenario("snow_b", 10, _snow(22, 900, 12))),
    Variant("gusty_tree", Scenario("tree_a", 14, _tree(31, 0.45, 0.05))),
    Variant("gusty_tree", Scenario("tree_b", 14, _tree(32, 0.5, 0.55))),
    # An outside review's: a gust pushes the crown one way for a moment, then back.
    Variant("gusty_tree", Scenario("tree_c", 14, _tree(33, 0.5, 0.3))),
]
OBJECT_CLASSES = [
    Variant(
        "exposure_step_walk",
        Scenario("exposure_walk", 12, _exposure_walk(41, 1.5), appears=3.0),
        _walker_exit(3.0, 0.2, 1.0),
    ),
    Variant(
        "rain_walk",
        Scenario("rain_walk_a", 12, _rain_walk(51, 150, 0.2), appears=3.0),
        _walker_exit(3.0, 0.2, 1.0),
    ),
    Variant(
        "rain_walk",
        Scenario("rain_walk_b", 14, _rain_walk(52, 300, 0.15), appears=3.0),
        _walker_exit(3.0, 0.15, 1.0),
    ),
    Variant(
        "shake_walk",
        Scenario("shake_walk_a", 12, _shake_walk(61, 3, 0.2), appears=3.0),
        _walker_exit(3.0, 0.2, 1.0),
    ),
    Variant(
        "shake_walk",
        Scenario("shake_walk_b", 12, _shake_walk(62, 5, 0.25), appears=3.0),
        _walker_exit(3.0, 0.25, 1.0),
    ),
]


# Learning (issue 13): a branch in the middle of the picture that starts swaying in a gust.
BRANCH_AREA = (0.35, 0.05, 0.6, 0.6)  # x0, y0, x1, y1 of the leaves (about)
_BRANCH_LEAVES = np.clip(
    np.random.default_rng(19).normal(0, 50, (17, 14, 1)).repeat(12, 0).repeat(12, 1)[:198, :162]
    + np.array([35, 100, 35]),
    0,
    255,
).astype(np.float32)


def _gust_branch(start: float, seed: int) -> Callable[..., RGB]:
    ground = backdrop(seed)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground + _noise(rng)
        shift = round(9 * np.sin(2 * np.pi * 0.8 * (t - start))) if t >= start else 0
        h, w = _BRANCH_LEAVES.shape[:2]
        top, left = int(BRANCH_AREA[1] * HEIGHT), int(BRANCH_AREA[0] * WIDTH) + 4
        image[top : top + h, left + shift : left + shift + w] = _BRANCH_LEAVES
        return image

    return render


def _branch_and_walker(t: float, rng: np.random.Generator) -> RGB:
    """The branch sways; someone walks in from the left, crosses in front of it and
    stays inside its area (walking on slowly) until the end."""
    image = _BRANCH_FOR_WALKER(t, rng)
    if t >= WALK_IN:
        x = min(-0.06 + 0.15 * (t - WALK_IN), 0.36 + 0.02 * (t - WALK_IN - 2.8))
        _draw(image, x + 0.018, 0.12, 0.024, 0.06, (220, 185, 160))  # head
        _draw(image, x, 0.18, 0.06, 0.2, (190, 40, 40))  # coat
        _draw(image, x + 0.005, 0.38, 0.05, 0.17, (30, 30, 60))  # legs
    return image


_BRANCH_FOR_WALKER = _gust_branch(2.0, 73)
WALK_IN = 3.0
INSIDE_BRANCH = WALK_IN + 2.8  # from then on the walker is in front of the branch


BRANCH_GUST = Scenario("branch_gust", 12, _gust_branch(2.5, 72))
BRANCH_GUST_AGAIN = Scenario("branch_gust_again", 12, _gust_branch(3.0, 71))
BRANCH_WALKER = Scenario("branch_walker", 10, _branch_and_walker, appears=WALK_IN)
WALKER = Scenario("walker", 10, _crossing(3.0, 0.2), appears=3.0)


# Keyframe rates: walkers whose way is not a plain crossing (written by an outside review
# of the keyframe-rate detector; found at 1 and 1.5 fps, at 0.5 fps too).


def _walk_stop_walk(seed: int) -> Callable[..., RGB]:
    """Walks in from the left, stands still for 5 s mid-picture, walks on."""
    ground = backdrop(seed)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground + _noise(rng)
        if t >= 3.0:
            walked = min(t - 3.0, 3.0) + max(0.0, t - 11.0)
            if (x := -0.06 + 0.15 * walked) < 1.0:
                _person(image, x, 0.45)
        return image

    return render


def _far_diagonal(seed: int) -> Callable[..., RGB]:
    """Someone small and far off, walking slowly down the picture's diagonal."""
    ground = backdrop(seed)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground + _noise(rng)
        if t >= 3.0 and (f := (t - 3.0) * 0.06) < 1.0:
            _person(image, 0.15 + 0.7 * f, 0.30 + 0.3 * f, 0.35)
        return image

    return render


def _two_together(seed: int) -> Callable[..., RGB]:
    """Two people walking side by side (one blob, or two that touch)."""
    ground = backdrop(seed)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground + _noise(rng)
        if t >= 3.0 and (x := -0.14 + (t - 3.0) * 0.14) < 1.0:
            _person(image, x, 0.46, 1.0)
            _person(image, x + 0.075, 0.42, 1.05)
        return image

    return render


KEYFRAME_OBJECTS = [
    Scenario("walk_stop_walk", 20, _walk_stop_walk(202), appears=3.0),
    Scenario("far_diagonal", 20, _far_diagonal(203), appears=3.0),
    Scenario("two_together", 14, _two_together(206), appears=3.0),
]
