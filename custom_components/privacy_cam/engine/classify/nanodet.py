"""NanoDet-m through ncnn: crop around a motion box, letterbox, detect, say what it is.

Data in, data out: `crop_region` cuts the region around a motion box out of an RGB frame
(cheap, on the caller's thread), `NanoDet.classify` runs the model on it (in the worker
thread). The model files ship in `model/` and are checked against their sha256 before
ncnn sees them; ncnn is imported only by `NanoDet.load`, so this module imports without it.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..sources.frames import Box
from .labels import Label, label_of, strongest

# An HxWx3 uint8 RGB picture (what PyAV's `frame.to_ndarray(format="rgb24")` gives).
type RgbImage = npt.NDArray[np.uint8]
type FloatArray = npt.NDArray[np.float32]

MODEL_DIR = Path(__file__).resolve().parent / "model"
PARAM_FILE = "nanodet_m.param"
BIN_FILE = "nanodet_m.bin"
# Checked before loading (see model/PROVENANCE.md): a truncated, corrupted or swapped file
# makes the detector unavailable instead of giving nonsense.
MODEL_SHA256: dict[str, str] = {
    BIN_FILE: "8d7f846cfc340a3ef66389f174a66819709f7182b9d35788ee1506679caac65e",
    PARAM_FILE: "8543dccd5604ded10d06bdb2b2f702f8f2f1dac09652c81750f21bf0a6e3f1a8",
}
INPUT_BLOB = "input.1"
OUTPUT_BLOBS: tuple[tuple[int, str, str], ...] = (  # stride, class scores, box distribution
    (8, "792", "795"),
    (16, "814", "817"),
    (32, "836", "839"),
)
MEAN = (103.53, 116.28, 123.675)  # BGR
NORM = (0.017429, 0.017507, 0.017125)
REG_MAX = 7  # distribution bins per side: 0..7
NUM_CLASSES = 80
ALIGN = 32  # input width and height are multiples of this


class ModelError(Exception):
    """The detector cannot run; the message says why (shown in diagnostics)."""


@dataclass(frozen=True, slots=True)
class ClassifierSettings:
    """Every tunable of the classifier. Defaults are NanoDet's own demo values where it has
    them (score 0.4, input 320), not fitted to any test scene."""

    score_threshold: float = 0.4
    nms_iou: float = 0.5
    input_size: int = 320  # the model's size: the crop's long side is scaled to this
    margin: float = 0.25  # context around the motion box, a share of its size on each side
    max_aspect: float = 2.0  # a thinner crop is widened with more of the frame
    min_overlap: float = 0.3  # a detection counts if this share of the smaller box overlaps
    threads: int = 1

    def __post_init__(self) -> None:
        checks = {
            "score_threshold": 0.0 < self.score_threshold < 1.0,
            "nms_iou": 0.0 < self.nms_iou <= 1.0,
            "input_size": self.input_size >= ALIGN and self.input_size % ALIGN == 0,
            "margin": 0.0 <= self.margin <= 2.0,
            "max_aspect": self.max_aspect >= 1.0,
            "min_overlap": 0.0 <= self.min_overlap <= 1.0,
            "threads": 1 <= self.threads <= 16,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name} out of range: {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class Crop:
    """The part of a frame to classify: pixels (a copy) and where they sit.

    `region` is the crop's place in the frame and `motion` the motion box, both 0-1 of
    the frame's width/height.
    """

    image: RgbImage
    region: Box
    motion: Box


@dataclass(frozen=True, slots=True)
class Detection:
    """One object the model found; `box` is 0-1 of the frame (of the crop for `detect`)."""

    class_id: int
    score: float
    box: Box

    @property
    def label(self) -> Label:
        return label_of(self.class_id)


@dataclass(frozen=True, slots=True)
class Classification:
    """What one crop shows. `detections` are those of our labels that overlap the motion
    box; `cpu_ms` is the worker thread's CPU time for the model, `ms` the wall time."""

    label: Label
    score: float
    detections: tuple[Detection, ...]
    ms: float
    cpu_ms: float
    input_size: tuple[int, int]  # (width, height) fed to the model


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model(model_dir: Path = MODEL_DIR) -> None:
    """Raise ModelError unless both model files are there with the expected sha256."""
    for name, expected in MODEL_SHA256.items():
        path = model_dir / name
        try:
            found = sha256_file(path)
        except OSError as error:
            raise ModelError(f"model file {name} cannot be read: {error.strerror}") from error
        if found != expected:
            raise ModelError(
                f"model file {name} fails its sha256 check (expected {expected[:12]}…, "
                f"found {found[:12]}…): reinstall the integration"
            )


