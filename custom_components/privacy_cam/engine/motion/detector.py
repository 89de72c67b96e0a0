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

import math
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
LOW_RATE_FPS = 2.0  # below this (keyframes only) an object can move far between frames
REACH_SPEED = 0.4  # share of the frame a brisk walker crosses per second, at low rates


def _bits(value: float) -> np.uint32:
    """The bit pattern of a float32: per-pixel choices between constants by integer math."""
    return np.uint32(np.array([value], np.float32).view(np.uint32)[0])


_ALPHA_STILL_BITS = _bits(ALPHA_STILL)
_ALPHA_STATIC_BITS = _bits(ALPHA_STATIC_FG)
_ALPHA_MOVING_BITS = _bits(ALPHA_MOVING_FG)
_BETA_BITS = _bits(BETA_NOISE)
_BETA_CHANGED_BITS = _bits(BETA_NOISE * 0.2)


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
    jumps: int = 0  # frames it continued only through the low-rate reach (not in place)
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
        self._unmasked_all = True
        self._unmasked_count = 1
        self._allowed_all = True
        self._constants: dict[tuple[float, tuple[int, ...]], FloatImage] = {}
        self._derived_from: MotionSettings | None = None
        self._derive()
        self._samples: npt.NDArray[np.intp] | None = None
        self._tracks: list[_Track] = []
        self._cols = 0  # cell columns of the current frame
        self._flicker: FloatImage | None = None  # per cell: how often it was active lately
        # Learned nuisance cells on a normalised grid (see learning.NuisanceMemory).
        self.learned: BoolImage | None = None
        self.learned_area = 0.0  # the biggest blob the learned nuisance made (%)
        self._learned_cells: BoolImage | None = None  # the same, on this frame's cell grid
        self.collect = False  # report in-place cells with each result (for learning)
        # Only an object that travels counts (confirming a keyframe between two keyframes:
        # a new patch of light that grows in place has had no time to prove it is still).
        self.travel_only = False
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

    def fork(self, settings: MotionSettings) -> MotionDetector | None:
        """A detector for other settings (a faster rate) that knows the scene as this one
        does now: background, noise, flicker and learned cells; no tracks. None while
        this one has not learned the scene yet."""
        model = self._model
        if model is None or model.calibrating > 0 or self._shape is None:
            return None
        other = MotionDetector(settings, use_opencv=self.use_opencv)
        other.learned, other.learned_area = self.learned, self.learned_area
        other._build_geometry(*self._shape)
        assert self._flicker is not None and other._flicker is not None
        other._flicker[:] = self._flicker
        other._model = _Model(
            model.background.copy(),
            model.noise_var.copy(),
            model.previous.copy(),
            0,
            model.had_motion,
            model.scene_noise,
            model.frames,
        )
        return other

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
        # The same float32 operations as `background * gain + offset` etc., done in
        # place: temporaries cost as much as the arithmetic on frames this small.
        if gain == 1.0:  # x * 1.0 is x, to the bit
            predicted = model.background + offset
        else:
            predicted = model.background * gain
            predicted += offset
        residual = frame - predicted
        if self._derived_from is not self.settings:
            self._derive()
        threshold2 = model.noise_var * self._noise_factor2
        np.maximum(threshold2, self._constant(self._floor2, threshold2.shape), out=threshold2)
        squared = residual * residual
        changed = np.greater(squared, threshold2)
        unmasked = self._unmasked
        assert unmasked is not None
        changed_count = np.count_nonzero(changed if self._unmasked_all else changed & unmasked)
        changed_share = float(changed_count) / self._unmasked_count

        if changed_share > RECALIBRATE_FRACTION or not 0.4 < gain < 2.5:
            self._model = self._calibrate(frame, previous=model.previous)
            self._tracks = []
            return MotionResult(False, recalibrated=True)
        if model.calibrating > 0:
            model.calibrating -= 1
            self._learn(model, frame, predicted, residual, squared, changed, None)
            return MotionResult(False)

        allowed = self._allowed
        assert allowed is not None
        counted = changed if self._allowed_all else changed & allowed  # only read in _blobs
        step = frame - model.previous
        moving = np.greater(np.abs(step, out=step), self._half_threshold)
        blobs, lighting, active = self._blobs(counted, moving, frame, predicted, model)
        if lighting:
            # Absorb lit areas at once so they do not linger as motion.
            for blob in lighting:
                x0, y0, x1, y1 = _pixel_box(blob.box, height, width)
                changed[y0:y1, x0:x1] = False
                predicted[y0:y1, x0:x1] = frame[y0:y1, x0:x1]
                residual[y0:y1, x0:x1] = 0.0  # frame - predicted there now
        self._learn(model, frame, predicted, residual, squared, changed, moving)

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

    def _derive(self) -> None:
        """Per-frame constants of the settings, as float32 (the same values as before)."""
        settings = self.settings
        self._noise_factor2 = np.float32(settings.noise_factor**2)
        self._floor2 = np.float32(settings.threshold**2)
        self._half_threshold = np.float32(settings.threshold * 0.5)
        self._flicker_rate = np.float32(1.0 / max(1.0, FLICKER_SECONDS * settings.detect_fps))
        # How far a track may jump between frames (share of the frame): a cell or two at
        # camera rates (0.0 here); a keyframe apart, as far as a walker goes in that time.
        fps = settings.detect_fps
        self._reach = REACH_SPEED / fps if fps < LOW_RATE_FPS else 0.0
        self._derived_from = settings

    def _constant(self, value: np.float32, shape: tuple[int, ...]) -> FloatImage:
        """A frame-sized array of one value: np.maximum against an array is 3x faster
        than against a scalar (the same result)."""
        key = (float(value), shape)
        array = self._constants.get(key)
        if array is None:
            if len(self._constants) > 8:  # settings changed: drop the old ones
                self._constants.clear()
            array = self._constants[key] = np.full(shape, value, np.float32)
        return array

    def _remember_activity(self, active: BoolImage | None) -> None:
        """Per cell, how often it was active over the last FLICKER_SECONDS."""
        flicker = self._flicker
        assert flicker is not None
        rate = self._flicker_rate
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
        self._unmasked_all = bool(self._unmasked.all())
        self._unmasked_count = max(1, int(np.count_nonzero(self._unmasked)))
        self._allowed_all = bool(self._allowed.all())
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
        if self._unmasked_all:  # the same pixels in the same order, without an index
            bg = background[2::4, 2::4].ravel()
            fr = frame[2::4, 2::4].ravel()
        else:
            bg = background.ravel()[samples]
            fr = frame.ravel()[samples]
        # Robust: start from the median shift (what most pixels did), keep the
        # pixels that agree, fit gain and offset on those, and repeat. A person
        # or a lit wall does not tilt the fit; a global exposure step is found.
        shift = fr - bg
        gain, offset = 1.0, _median(shift)
        floor = self.settings.threshold
        if abs(offset) < 1.0:
            # Calm frame (most of them): check the picture as a whole still fits the
            # background before paying for the full robust fit.
            shift -= offset
            spread = _mean(np.abs(shift, out=shift))
            if spread < floor * 0.25:
                return gain, offset
        for _ in range(2):
            residual = fr - (bg * gain + offset)
            deviation = np.abs(residual, out=residual)
            spread = _median(deviation) * 1.4826
            keep = deviation < max(floor, 3.0 * spread)
            if np.count_nonzero(keep) < 16:
                break
            gain, offset = _linear_fit(bg[keep], fr[keep])
        return gain, offset

    def _learn(
        self,
        model: _Model,
        frame: FloatImage,
        predicted: FloatImage,
        difference: FloatImage,
        squared: FloatImage,
        changed: BoolImage,
        moving: BoolImage | None,
    ) -> None:
        """Update background and noise; `moving` is None while calibrating.

        `difference` is frame - predicted; both it and `predicted` are used up here.
        """
        if moving is None:
            step = frame - model.previous
            sample = step * step * np.float32(0.5)
            model.noise_var += np.float32(0.5) * (sample - model.noise_var)
            difference *= np.float32(0.5)
        else:
            # alpha: ALPHA_STILL, ALPHA_STATIC_FG where changed, ALPHA_MOVING_FG where
            # changed and moving. Picked by bit pattern (exact, 5x faster than np.where).
            beta = changed.astype(np.uint32)  # 0 or 1 for now
            alpha = beta * (_ALPHA_STILL_BITS ^ _ALPHA_STATIC_BITS)
            alpha ^= _ALPHA_STILL_BITS
            moved = np.bitwise_and(beta, moving)
            moved *= _ALPHA_STATIC_BITS ^ _ALPHA_MOVING_BITS
            alpha ^= moved
            # Noise learns fast where calm, slowly where things move (leaves
            # that keep swaying slowly raise their own threshold).
            beta *= _BETA_BITS ^ _BETA_CHANGED_BITS
            beta ^= _BETA_BITS
            capped = model.noise_var * np.float32(16.0)
            capped += np.float32(400.0)
            np.minimum(squared, capped, out=capped)
            capped -= model.noise_var
            capped *= beta.view(np.float32)
            model.noise_var += capped
            difference *= alpha.view(np.float32)
        noise_floor = self._constant(np.float32(MIN_NOISE_VAR), model.noise_var.shape)
        np.maximum(model.noise_var, noise_floor, out=model.noise_var)
        predicted += difference
        model.background = predicted
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
        self._cols = labels.shape[1]
        slack = (
            max(1, round(self._reach * rows)),
            max(1, round(self._reach * labels.shape[1])),
        )
        for index in np.flatnonzero(pixels >= floor):
            if index == 0:
                continue
            cells = labels == index
            ys, xs = np.nonzero(cells)  # row-major: ys is sorted
            r0, c0, r1, c1 = int(ys[0]), int(xs.min()), int(ys[-1]) + 1, int(xs.max()) + 1
            box = (
                c0 * CELL / width,
                r0 * CELL / height,
                min(1.0, c1 * CELL / width),
                min(1.0, r1 * CELL / height),
            )
            size = float(pixels[index])
            area = 100.0 * size / area_px
            stirring = moved[index] >= max(3.0, size * MOVING_SHARE)
            if self._is_lighting(area, box, frame, predicted, model, cells[r0:r1, c0:c1]):
                lighting.append(Blob(area, box, stirring))
                continue
            n = ys.size
            track = self._follow(
                (r0, c0, r1, c1), (float(ys.sum()) / n, float(xs.sum()) / n), float(n), slack
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
                travelling = travelling and area >= RESTLESS_SIZE * self.settings.min_size
            if track.gaps and (self._reach or (self.travel_only and track.gaps > 1)):
                # Seconds apart, leaves seen again after a gap have "travelled" anywhere; so
                # have leaves a gust hid for a frame or two (a walker is seen in every one).
                travelling = False
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
                and area <= LEARNED_GROWTH * self.learned_area
            )
            track.coherent = (
                track.coherent
                or travelling
                or (
                    not self.travel_only
                    # Persisting means in place: not a blob here and another one far off.
                    and (
                        (quiet and track.age >= 2 and not track.gaps and not track.jumps)
                        or track.solid >= 2
                    )
                )
            )
            blob = Blob(
                area,
                box,
                stirring,
                travel=travel,
                age=track.age,
                coherent=track.coherent,
                learned=nuisance,
                still=1.0 - float(moved[index]) / size,
                solid=solid,
            )
            if self.collect and not travelling and area >= self.settings.min_size:
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
            model.scene_noise = _median(model.noise_var.ravel()[samples])
        x0, y0, x1, y1 = _pixel_box(box, height, width)
        local = _mean(model.noise_var[y0:y1, x0:x1])
        return local < RESTLESS * max(model.scene_noise, MIN_NOISE_VAR * 2)

    def _follow(
        self,
        box: tuple[int, int, int, int],
        centre: tuple[float, float],
        size: float,
        slack: tuple[int, int] = (1, 1),
    ) -> _Track:
        """The track this blob continues (the oldest one it overlaps), or a new one."""
        r0, c0, r1, c1 = box
        best: _Track | None = None
        best_key = (False, False, 0)
        for track in self._tracks:
            t0, u0, t1, u1 = track.box
            # Overlap, with `slack` cells (one at camera rates: a walker moves a cell or
            # two per frame). A track not seen last frame keeps one cell: a wide reach
            # from where leaves were seconds ago would catch whatever moves there now.
            sr, sc = slack if not track.missed else (1, 1)
            if not (
                t0 - sr <= r1
                and r0 <= t1 + sr
                and u0 - sc <= c1
                and c0 <= u1 + sc
                and track.size <= SIZE_JUMP * size
                and size <= SIZE_JUMP * track.size
            ):
                continue
            # The one in place first (within reach, several people are candidates), then
            # a counted object (a walker in front of leaves), then the oldest.
            in_place = sr == sc == 1 or _touches(track.box, box)
            key = (in_place, track.coherent, track.age)
            if best is None or key > best_key:
                best, best_key = track, key
        if best is None:
            # Something joined a counted object (a walker stepping in front of leaves):
            # the object goes on, merged.
            best = next((t for t in self._tracks if t.coherent and _touches(t.box, box)), None)
        if best is None:
            return _Track(box, centre, centre, size=size)
        step = float(np.hypot(centre[0] - best.last[0], centre[1] - best.last[1]))
        t0, u0, t1, u1 = best.box
        # Seconds apart, something stepping in or out at a side changes its width a lot.
        cols = self._cols
        entering = self._reach > 0.0 and (c0 == 0 or u0 == 0 or cols in (c1, u1))
        steady = (
            best.steady
            and _similar(r1 - r0, t1 - t0, SHAPE_JUMP)
            and (entering or _similar(c1 - c0, u1 - u0, SHAPE_JUMP))
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
            jumps=best.jumps + int(not _touches(best.box, box)),  # always 0 at >= 2 fps
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
        area: float,
        box: Box,
        frame: FloatImage,
        predicted: FloatImage,
        model: _Model,
        cells: BoolImage,
    ) -> bool:
        """A blob is lighting when it appeared whole in one frame, when the same
        texture is there at another brightness (a local gain/offset explains it), or
        when it is a brighter patch whose texture is the background's (headlights)."""
        if area / 100.0 >= SUDDEN_BLOB_FRACTION and not model.had_motion:
            return True
        height, width = frame.shape
        x0, y0, x1, y1 = _pixel_box(box, height, width)
        if area >= LIT_MIN_AREA and _lit_patch(predicted[y0:y1, x0:x1], frame[y0:y1, x0:x1], cells):
            return True
        bg = predicted[y0:y1, x0:x1].ravel()
        fr = frame[y0:y1, x0:x1].ravel()
        size = bg.size
        if size < 16:
            return False  # no texture to compare: cannot tell, so it counts
        # bg.std() and _linear_fit(bg, fr), sharing the mean and the deviations.
        mean_bg = np.float32(float(np.add.reduce(bg, axis=None)) / size)
        deviation = bg - mean_bg
        var = float(np.dot(deviation, deviation))
        squares = deviation * deviation
        if float(np.sqrt(np.float32(float(np.add.reduce(squares, axis=None)) / size))) < 4.0:
            return False  # no texture to compare: cannot tell, so it counts
        mean_x, mean_y = float(mean_bg), _mean(fr)
        if var < 1e-3 * size:
            gain, offset = 1.0, mean_y - mean_x
        else:
            gain = float(np.dot(deviation, fr - mean_y)) / var
            offset = mean_y - gain * mean_x
        if not 0.3 < gain < 3.5:
            return False
        residual = fr - (bg * gain + offset)
        floor = self.settings.threshold
        explained = float(np.count_nonzero(np.abs(residual) > floor)) / fr.size
        return explained < 0.05 and abs(gain - 1.0) * mean_x + abs(offset) > floor


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
    if min(_mean(b), _mean(f)) > DARK_LEVEL:
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
    if height == rows * CELL and width == cols * CELL and mask.flags.c_contiguous:
        pixels = mask.view(np.uint8).reshape(rows, CELL, width)
    else:
        padded = np.zeros((rows * CELL, cols * CELL), np.uint8)
        padded[:height, :width] = mask
        pixels = padded.reshape(rows, CELL, cols * CELL)
    # Sum the cell's rows as bytes (at most 4 each), then the 4 bytes of each cell
    # row at once: the top byte of x * 0x01010101 is the sum of x's bytes (<= 16 here,
    # no carry between bytes). 10x faster than a strided two-axis reduction.
    summed = pixels[:, 0] + pixels[:, 1]
    summed += pixels[:, 2]
    summed += pixels[:, 3]
    quads = summed.view(np.uint32)
    quads *= np.uint32(0x01010101)
    quads >>= np.uint32(24)
    return quads.astype(np.int32)


