"""Local false-alarm learning: the same nuisance in the same place stops firing.

Each reported false alarm adds its event's box to a region (merged with an
overlapping one). A region reported REPORTS_TO_LEARN times is learned: motion
that stays inside it no longer counts. Motion that reaches outside it (someone
walking through the tree's area) still counts, and other places are untouched.
Everything stays on this box; the state is a handful of boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..sources.frames import Box

REPORTS_TO_LEARN = 3
MERGE_OVERLAP = 0.3  # share of the smaller box that must overlap to be "the same place"
MARGIN = 0.02  # slack around a learned region


@dataclass(slots=True)
class Region:
    box: Box
    reports: int = 1

    @property
    def learned(self) -> bool:
        return self.reports >= REPORTS_TO_LEARN


class NuisanceMemory:
    def __init__(self, regions: list[Region] | None = None) -> None:
        self.regions: list[Region] = regions or []

    def report(self, box: Box) -> Region:
        """Learn from one false alarm whose motion covered `box` (normalised)."""
        for region in self.regions:
            if _overlap(region.box, box) >= MERGE_OVERLAP:
                region.box = _union(region.box, box)
                region.reports += 1
                return region
        region = Region(box)
        self.regions.append(region)
        return region

    def learned_boxes(self) -> tuple[Box, ...]:
        return tuple(
            (
                max(0.0, r.box[0] - MARGIN),
                max(0.0, r.box[1] - MARGIN),
                min(1.0, r.box[2] + MARGIN),
                min(1.0, r.box[3] + MARGIN),
            )
            for r in self.regions
            if r.learned
        )

    def reset(self) -> None:
        self.regions.clear()

    def as_list(self) -> list[dict[str, Any]]:
        return [{"box": [round(v, 4) for v in r.box], "reports": r.reports} for r in self.regions]

    @classmethod
    def from_list(cls, items: list[dict[str, Any]] | None) -> NuisanceMemory:
        regions = []
        for item in items or []:
            x0, y0, x1, y1 = (float(v) for v in item["box"])
            regions.append(Region((x0, y0, x1, y1), int(item["reports"])))
        return cls(regions)


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _overlap(a: Box, b: Box) -> float:
    shared = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    smaller = min(_area(a), _area(b))
    return _area(shared) / smaller if smaller > 0 else 0.0


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