def crop_region(frame: RgbImage, motion: Box, settings: ClassifierSettings) -> Crop:
    """Cut the region around `motion` (0-1 box) out of an HxWx3 frame, with context.

    The box grows by `margin` of its size on each side, its short side grows until the
    region is at most `max_aspect` long, and it is clamped to the frame. Costs a copy of
    the region only, so the caller may reuse the frame.
    """
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB frame, got {frame.shape} {frame.dtype}")
    height, width = frame.shape[:2]
    x0, y0, x1, y1 = (min(1.0, max(0.0, v)) for v in motion)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"empty motion box: {motion!r}")
    box_w, box_h = (x1 - x0) * width, (y1 - y0) * height
    cx, cy = (x0 + x1) / 2 * width, (y0 + y1) / 2 * height
    want_w = box_w * (1 + 2 * settings.margin)
    want_h = box_h * (1 + 2 * settings.margin)
    want_w = max(want_w, want_h / settings.max_aspect, 2.0)
    want_h = max(want_h, want_w / settings.max_aspect, 2.0)
    left, right = _span(cx, want_w, width)
    top, bottom = _span(cy, want_h, height)
    image = np.ascontiguousarray(frame[top:bottom, left:right])
    region = (left / width, top / height, right / width, bottom / height)
    return Crop(image=image, region=region, motion=(x0, y0, x1, y1))


def _span(centre: float, size: float, limit: int) -> tuple[int, int]:
    """An integer [start, end) of `size` around `centre`, shifted (then cut) to fit 0..limit."""
    size = min(size, float(limit))
    start = min(max(0.0, centre - size / 2), limit - size)
    first = int(np.floor(start))
    return first, min(limit, max(first + 1, int(np.ceil(start + size))))


