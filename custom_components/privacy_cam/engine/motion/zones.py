"""Zones and masks: polygons in normalised coordinates, typed by people, drawn as pixels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

type Point = tuple[float, float]
type Polygon = tuple[Point, ...]
type BoolImage = npt.NDArray[np.bool_]

POLYGON_HELP = "x,y pairs from 0 to 1 separated by spaces; polygons separated by ';'"


class PolygonError(ValueError):
    """A polygon text that cannot be understood; the message says why."""


def parse_polygons(text: str) -> tuple[Polygon, ...]:
    """Parse '0.1,0.1 0.5,0.1 0.5,0.6; 0.7,0 1,0 1,0.3' (newlines work as ';' too)."""
    polygons: list[Polygon] = []
    for chunk in text.replace("\n", ";").split(";"):
        if not chunk.strip():
            continue
        points: list[Point] = []
        for pair in chunk.split():
            x_text, sep, y_text = pair.partition(",")
            try:
                if not sep:
                    raise ValueError
                point = (float(x_text), float(y_text))
            except ValueError:
                raise PolygonError(f"'{pair}' is not an x,y pair") from None
            if not all(0.0 <= value <= 1.0 for value in point):
                raise PolygonError(f"'{pair}' is outside 0..1")
            points.append(point)
        if len(points) < 3:
            raise PolygonError(f"'{chunk.strip()}' needs at least 3 points")
        polygons.append(tuple(points))
    return tuple(polygons)


def format_polygons(polygons: tuple[Polygon, ...]) -> str:
    return "; ".join(" ".join(f"{x:g},{y:g}" for x, y in polygon) for polygon in polygons)


def rasterise(polygons: tuple[Polygon, ...], height: int, width: int) -> BoolImage:
    """Pixels whose centres lie inside any polygon (even-odd rule)."""
    inside = np.zeros((height, width), bool)
    if not polygons:
        return inside
    ys = (np.arange(height, dtype=np.float64) + 0.5)[:, None] / height
    xs = (np.arange(width, dtype=np.float64) + 0.5)[None, :] / width
    for polygon in polygons:
        hit = np.zeros((height, width), bool)
        count = len(polygon)
        for i in range(count):
            (x0, y0), (x1, y1) = polygon[i], polygon[(i + 1) % count]
            if y0 == y1:
                continue
            crosses = (ys >= min(y0, y1)) & (ys < max(y0, y1))
            x_at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
            hit ^= crosses & (xs < x_at)
        inside |= hit
    return inside
