"""Generated scenes for the classifier: a car-like and a dog-like object crossing a garden.

Drawn from flat shapes (like tests/scenarios.py, whose backdrops and encoder they reuse),
so the model may or may not recognise them; what they must never be is a person.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ...scenarios import HEIGHT, RGB, WIDTH, Scenario, backdrop

_ys, _xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32) / np.array([HEIGHT, WIDTH])[:, None, None]


def _fill(image: RGB, mask: npt.NDArray[np.bool_], colour: tuple[float, float, float]) -> None:
    image[mask] = colour


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> npt.NDArray[np.bool_]:
    return np.asarray(((_xs - cx) / rx) ** 2 + ((_ys - cy) / ry) ** 2 <= 1.0, dtype=bool)


def _rect(x0: float, y0: float, x1: float, y1: float) -> npt.NDArray[np.bool_]:
    return np.asarray((_xs >= x0) & (_xs < x1) & (_ys >= y0) & (_ys < y1), dtype=bool)


def draw_car(image: RGB, x: float, y: float = 0.62, w: float = 0.34, t: float = 0.0) -> None:
    """A side view: body, cabin with two windows, bumper, light, two wheels; x = left."""
    h = w * 0.42 * WIDTH / HEIGHT  # about 2.4:1 in pixels
    body = _rect(x, y + h * 0.4, x + w, y + h * 0.85)
    cabin = _rect(x + w * 0.22, y, x + w * 0.75, y + h * 0.45)
    _fill(image, body | cabin, (150, 20, 25))
    _fill(image, _rect(x + w * 0.26, y + h * 0.07, x + w * 0.47, y + h * 0.4), (70, 90, 110))
    _fill(image, _rect(x + w * 0.5, y + h * 0.07, x + w * 0.71, y + h * 0.4), (70, 90, 110))
    _fill(image, _rect(x + w * 0.96, y + h * 0.5, x + w, y + h * 0.6), (250, 240, 200))
    _fill(image, _rect(x, y + h * 0.75, x + w, y + h * 0.82), (60, 60, 60))
    for wheel in (0.2, 0.8):
        wx = x + w * wheel
        tyre = _ellipse(wx, y + h * 0.85, w * 0.1, h * 0.17 * 1.0)
        _fill(image, tyre, (20, 20, 20))
        _fill(image, _ellipse(wx, y + h * 0.85, w * 0.045, h * 0.08), (170, 170, 175))


def draw_dog(image: RGB, x: float, y: float = 0.7, w: float = 0.16, t: float = 0.0) -> None:
    """A side view: body, head with ear and snout, tail, four legs that swing; x = left."""
    h = w * WIDTH / HEIGHT  # the dog's height in frame units, square-ish
    fur = (120, 80, 45)
    _fill(image, _ellipse(x + w * 0.45, y + h * 0.4, w * 0.33, h * 0.16), fur)
    _fill(image, _ellipse(x + w * 0.85, y + h * 0.22, w * 0.11, h * 0.1), fur)
    _fill(image, _ellipse(x + w * 0.97, y + h * 0.26, w * 0.06, h * 0.04), (90, 60, 35))
    _fill(image, _ellipse(x + w * 0.8, y + h * 0.2, w * 0.04, h * 0.09), (70, 45, 25))
    _fill(image, _rect(x + w * 0.02, y + h * 0.25, x + w * 0.14, y + h * 0.32), fur)
    swing = 0.04 * np.sin(2 * np.pi * 2.0 * t)
    for leg, sign in ((0.22, 1), (0.32, -1), (0.6, 1), (0.7, -1)):
        lx = x + w * (leg + sign * swing)
        _fill(image, _rect(lx, y + h * 0.45, lx + w * 0.07, y + h * 0.78), fur)


def _noise(rng: np.random.Generator) -> RGB:
    return rng.normal(0, 3.0, (HEIGHT, WIDTH, 1)).astype(np.float32)


def _crossing(
    seed: int, draw: Callable[..., None], speed: float, width: float
) -> Callable[[float, np.random.Generator], RGB]:
    ground = backdrop(seed)

    def render(t: float, rng: np.random.Generator) -> RGB:
        image = ground + _noise(rng)
        if t >= 2.0:
            x = -width + (t - 2.0) * speed
            if x < 1.0:
                draw(image, x, t=t)
        return image

    return render


CAR = Scenario("car_crossing", 9, _crossing(91, draw_car, 0.25, 0.34), appears=2.0)
DOG = Scenario("dog_crossing", 10, _crossing(92, draw_dog, 0.18, 0.16), appears=2.0)