def letterbox_size(width: int, height: int, target: int) -> tuple[int, int, int, int]:
    """(scaled w, scaled h, padded w, padded h): the long side scaled to `target`, each side
    padded up to a multiple of 32, so a tall crop costs about half of a square one."""
    scale = target / max(width, height)
    scaled_w = max(1, min(target, round(width * scale)))
    scaled_h = max(1, min(target, round(height * scale)))
    return (
        scaled_w,
        scaled_h,
        -(-scaled_w // ALIGN) * ALIGN,
        -(-scaled_h // ALIGN) * ALIGN,
    )


def decode(
    outputs: dict[str, FloatArray], width: int, height: int, score_threshold: float
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """NanoDet-m's raw outputs for a widthxheight input → (boxes x0,y0,x1,y1 in input
    pixels, scores, class ids) of every cell whose best class reaches the threshold."""
    all_boxes, all_scores, all_classes = [], [], []
    for stride, cls_name, box_name in OUTPUT_BLOBS:
        cols, rows = width // stride, height // stride
        scores = outputs[cls_name].reshape(rows * cols, NUM_CLASSES)
        best = scores.argmax(axis=1)
        best_score = scores[np.arange(len(best)), best]
        keep = np.flatnonzero(best_score >= score_threshold)
        if keep.size == 0:
            continue
        bins = outputs[box_name].reshape(rows * cols, 4, REG_MAX + 1)[keep].astype(np.float32)
        bins = np.exp(bins - bins.max(axis=2, keepdims=True))
        bins /= bins.sum(axis=2, keepdims=True)
        distance = (bins * np.arange(REG_MAX + 1, dtype=np.float32)).sum(axis=2) * stride
        centre_x = (keep % cols + 0.5) * stride
        centre_y = (keep // cols + 0.5) * stride
        boxes = np.stack(
            (
                centre_x - distance[:, 0],
                centre_y - distance[:, 1],
                centre_x + distance[:, 2],
                centre_y + distance[:, 3],
            ),
            axis=1,
        )
        all_boxes.append(boxes.astype(np.float32))
        all_scores.append(best_score[keep].astype(np.float32))
        all_classes.append(best[keep].astype(np.int64))
    if not all_boxes:
        return (
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int64),
        )
    return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_classes)


def nms(
    boxes: FloatArray, scores: FloatArray, classes: npt.NDArray[np.int64], iou: float
) -> npt.NDArray[np.int64]:
    """Indexes kept by greedy class-aware non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    areas = np.maximum(0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0, boxes[:, 3] - boxes[:, 1])
    while order.size:
        index = int(order[0])
        kept.append(index)
        rest = order[1:]
        ix0 = np.maximum(boxes[index, 0], boxes[rest, 0])
        iy0 = np.maximum(boxes[index, 1], boxes[rest, 1])
        ix1 = np.minimum(boxes[index, 2], boxes[rest, 2])
        iy1 = np.minimum(boxes[index, 3], boxes[rest, 3])
        inter = np.maximum(0, ix1 - ix0) * np.maximum(0, iy1 - iy0)
        union = areas[index] + areas[rest] - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[(overlap <= iou) | (classes[rest] != classes[index])]
    return np.asarray(kept, dtype=np.int64)


def overlap(a: Box, b: Box) -> float:
    """The share of the smaller box that the two boxes share (0 when either is empty)."""
    inter_w = min(a[2], b[2]) - max(a[0], b[0])
    inter_h = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    if inter_w <= 0 or inter_h <= 0 or smaller <= 0:
        return 0.0
    return inter_w * inter_h / smaller


def pick_label(
    detections: tuple[Detection, ...], motion: Box, min_overlap: float
) -> tuple[Label, float, tuple[Detection, ...]]:
    """What the motion box shows: among our labels' detections that overlap it, the
    label first in `PRIORITY`, with its best score, and the detections that count."""
    counted = tuple(
        d for d in detections if d.label is not Label.NONE and overlap(d.box, motion) >= min_overlap
    )
    best: dict[Label, float] = {}
    for d in counted:
        best[d.label] = max(best.get(d.label, 0.0), d.score)
    label, score = strongest(best)
    return label, score, counted


class NanoDet:
    """The loaded model. Not thread-safe: one thread (the worker) uses it."""

    def __init__(self, net: Any, ncnn: Any, settings: ClassifierSettings) -> None:
        self._net = net
        self._ncnn = ncnn
        self.settings = settings
        self.version = str(getattr(ncnn, "__version__", "unknown"))

    @classmethod
    def load(
        cls, model_dir: Path = MODEL_DIR, settings: ClassifierSettings | None = None
    ) -> NanoDet:
        """Import ncnn, check the files' sha256, load the net (blocking: file I/O).

        Raises ModelError with the reason when any step fails.
        """
        settings = settings or ClassifierSettings()
        try:
            import ncnn
        except ImportError as error:
            raise ModelError(
                f"ncnn is not installed ({error.msg}); person/vehicle/animal labels are off"
            ) from error
        verify_model(model_dir)
        net = ncnn.Net()
        net.opt.use_vulkan_compute = False
        net.opt.num_threads = settings.threads
        if net.load_param(str(model_dir / PARAM_FILE)) != 0:
            raise ModelError(f"ncnn could not parse {PARAM_FILE}")
        if net.load_model(str(model_dir / BIN_FILE)) != 0:
            raise ModelError(f"ncnn could not load {BIN_FILE}")
        return cls(net, ncnn, settings)

    def detect(self, image: RgbImage) -> tuple[tuple[Detection, ...], tuple[int, int]]:
        """Every object in an HxWx3 RGB image (boxes 0-1 of it), and the model input size."""
        ncnn = self._ncnn
        height, width = image.shape[:2]
        scaled_w, scaled_h, padded_w, padded_h = letterbox_size(
            width, height, self.settings.input_size
        )
        pixels = ncnn.Mat.from_pixels_resize(
            np.ascontiguousarray(image),
            ncnn.Mat.PixelType.PIXEL_RGB2BGR,
            width,
            height,
            scaled_w,
            scaled_h,
        )
        pad_x, pad_y = (padded_w - scaled_w) // 2, (padded_h - scaled_h) // 2
        padded = ncnn.copy_make_border(
            pixels,
            pad_y,
            padded_h - scaled_h - pad_y,
            pad_x,
            padded_w - scaled_w - pad_x,
            ncnn.BorderType.BORDER_CONSTANT,
            0.0,
        )
        padded.substract_mean_normalize(list(MEAN), list(NORM))
        extractor = self._net.create_extractor()
        try:
            extractor.input(INPUT_BLOB, padded)
            outputs: dict[str, FloatArray] = {}
            for _, cls_name, box_name in OUTPUT_BLOBS:
                for name in (cls_name, box_name):
                    status, mat = extractor.extract(name)
                    if status != 0:
                        raise ModelError(f"ncnn could not compute blob {name} ({status})")
                    outputs[name] = np.array(mat, dtype=np.float32)
        finally:
            extractor.clear()
        boxes, scores, classes = decode(outputs, padded_w, padded_h, self.settings.score_threshold)
        kept = nms(boxes, scores, classes, self.settings.nms_iou)
        sx, sy = scaled_w, scaled_h
        detections = tuple(
            Detection(
                class_id=int(classes[i]),
                score=float(scores[i]),
                box=(
                    float(np.clip((boxes[i, 0] - pad_x) / sx, 0.0, 1.0)),
                    float(np.clip((boxes[i, 1] - pad_y) / sy, 0.0, 1.0)),
                    float(np.clip((boxes[i, 2] - pad_x) / sx, 0.0, 1.0)),
                    float(np.clip((boxes[i, 3] - pad_y) / sy, 0.0, 1.0)),
                ),
            )
            for i in kept.tolist()
        )
        return detections, (padded_w, padded_h)

    def classify(self, crop: Crop) -> Classification:
        """Run the model on a crop and say what its motion box shows."""
        started, started_cpu = time.perf_counter(), time.thread_time()
        found, size = self.detect(crop.image)
        rx0, ry0, rx1, ry1 = crop.region
        rw, rh = rx1 - rx0, ry1 - ry0
        in_frame = tuple(
            Detection(
                d.class_id,
                d.score,
                (
                    rx0 + d.box[0] * rw,
                    ry0 + d.box[1] * rh,
                    rx0 + d.box[2] * rw,
                    ry0 + d.box[3] * rh,
                ),
            )
            for d in found
        )
        label, score, counted = pick_label(in_frame, crop.motion, self.settings.min_overlap)
        return Classification(
            label=label,
            score=score,
            detections=counted,
            ms=1000 * (time.perf_counter() - started),
            cpu_ms=1000 * (time.thread_time() - started_cpu),
            input_size=size,
        )