def _linear_fit(x: FloatImage, y: FloatImage) -> tuple[float, float]:
    mean_x, mean_y = _mean(x), _mean(y)
    dx = x - mean_x
    var = float(np.dot(dx, dx))
    if var < 1e-3 * x.size:
        return 1.0, mean_y - mean_x
    gain = float(np.dot(dx, y - mean_y)) / var
    return gain, mean_y - gain * mean_x


def _mean(values: FloatImage) -> float:
    """`float(values.mean())` to the bit (the same float32 sum and division), without
    NumPy's generic reduction overhead: these run on small arrays many times a frame."""
    return float(np.float32(float(np.add.reduce(values, axis=None)) / values.size))


def _std(values: FloatImage) -> float:
    """`float(values.std())` to the bit, computed the way NumPy does, minus its overhead."""
    size = values.size
    deviation = values - np.float32(float(np.add.reduce(values, axis=None)) / size)
    np.multiply(deviation, deviation, out=deviation)
    return float(np.sqrt(np.float32(float(np.add.reduce(deviation, axis=None)) / size)))


def _median(values: FloatImage) -> float:
    """`float(np.median(values))` of a flat float32 array without NaNs: the same order
    statistics (mean of the middle two in float32), a quarter of the time."""
    size = values.size
    half = size // 2
    ordered = np.partition(values, half)
    if size % 2:
        return float(ordered[half])
    # The one below the middle is the largest of the lower half: one selection
    # plus a max is 3x faster than selecting both (measured on real frames).
    return float((ordered[:half].max() + ordered[half]) / 2)


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
    rising = edges == 1
    run_rows, starts = (a.tolist() for a in np.nonzero(rising))
    ends = np.nonzero(edges == -1)[1].tolist()  # exclusive; pairs with starts (row-major)
    parent = list(range(len(starts)))  # parent[i] <= i always

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    previous_first = previous_last = current_first = first = 0
    for i, row in enumerate(run_rows):
        if i == 0 or row != run_rows[i - 1]:
            if i and row == run_rows[i - 1] + 1:
                previous_first, previous_last = current_first, i
            else:
                previous_first = previous_last = i  # no runs in the row above
            current_first = i
            first = previous_first
        start, end = starts[i], ends[i]
        # Runs of the row above are in order: skip those that end before this run
        # (they end before the next runs of this row too), join those that touch
        # it (8-connected: diagonally included), stop at the first one beyond it.
        while first < previous_last and ends[first] < start:
            first += 1
        root = i  # this run's root, kept up to date
        j = first
        while j < previous_last and starts[j] <= end:
            other = find(j)
            if other < root:
                parent[root] = other
                root = other
            elif other > root:
                parent[other] = root
            j += 1
    # Roots in run order (a parent is never after its child), components numbered
    # by their first run: raster order.
    roots: list[int] = []
    for i, up in enumerate(parent):
        roots.append(i if up == i else roots[up])
    numbers: dict[int, int] = {}
    table = [0] + [numbers.setdefault(root, len(numbers) + 1) for root in roots]
    run = np.cumsum(rising[:, :cols], axis=None, dtype=np.int32).reshape(rows, cols)
    labels: npt.NDArray[np.int32] = np.asarray(table, np.int32)[run]
    labels *= active
    return labels, len(numbers)


def _pixel_box(box: Box, height: int, width: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return int(x0 * width), int(y0 * height), math.ceil(x1 * width), math.ceil(y1 * height)


def _union(boxes: Any) -> Box:
    items = list(boxes)
    return (
        min(b[0] for b in items),
        min(b[1] for b in items),
        max(b[2] for b in items),
        max(b[3] for b in items),
    )
