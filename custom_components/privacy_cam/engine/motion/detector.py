"""Motion detection on small gray frames: real movement in, lighting changes out.

One class, one `detect()` call per frame, no I/O. The model per pixel is a
running background and a running noise variance:

* Lighting is explained away before anything counts as motion: a gain/offset
  fit of the frame against the background absorbs dusk, clouds, exposure
  steps and most light switches; a blob that a *local* gain/offset fit
  explains (same texture, other brightness), or that appears in one frame
  over a large area, is lighting too and is absorbed. A change of most of
  the frame (IR day/night flip, exposure jump) recalibrates.
* The threshold per pixel is the larger of a sensitivity floor and a multiple
  of that pixel's own noise, so high-gain night noise and swaying leaves
  raise their own bar.
* Motion pixels are grouped on a grid of 4x4 cells and joined into blobs;
  blobs under the minimum size (insects, rain streaks) do not count.
* Motion has to go somewhere: blobs are tracked from frame to frame (cell
  centroids, nothing more). A blob counts when it travels, or when it persists
  in cells that are usually quiet. Cells that keep flickering in place (leaves,
  snow, water, a shaking picture's edges) raise their own bar: there only a
  travelling blob counts, so rain or shake cannot keep an event open after
  the object left.
* A bright patch that keeps the texture underneath it (headlights sweeping
  across a dark yard) is light, not an object: its cells correlate with the
  background, only brighter.
* Learned nuisance cells (see `learning`) suppress blobs that were born in
  them, do not travel and are no bigger than the reported nuisance ever was; a
  travelling blob, or one that came from elsewhere, is never suppressed.

NumPy is the always-on path; where OpenCV imports it is used for the resize
and the blob labelling, with the same results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..sources.frames import Box, GrayImage
from .zones import BoolImage, Polygon, format_polygons, parse_polygons, rasterise

try:  # OpenCV has no musllinux wheels: optional, never required.
    import cv2

    HAVE_OPENCV = True
except ImportError:  # pragma: no cover - exercised on HA OS, not in CI
    cv2 = None  # type: ignore[assignment]
    HAVE_OPENCV = False

type FloatImage = npt.NDArray[np.float32]

WORK_HEIGHT = 120  # detection never needs more; bigger inputs are reduced
CELL = 4  # pixels per cell side when grouping motion into blobs
CELL_MIN_PIXELS = 2  # motion pixels that make a cell active
RECALIBRATE_FRACTION = 0.4  # share of the frame changed at once: lighting, not motion
SUDDEN_BLOB_FRACTION = 0.08  # a blob this big out of nowhere in one frame is lighting
CALIBRATION_SECONDS = 1.0
ALPHA_STILL = 0.1  # background learning where nothing moves (per frame at 5 fps)
ALPHA_STATIC_FG = 0.03  # foreground that stopped moving fades into the background
ALPHA_MOVING_FG = 0.005
BETA_NOISE = 0.05  # noise variance learning
MIN_NOISE_VAR = 1.0
MOVING_SHARE = 0.05  # share of a blob's pixels that must have changed since the last frame
FLICKER_SECONDS = 5.0  # memory of how often a cell is active
FLICKER_BAR = 0.12  # mean activity above which a blob's cells count as flickering
TRAVEL_MIN = 0.035  # net centroid travel (share of the frame height) that makes a blob travel
TRAVEL_STRAIGHT = 0.7  # net travel / path length: a wandering centroid is not travel
TRAVEL_FRAMES = 3  # frames a track must last before its travel means anything
RESTLESS_TRAVEL_FRAMES = 4  # the same where cells flicker or are never still
RESTLESS_SIZE = 3.0  # x min_size: where cells flicker, only something this big can count
SIZE_JUMP = 2.5  # a blob this much bigger or smaller than its track's last one is another thing
SHAPE_JUMP = 1.6  # box height/width change per frame that a travelling object never makes
TRACK_GRACE = 2  # frames a track survives without a blob (a walker behind a post)
SOLID_PIXELS = 10  # of a cell's 16: changed against the background yet still since last frame
SOLID_CELLS = 6  # such cells that make a blob a solid body (a person's coat, not leaves)
SOLID_SHARE = 0.25  # ... and this share of the blob's cells (leaves at rest show a few)
LEARNED_SHARE = 0.5  # share of a blob's cells in learned cells that makes it the nuisance
LEARNED_GROWTH = 1.25  # a blob this much bigger than the learned nuisance is something else
RESTLESS = 6.0  # noise variance (x the scene's median) of cells that are never still
FILL_MIN = 0.35  # share of its box a blob fills to be "compact" (snow is a sparse spray)
LIT_CORRELATION = 0.75  # texture correlation of a lit patch with the background
LIT_MIN_AREA = 1.0  # % of the frame: smaller blobs are not checked for sweeping light
DARK_LEVEL = 60.0  # mean gray under which a scene is dark enough for headlights to matter
SCENE_NOISE_FRAMES = 10  # how often the scene's median noise is measured again


@dataclass(frozen=True, slots=True)
class MotionSettings:
    """Every detector tunable; defaults a user would accept out of the box."""

    sensitivity: int = 50  # 1..100
    min_size: float = 0.1  # % of the frame area
    detect_fps: float = 5.0
    zones: tuple[Polygon, ...] = ()
    masks: tuple[Polygon, ...] = ()
    cooldown: float = 10.0  # seconds without motion before an event ends
    min_frames: int = 2  # consecutive motion frames before an event starts

    def __post_init__(self) -> None:
        checks = {
            "sensitivity": 1 <= self.sensitivity <= 100,
            "min_size": 0.0 <= self.min_size <= 50.0,
            "detect_fps": 0.5 <= self.detect_fps <= 30.0,
            "cooldown": 0.0 <= self.cooldown <= 3600.0,
            "min_frames": 1 <= self.min_frames <= 50,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name} out of range: {getattr(self, name)!r}")

    @property
    def threshold(self) -> float:
        """Gray-level floor of a motion pixel: 6 at sensitivity 100, 36 at 1."""
        return 6.0 + (100 - self.sensitivity) * 0.16

    @property
    def noise_factor(self) -> float:
        """How many noise standard deviations a motion pixel must exceed."""
        return 3.0 + (100 - self.sensitivity) * 0.02

    def as_dict(self) -> dict[str, Any]:
        return {
            "sensitivity": self.sensitivity,
            "min_size": self.min_size,
            "detect_fps": self.detect_fps,
            "zones": format_polygons(self.zones),
            "masks": format_polygons(self.masks),
            "cooldown": self.cooldown,
            "min_frames": self.min_frames,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MotionSettings:
        """Build from JSON/options; polygons may be text or lists of points."""
        values: dict[str, Any] = {}
        for key in ("sensitivity", "min_frames"):
            if key in data:
                values[key] = int(data[key])
        for key in ("min_size", "detect_fps", "cooldown"):
            if key in data:
                values[key] = float(data[key])
        for key in ("zones", "masks"):
            raw = data.get(key)
            if isinstance(raw, str):
                values[key] = parse_polygons(raw)
            elif raw:
                values[key] = parse_polygons(
                    "; ".join(" ".join(f"{x},{y}" for x, y in polygon) for polygon in raw)
                )
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Blob:
    area: float  # % of the frame
    box: Box  # normalised x0, y0, x1, y1
    moving: bool = True  # changed since the previous frame
    travel: float = 0.0  # net travel of its track so far (share of the frame height)
    age: int = 1  # frames its track has lasted
    coherent: bool = True  # travels, or persists in quiet cells
    learned: bool = False  # sits in learned nuisance cells and does not travel
    still: float = 0.0  # share of its pixels that did not change since the last frame
    solid: int = 0  # cells that are a solid body: changed, yet still since the last frame


@dataclass(slots=True)
class _Track:
    box: tuple[int, int, int, int]  # cells: r0, c0, r1, c1 (exclusive)
    origin: tuple[float, float]  # centroid (row, col) when first seen
    last: tuple[float, float]
    path: float = 0.0
    age: int = 1
    missed: int = 0
    size: float = 0.0  # cells in the last blob
    gaps: int = 0  # frames it was not seen since it started
    born_learned: bool = False  # first seen inside learned nuisance cells
    solid: int = 0  # frames in a row it had a solid body
    coherent: bool = False  # once a track counts, it keeps counting while it lasts
    steady: bool = True  # its box kept its proportions from frame to frame

    def travel(self, rows: int, frames: int = TRAVEL_FRAMES) -> tuple[float, bool]:
        """Net travel (share of the frame height) and whether it is real travel:
        long enough, straight enough, and beyond half the blob's own extent (a
        swaying branch's centre wobbles inside the branch)."""
        dr, dc = self.last[0] - self.origin[0], self.last[1] - self.origin[1]
        net = float(np.hypot(dr, dc)) / rows
        r0, c0, r1, c1 = self.box
        beyond = abs(dc) >= 0.5 * (c1 - c0) or abs(dr) >= 0.5 * (r1 - r0)
        real = (
            self.age >= frames
            and net >= TRAVEL_MIN
            and net * rows >= TRAVEL_STRAIGHT * self.path
            and beyond
            and self.steady
        )
        return net, real


