"""Local false-alarm learning: learn what fired and where, never a rectangle.

A report re-analyses the reported clip (`observe_clip`, run in an executor at
report time) and keeps the cells where motion stayed in place: leaves that sway,
a flag that flaps, a puddle that glitters. Those cells go on a GRID x GRID map of
the picture. The detector then ignores blobs born in those cells that do not
travel and are no bigger than the nuisance ever was; anything that travels (a
person walking through the tree's area) or is bigger still counts, and the rest
of the picture is untouched. A clip that showed a walker teaches nothing: the
walker travelled.

Limits no report can exceed: a clip teaches once (by clip id); learned cells
cover at most MAX_SHARE of the picture. Everything stays on this box; the state
is a small bitmap and one line per report.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .analyse import analyse_video
from .detector import MotionResult, MotionSettings
from .zones import BoolImage

GRID = 32  # learned cells: GRID x GRID over the picture, whatever its size
MAX_SHARE = 0.25  # learned cells never cover more of the picture than this
MIN_RATE = 0.15  # share of the nuisance's frames a cell must be active in to be learned
WINDOW_MARGIN = 1.0  # seconds around the clip's motion window that are analysed too
KIND_FLICKER = "flickering"  # cells active now and then (leaves, snow, glitter)
KIND_IN_PLACE = "in place"  # cells active most of the time (a flag, a swaying branch)


@dataclass(slots=True)
class Observation:
    """What a clip showed, on the learning grid: how often each cell moved in place."""

    counts: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros((GRID, GRID), np.int32))
    frames: int = 0  # frames with in-place motion
    max_area: float = 0.0  # biggest in-place blob (% of the frame)

    def add(self, result: MotionResult) -> None:
        cells = result.in_place
        if cells is None or not cells.any():
            return
        rows, cols = cells.shape
        seen = np.zeros((GRID, GRID), bool)
        rr, cc = np.nonzero(cells)
        seen[
            ((rr + 0.5) / rows * GRID).astype(np.intp), ((cc + 0.5) / cols * GRID).astype(np.intp)
        ] = True
        self.counts += seen
        self.frames += 1
        self.max_area = max(self.max_area, max((b.area for b in result.blobs), default=0.0))


@dataclass(frozen=True, slots=True)
class Lesson:
    """What one reported clip taught."""

    clip_id: str
    cells: int  # learned cells this report added
    kind: str | None  # how they moved (None: nothing in place, e.g. a walker)
    max_area: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "clip_id": self.clip_id,
            "cells": self.cells,
            "kind": self.kind,
            "max_area": round(self.max_area, 3),
        }


class NuisanceMemory:
    def __init__(self, grid: BoolImage | None = None, lessons: list[Lesson] | None = None) -> None:
        self.grid: BoolImage = np.zeros((GRID, GRID), bool) if grid is None else grid
        self.lessons: list[Lesson] = lessons or []

    def taught(self, clip_id: str) -> bool:
        return any(lesson.clip_id == clip_id for lesson in self.lessons)

    def learn(self, clip_id: str, seen: Observation) -> Lesson | None:
        """Learn from one reported clip; None when this clip already taught."""
        if self.taught(clip_id):
            return None
        rate = seen.counts / max(1, seen.frames)
        wanted = _dilate(rate >= MIN_RATE) & ~self.grid
        room = max(0, int(MAX_SHARE * GRID * GRID) - int(np.count_nonzero(self.grid)))
        if np.count_nonzero(wanted) > room:
            # Over the cap: keep the cells where the nuisance was busiest.
            score = np.where(wanted, _spread(rate), -1.0).ravel()
            keep = np.zeros(GRID * GRID, bool)
            keep[np.argsort(-score, kind="stable")[:room]] = True
            wanted &= keep.reshape(GRID, GRID)
        added = int(np.count_nonzero(wanted))
        kind = None
        if added:
            busy = float(rate[wanted].mean())
            kind = KIND_IN_PLACE if busy >= 0.5 else KIND_FLICKER
        self.grid |= wanted
        lesson = Lesson(clip_id, added, kind, seen.max_area if added else 0.0)
        self.lessons.append(lesson)
        return lesson

    @property
    def share(self) -> float:
        """Share of the picture covered by learned cells (0..MAX_SHARE)."""
        return float(np.count_nonzero(self.grid)) / (GRID * GRID)

    @property
    def max_area(self) -> float:
        """The biggest nuisance blob ever reported (% of the frame)."""
        return max((lesson.max_area for lesson in self.lessons), default=0.0)

    def learned_grid(self) -> BoolImage | None:
        return self.grid.copy() if self.grid.any() else None

    def reset(self) -> None:
        self.grid = np.zeros((GRID, GRID), bool)
        self.lessons.clear()

    def rows(self) -> list[str]:
        """The learned cells as text, one string per grid row ('#' learned)."""
        return ["".join("#" if v else "." for v in row) for row in self.grid.tolist()]

    def png(self, scale: int = 8) -> bytes:
        """The learned cells as a small gray PNG (white: learned), no imaging library."""
        image = np.kron(self.grid.astype(np.uint8) * 255, np.ones((scale, scale), np.uint8))
        height, width = image.shape
        raw = b"".join(b"\x00" + row.tobytes() for row in image)

        def chunk(kind: bytes, data: bytes) -> bytes:
            crc = zlib.crc32(kind + data) & 0xFFFFFFFF
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

        header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "grid": [
                f"{int(''.join('1' if v else '0' for v in row), 2):08x}"
                for row in self.grid.tolist()
            ],
            "lessons": [lesson.as_dict() for lesson in self.lessons],
        }

    @classmethod
    def from_dict(cls, data: Any) -> NuisanceMemory:
        """Restore; anything else (e.g. the boxes older versions kept) starts afresh."""
        if not isinstance(data, dict):
            return cls()
        grid = np.zeros((GRID, GRID), bool)
        for index, row in enumerate(data.get("grid", [])[:GRID]):
            bits = int(row, 16)
            grid[index] = [(bits >> (GRID - 1 - col)) & 1 for col in range(GRID)]
        lessons = [
            Lesson(
                str(item["clip_id"]),
                int(item["cells"]),
                None if item.get("kind") is None else str(item["kind"]),
                float(item.get("max_area", 0.0)),
            )
            for item in data.get("lessons", [])
        ]
        return cls(grid, lessons)


def observe_clip(
    path: str | Path,
    settings: MotionSettings | None = None,
    window: tuple[float, float] | None = None,
    *,
    use_opencv: bool = True,
) -> Observation:
    """Re-run the detector over a clip and collect where motion stayed in place
    (within `window`, seconds into the clip, give or take WINDOW_MARGIN)."""
    seen = Observation()
    low, high = (
        (window[0] - WINDOW_MARGIN, window[1] + WINDOW_MARGIN) if window else (-1.0, float("inf"))
    )

    def observe(time: float, result: MotionResult) -> None:
        if low <= time <= high:
            seen.add(result)

    analyse_video(path, settings, use_opencv=use_opencv, observer=observe)
    return seen


def _dilate(mask: BoolImage) -> BoolImage:
    """One cell of slack around what was seen (leaves sway a little further some days)."""
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= out[:, :-1].copy()
    out[:, :-1] |= out[:, 1:].copy()
    return out


def _spread(rate: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each cell's rate or its busiest neighbour's (so a dilated rim ranks with its core)."""
    padded = np.pad(rate, 1)
    spread: npt.NDArray[np.float64] = np.max(
        [
            padded[1 + dy : GRID + 1 + dy, 1 + dx : GRID + 1 + dx]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ],
        axis=0,
    )
    return spread