@dataclass(frozen=True, slots=True)
class MotionResult:
    """What one frame showed. `score` is the % of the frame covered by counted blobs."""

    motion: bool
    score: float = 0.0
    box: Box | None = None
    blobs: tuple[Blob, ...] = ()
    recalibrated: bool = False
    lighting: bool = False  # a blob was explained away as a lighting change
    age: int = 0  # frames the oldest counted blob's track has lasted
    in_place: BoolImage | None = None  # cells of blobs that did not travel (when collecting)


@dataclass(slots=True)
class _Model:
    background: FloatImage
    noise_var: FloatImage
    previous: FloatImage
    calibrating: int
    had_motion: bool = False
    scene_noise: float = 0.0  # median noise variance, measured every SCENE_NOISE_FRAMES
    frames: int = 0


class MotionDetector:
    """Feed gray frames in time order; `detect` says whether real motion is there."""

    def __init__(self, settings: MotionSettings | None = None, *, use_opencv: bool = True) -> None:
        self.settings = settings or MotionSettings()
        self.use_opencv = use_opencv and HAVE_OPENCV
        if self.use_opencv:
            # Each camera already has its own thread; OpenCV's worker pool would
            # only spin between our tiny calls and burn CPU (measured: 3x).
            cv2.setNumThreads(1)
        self._model: _Model | None = None
        self._shape: tuple[int, int] | None = None
        self._allowed: BoolImage | None = None  # zones minus masks
        self._unmasked: BoolImage | None = None  # everything but masks
        self._samples: npt.NDArray[np.intp] | None = None
        self._tracks: list[_Track] = []
        self._flicker: FloatImage | None = None  # per cell: how often it was active lately
        # Learned nuisance cells on a normalised grid (see learning.NuisanceMemory).
        self.learned: BoolImage | None = None
        self.learned_area = 0.0  # the biggest blob the learned nuisance made (%)
        self._learned_cells: BoolImage | None = None  # the same, on this frame's cell grid
        self.collect = False  # report in-place cells with each result (for learning)
        self._in_place: BoolImage | None = None

    def update_settings(self, settings: MotionSettings) -> None:
        """Apply new settings live; the learned background is kept."""
        geometry_changed = (settings.zones, settings.masks) != (
            self.settings.zones,
            self.settings.masks,
        )
        self.settings = settings
        if geometry_changed and self._shape is not None:
            self._build_geometry(*self._shape)

    def reset(self) -> None:
        self._model = None
        self._tracks = []

    def set_learned(self, grid: BoolImage | None, max_area: float = 0.0) -> None:
        """Apply learned nuisance cells (a normalised grid of any size; None clears)."""
        self.learned = None if grid is None or not grid.any() else grid
        self.learned_area = max_area
        self._learned_cells = None
        if self._shape is not None:
            self._map_learned(*self._shape)

    # Frame path --------------------------------------------------------------------

    def detect(self, gray: GrayImage) -> MotionResult:
        frame = self._prepare(gray)
        height, width = frame.shape
        if self._shape != (height, width):
            self._build_geometry(height, width)
            self._model = None
        model = self._model
        if model is None:
            self._model = self._calibrate(frame)
            return MotionResult(False, recalibrated=True)

        gain, offset = self._photometric_fit(model.background, frame)
        predicted = model.background * gain + offset
        residual = frame - predicted
        threshold2 = np.maximum(
            model.noise_var * np.float32(self.settings.noise_factor**2),
            np.float32(self.settings.threshold**2),
        )
        squared = residual * residual
        changed = squared > threshold2
        unmasked = self._unmasked
        assert unmasked is not None
        changed_share = float(np.count_nonzero(changed & unmasked)) / max(
            1, int(np.count_nonzero(unmasked))
        )

        if changed_share > RECALIBRATE_FRACTION or not 0.4 < gain < 2.5:
            self._model = self._calibrate(frame, previous=model.previous)
            self._tracks = []
            return MotionResult(False, recalibrated=True)
        if model.calibrating > 0:
            model.calibrating -= 1
            self._learn(model, frame, predicted, squared, changed, None)
            return MotionResult(False)

        allowed = self._allowed
        assert allowed is not None
        counted = changed & allowed
        moving = np.abs(frame - model.previous) > np.float32(self.settings.threshold * 0.5)
        blobs, lighting, active = self._blobs(counted, moving, frame, predicted, model)
        if lighting:
            # Absorb lit areas at once so they do not linger as motion.
            for blob in lighting:
                x0, y0, x1, y1 = _pixel_box(blob.box, height, width)
                changed[y0:y1, x0:x1] = False
                predicted[y0:y1, x0:x1] = frame[y0:y1, x0:x1]
        self._learn(model, frame, predicted, squared, changed, moving)

        # Only blobs that moved since the last frame count: a lamp that came on
        # is a step, then still; a person keeps changing.
        counted_blobs = tuple(
            b
            for b in blobs
            if b.area >= self.settings.min_size and b.moving and b.coherent and not b.learned
        )
        model.had_motion = bool(blobs)
        self._remember_activity(active)
        in_place, self._in_place = self._in_place, None
        if not counted_blobs:
            return MotionResult(False, blobs=blobs, lighting=bool(lighting), in_place=in_place)
        score = min(100.0, sum(b.area for b in counted_blobs))
        box = _union(b.box for b in counted_blobs)
        age = max(b.age for b in counted_blobs)
        return MotionResult(
            True,
            score,
            box,
            counted_blobs,
            lighting=bool(lighting),
            age=age,
            in_place=in_place,
        )

    def _remember_activity(self, active: BoolImage | None) -> None:
        """Per cell, how often it was active over the last FLICKER_SECONDS."""
        flicker = self._flicker
        assert flicker is not None
        rate = np.float32(1.0 / max(1.0, FLICKER_SECONDS * self.settings.detect_fps))
        flicker *= np.float32(1.0) - rate
        if active is not None:
            flicker[active] += rate

    # Model ---------------------------------------------------------------------------

    def _prepare(self, gray: GrayImage) -> FloatImage:
        height, width = gray.shape
        if height > WORK_HEIGHT * 1.5:
            factor = height // WORK_HEIGHT
            out_h, out_w = height // factor, width // factor
            if self.use_opencv:
                small = cv2.resize(gray, (out_w, out_h), interpolation=cv2.INTER_AREA)
                return np.asarray(small, np.float32)
            cropped = gray[: out_h * factor, : out_w * factor]
            reduced = cropped.reshape(out_h, factor, out_w, factor).mean(axis=(1, 3))
            return np.asarray(reduced, np.float32)
        return np.asarray(gray, np.float32)

    def _build_geometry(self, height: int, width: int) -> None:
        self._shape = (height, width)
        masked = rasterise(self.settings.masks, height, width)
        self._unmasked = ~masked
        zones = (
            rasterise(self.settings.zones, height, width)
            if self.settings.zones
            else np.ones((height, width), bool)
        )
        self._allowed = zones & ~masked
        # A sparse grid of unmasked pixels for the global lighting fit.
        grid = np.zeros((height, width), bool)
        grid[2::4, 2::4] = True
        self._samples = np.flatnonzero(grid & self._unmasked)
        rows, cols = -(-height // CELL), -(-width // CELL)
        self._flicker = np.zeros((rows, cols), np.float32)
        self._tracks = []
        self._map_learned(height, width)

    def _map_learned(self, height: int, width: int) -> None:
        learned = self.learned
        if learned is None:
            self._learned_cells = None
            return
        rows, cols = -(-height // CELL), -(-width // CELL)
        # Each of our cells looks up the learned grid cell under its centre.
        r = ((np.arange(rows) + 0.5) * CELL / height * learned.shape[0]).astype(np.intp)
        c = ((np.arange(cols) + 0.5) * CELL / width * learned.shape[1]).astype(np.intp)
        r = np.minimum(r, learned.shape[0] - 1)
        c = np.minimum(c, learned.shape[1] - 1)
        self._learned_cells = learned[r[:, None], c[None, :]]

    def _calibrate(self, frame: FloatImage, previous: FloatImage | None = None) -> _Model:
        """Start over from this frame; noise is estimated while calibration lasts."""
        frames = max(1, round(CALIBRATION_SECONDS * self.settings.detect_fps))
        if previous is not None and previous.shape == frame.shape:
            sigma = _robust_sigma(frame - previous) / np.sqrt(2.0)
        else:
            sigma = 2.0
        noise = np.full(frame.shape, max(MIN_NOISE_VAR, sigma * sigma), np.float32)
        return _Model(frame.copy(), noise, frame.copy(), frames)

    def _photometric_fit(self, background: FloatImage, frame: FloatImage) -> tuple[float, float]:
        """Least-squares gain and offset from background to frame, ignoring outliers."""
        samples = self._samples
        assert samples is not None
        if samples.size < 16:
            return 1.0, 0.0
        bg = background.ravel()[samples]
        fr = frame.ravel()[samples]
        # Robust: start from the median shift (what most pixels did), keep the
        # pixels that agree, fit gain and offset on those, and repeat. A person
        # or a lit wall does not tilt the fit; a global exposure step is found.
        gain, offset = 1.0, float(np.median(fr - bg))
        floor = self.settings.threshold
        if abs(offset) < 1.0:
            # Calm frame (most of them): check the picture as a whole still fits the
            # background before paying for the full robust fit.
            spread = float(np.mean(np.abs(fr - bg - offset)))
            if spread < floor * 0.25:
                return gain, offset
        for _ in range(2):
            residual = fr - (bg * gain + offset)
            spread = float(np.median(np.abs(residual))) * 1.4826
            keep = np.abs(residual) < max(floor, 3.0 * spread)
            if np.count_nonzero(keep) < 16:
                break
            gain, offset = _linear_fit(bg[keep], fr[keep])
        return gain, offset

    def _learn(
        self,
        model: _Model,
        frame: FloatImage,
        predicted: FloatImage,
        squared: FloatImage,
        changed: BoolImage,
        moving: BoolImage | None,
    ) -> None:
        """Update background and noise; `moving` is None while calibrating."""
        if moving is None:
            alpha: FloatImage | np.float32 = np.float32(0.5)
            step = frame - model.previous
            sample = step * step * np.float32(0.5)
            model.noise_var += np.float32(0.5) * (sample - model.noise_var)
        else:
            alpha = np.where(
                changed,
                np.where(moving, np.float32(ALPHA_MOVING_FG), np.float32(ALPHA_STATIC_FG)),
                np.float32(ALPHA_STILL),
            ).astype(np.float32)
            # Noise learns fast where calm, slowly where things move (leaves
            # that keep swaying slowly raise their own threshold).
            beta = np.where(changed, np.float32(BETA_NOISE * 0.2), np.float32(BETA_NOISE))
            capped = np.minimum(squared, model.noise_var * np.float32(16.0) + 400.0)
            model.noise_var += beta * (capped - model.noise_var)
        np.maximum(model.noise_var, np.float32(MIN_NOISE_VAR), out=model.noise_var)
        model.background = predicted + alpha * (frame - predicted)
        model.previous = frame
        model.frames += 1
        if model.frames % SCENE_NOISE_FRAMES == 0:
            model.scene_noise = 0.0

    # Blobs -----------------------------------------------------------------------------

    def _blobs(
        self,
        counted: BoolImage,
        moving: BoolImage,
        frame: FloatImage,
        predicted: FloatImage,
        model: _Model,
    ) -> tuple[tuple[Blob, ...], list[Blob], BoolImage | None]:
        """Group motion pixels into blobs; split off those that are lighting changes."""
        height, width = counted.shape
        counts = _cell_counts(counted)
        active = counts >= CELL_MIN_PIXELS
        if not active.any():
            self._age_tracks([])
            return (), [], None
        labels, count = _label(active, self.use_opencv)
        area_px = height * width
        flat = labels.ravel()
        pixels = np.bincount(flat, weights=counts.ravel(), minlength=count + 1)
        moving_counts = _cell_counts(counted & moving)
        moved = np.bincount(flat, weights=moving_counts.ravel(), minlength=count + 1)
        solid_cells = (counts - moving_counts) >= SOLID_PIXELS
        # Most blobs in rain or noise are tiny: only look closer at those that can count,
        # and at big ones that might be lighting.
        floor = max(1.0, min(self.settings.min_size, SUDDEN_BLOB_FRACTION * 100) * area_px / 100)
        blobs: list[Blob] = []
        lighting: list[Blob] = []
        seen: list[tuple[_Track, Blob]] = []
        flicker = self._flicker
        assert flicker is not None
        learned = self._learned_cells
        rows = labels.shape[0]
        for index in np.flatnonzero(pixels >= floor):
            if index == 0:
                continue
            cells = labels == index
            ys, xs = np.nonzero(cells)
            r0, c0, r1, c1 = int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1
            box = (
                c0 * CELL / width,
                r0 * CELL / height,
                min(1.0, c1 * CELL / width),
                min(1.0, r1 * CELL / height),
            )
            size = float(pixels[index])
            blob = Blob(100.0 * size / area_px, box, moved[index] >= max(3.0, size * MOVING_SHARE))
            if self._is_lighting(blob, frame, predicted, model, cells[r0:r1, c0:c1]):
                lighting.append(blob)
                continue
            n = ys.size
            track = self._follow(
                (r0, c0, r1, c1), (float(ys.sum()) / n, float(xs.sum()) / n), float(n)
            )
            calm = float(flicker[ys, xs].sum()) < FLICKER_BAR * n and self._still(
                model, box, height, width
            )
            # A compact shape: not a sliver along an edge, not a sparse spray. (A tall
            # narrow one is fine at the picture's side: someone stepping in.)
            side = c0 == 0 or c1 == labels.shape[1]
            quiet = (
                calm
                and r1 - r0 >= 2
                and (c1 - c0 >= 2 or (side and r1 - r0 >= 4))
                and n >= FILL_MIN * (r1 - r0) * (c1 - c0)
            )
            if calm:
                travel, travelling = track.travel(rows)
            else:
                # Flickering or restless cells raise their own bar: longer, bigger travel.
                travel, travelling = track.travel(rows, RESTLESS_TRAVEL_FRAMES)
                travelling = travelling and blob.area >= RESTLESS_SIZE * self.settings.min_size
            in_learned = (
                learned is not None and int(np.count_nonzero(learned[ys, xs])) >= LEARNED_SHARE * n
            )
            if track.age == 1:
                track.born_learned = in_learned
            # Leaves and snow change from frame to frame all over; a body in front
            # of them is changed against the background yet still in its middle.
            solid = int(np.count_nonzero(solid_cells[ys, xs]))
            body = solid >= SOLID_CELLS and solid >= SOLID_SHARE * n
            track.solid = track.solid + 1 if body else 0
            nuisance = (
                in_learned
                and track.born_learned
                and not travelling
                and track.solid < 2
                and blob.area <= LEARNED_GROWTH * self.learned_area
            )
            track.coherent = (
                track.coherent
                or travelling
                or (quiet and track.age >= 2 and not track.gaps)
                or track.solid >= 2
            )
            blob = Blob(
                blob.area,
                box,
                blob.moving,
                travel=travel,
                age=track.age,
                coherent=track.coherent,
                learned=nuisance,
                still=1.0 - float(moved[index]) / size,
                solid=solid,
            )
            if self.collect and not travelling and blob.area >= self.settings.min_size:
                if self._in_place is None:
                    self._in_place = np.zeros(labels.shape, bool)
                self._in_place |= cells
            seen.append((track, blob))
            blobs.append(blob)
        self._age_tracks([track for track, _ in seen])
        return tuple(blobs), lighting, active

    def _still(self, model: _Model, box: Box, height: int, width: int) -> bool:
        """Not a place that is never still (leaves, water): its noise is like the scene's."""
        samples = self._samples
        assert samples is not None
        if model.scene_noise <= 0.0:
            model.scene_noise = float(np.median(model.noise_var.ravel()[samples]))
        x0, y0, x1, y1 = _pixel_box(box, height, width)
        local = float(model.noise_var[y0:y1, x0:x1].mean())
        return local < RESTLESS * max(model.scene_noise, MIN_NOISE_VAR * 2)

    def _follow(
        self, box: tuple[int, int, int, int], centre: tuple[float, float], size: float
    ) -> _Track:
        """The track this blob continues (the oldest one it overlaps), or a new one."""
        r0, c0, r1, c1 = box
        best: _Track | None = None
        for track in self._tracks:
            t0, u0, t1, u1 = track.box
            # Overlap, with one cell of slack: a walker moves a cell or two per frame.
            if (
                t0 - 1 <= r1
                and r0 <= t1 + 1
                and u0 - 1 <= c1
                and c0 <= u1 + 1
                and track.size <= SIZE_JUMP * size
                and size <= SIZE_JUMP * track.size
                # A counted object first (a walker in front of leaves), then the oldest.
                and (best is None or (track.coherent, track.age) > (best.coherent, best.age))
            ):
                best = track
        if best is None:
            # Something joined a counted object (a walker stepping in front of leaves):
            # the object goes on, merged.
            best = next((t for t in self._tracks if t.coherent and _touches(t.box, box)), None)
        if best is None:
            return _Track(box, centre, centre, size=size)
        step = float(np.hypot(centre[0] - best.last[0], centre[1] - best.last[1]))
        t0, u0, t1, u1 = best.box
        steady = (
            best.steady
            and _similar(r1 - r0, t1 - t0, SHAPE_JUMP)
            and _similar(c1 - c0, u1 - u0, SHAPE_JUMP)
        )
        # A copy per blob: a track that splits (two people parting) goes on in both.
        return _Track(
            box,
            best.origin,
            centre,
            best.path + step,
            best.age + 1,
            size=size,
            gaps=best.gaps + best.missed,
            born_learned=best.born_learned,
            solid=best.solid if not best.missed else 0,
            coherent=best.coherent,
            steady=steady,
        )

    def _age_tracks(self, current: list[_Track]) -> None:
        """Keep this frame's tracks, and for a short while the ones that were not seen."""
        continued = {(c.origin, c.age - 1) for c in current if c.age > 1}
        kept = []
        for track in self._tracks:
            if track.missed < TRACK_GRACE and (track.origin, track.age) not in continued:
                track.missed += 1
                track.solid = 0
                kept.append(track)
        self._tracks = current + kept

    def _is_lighting(
        self,
        blob: Blob,
        frame: FloatImage,
        predicted: FloatImage,
        model: _Model,
        cells: BoolImage,
    ) -> bool:
        """A blob is lighting when it appeared whole in one frame, when the same
        texture is there at another brightness (a local gain/offset explains it), or
        when it is a brighter patch whose texture is the background's (headlights)."""
        if blob.area / 100.0 >= SUDDEN_BLOB_FRACTION and not model.had_motion:
            return True
        height, width = frame.shape
        x0, y0, x1, y1 = _pixel_box(blob.box, height, width)
        if blob.area >= LIT_MIN_AREA and _lit_patch(
            predicted[y0:y1, x0:x1], frame[y0:y1, x0:x1], cells
        ):
            return True
        bg = predicted[y0:y1, x0:x1].ravel()
        fr = frame[y0:y1, x0:x1].ravel()
        if bg.size < 16 or float(bg.std()) < 4.0:
            return False  # no texture to compare: cannot tell, so it counts
        gain, offset = _linear_fit(bg, fr)
        if not 0.3 < gain < 3.5:
            return False
        residual = fr - (bg * gain + offset)
        floor = self.settings.threshold
        explained = float(np.count_nonzero(np.abs(residual) > floor)) / fr.size
        return explained < 0.05 and abs(gain - 1.0) * float(bg.mean()) + abs(offset) > floor


def _touches(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] - 1 <= b[2] and b[0] <= a[2] + 1 and a[1] - 1 <= b[3] and b[1] <= a[3] + 1


def _similar(a: int, b: int, ratio: float) -> bool:
    return a <= ratio * b and b <= ratio * a


def _lit_patch(bg: FloatImage, fr: FloatImage, cells: BoolImage) -> bool:
    """Brighter (or darker), with the background's own texture in every cell, only
    stronger (or weaker): light sweeping over a dark scene. A person covers the
    texture; their cells do not correlate with what is behind them."""
    rows, cols = cells.shape
    h, w = min(bg.shape[0] // CELL, rows), min(bg.shape[1] // CELL, cols)
    keep = cells[:h, :w]
    n = int(np.count_nonzero(keep))
    if n < 4:
        return False
    b = bg[: h * CELL, : w * CELL]
    f = fr[: h * CELL, : w * CELL]
    # Headlights light up the dark: in daylight this is the gain test's job.
    if min(float(b.mean()), float(f.mean())) > DARK_LEVEL:
        return False

    def per_cell(values: FloatImage) -> FloatImage:
        summed: FloatImage = values.reshape(h, CELL, w, CELL).sum(axis=(1, 3))[keep]
        return summed

    pixels = np.float32(CELL * CELL)
    sb, sf = per_cell(b), per_cell(f)
    # Per cell, texture only (each cell's own mean removed): sums of products.
    vb = float((per_cell(b * b) - sb * sb / pixels).sum())
    vf = float((per_cell(f * f) - sf * sf / pixels).sum())
    cov = float((per_cell(b * f) - sb * sf / pixels).sum())
    lift = float(sf.sum() - sb.sum()) / (n * pixels)
    # Light arriving lifts the level and strengthens the texture; light leaving
    # (the background had learned it) does the opposite. Either way: same texture.
    if min(vb, vf) < n * pixels or (lift > 0) != (vf > vb):
        return False
    return cov / float(np.sqrt(vb * vf)) >= LIT_CORRELATION


def _cell_counts(mask: BoolImage) -> npt.NDArray[np.int32]:
    """Motion pixels per CELL x CELL cell (the frame padded to whole cells)."""
    height, width = mask.shape
    rows, cols = -(-height // CELL), -(-width // CELL)
    padded = np.zeros((rows * CELL, cols * CELL), np.uint8)
    padded[:height, :width] = mask
    counts = padded.reshape(rows, CELL, cols, CELL).sum(axis=(1, 3), dtype=np.int32)
    return np.asarray(counts, np.int32)


def _linear_fit(x: FloatImage, y: FloatImage) -> tuple[float, float]:
    mean_x, mean_y = float(x.mean()), float(y.mean())
    dx = x - mean_x
    var = float(np.dot(dx, dx))
    if var < 1e-3 * x.size:
        return 1.0, mean_y - mean_x
    gain = float(np.dot(dx, y - mean_y)) / var
    return gain, mean_y - gain * mean_x


def _robust_sigma(values: FloatImage) -> float:
    """Noise sigma from the median absolute deviation (outliers barely matter)."""
    sample = values.ravel()[::7]
    return float(np.median(np.abs(sample - np.median(sample)))) * 1.4826


def _label(active: BoolImage, use_opencv: bool) -> tuple[npt.NDArray[np.int32], int]:
    """8-connected labels of a small cell grid."""
    if use_opencv:
        # SAUF is single-threaded: on a grid this small, worker threads only cost CPU.
        count, found = cv2.connectedComponentsWithAlgorithm(
            active.view(np.uint8), 8, cv2.CV_32S, cv2.CCL_SAUF
        )
        return np.asarray(found, np.int32), int(count) - 1
    return _label_runs(active)


def _label_runs(active: BoolImage) -> tuple[npt.NDArray[np.int32], int]:
    """Run-length labelling: runs per row in one vectorised step, union-find over runs.

    A blob of 40 cells is ~10 runs, so the Python part stays tiny (4x faster than
    a cell-by-cell flood fill). Labels are numbered in raster order, like OpenCV's.
    """
    rows, cols = active.shape
    padded = np.zeros((rows, cols + 2), np.int8)
    padded[:, 1:-1] = active
    edges = np.diff(padded, axis=1)
    run_rows, starts = (a.tolist() for a in np.nonzero(edges == 1))
    ends = np.nonzero(edges == -1)[1].tolist()  # exclusive; pairs with starts (row-major)
    parent = list(range(len(starts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    previous_first = previous_last = current_first = 0
    for i, row in enumerate(run_rows):
        if i == 0 or row != run_rows[i - 1]:
            if i and row == run_rows[i - 1] + 1:
                previous_first, previous_last = current_first, i
            else:
                previous_first = previous_last = i  # no runs in the row above
            current_first = i
        for j in range(previous_first, previous_last):
            # 8-connected: the runs touch, diagonally included.
            if starts[j] <= ends[i] and ends[j] >= starts[i]:
                root_i, root_j = find(i), find(j)
                if root_i != root_j:
                    parent[max(root_i, root_j)] = min(root_i, root_j)
    labels: npt.NDArray[np.int32] = np.zeros((rows, cols), np.int32)
    numbers: dict[int, int] = {}
    for i, row in enumerate(run_rows):
        number = numbers.setdefault(find(i), len(numbers) + 1)
        labels[row, starts[i] : ends[i]] = number
    return labels, len(numbers)


def _pixel_box(box: Box, height: int, width: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return int(x0 * width), int(y0 * height), int(np.ceil(x1 * width)), int(np.ceil(y1 * height))


def _union(boxes: Any) -> Box:
    items = list(boxes)
    return (
        min(b[0] for b in items),
        min(b[1] for b in items),
        max(b[2] for b in items),
        max(b[3] for b in items),
    )
