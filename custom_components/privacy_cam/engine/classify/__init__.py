"""Classify: what moved — a person, a vehicle, an animal, or none of these (issue 15).

Owns the bundled NanoDet-m model (`model/`: weights, Apache-2.0 licence, provenance,
sha256), the crop around a motion box and its letterbox, the ncnn model wrapper with
decoding and NMS (`nanodet.py`), the COCO class groups (`labels.py`), which frames of an
event to classify and the event's label (`events.py`), and the one classifier thread of
the instance with its bounded queue (`worker.py`).

Takes colour frames: an HxWx3 uint8 RGB array (e.g. PyAV `frame.to_ndarray(format="rgb24")`
or a decoded still) and a motion box of 0-1 coordinates (`sources.frames.Box`). Analysis
frames are gray, so the caller decodes one colour frame per crop.

ncnn is optional, like OpenCV: without it (or with a model that fails its sha256 check)
`ClassifierWorker.unavailable_reason` says why, crops are refused, and nothing else changes.

May import: `sources` (frame types only), never `motion`, `recording` or `sharing`.
"""

from .events import CropPlan, EventLabel
from .labels import Label
from .nanodet import (
    Classification,
    ClassifierSettings,
    Crop,
    Detection,
    ModelError,
    NanoDet,
    crop_region,
)
from .worker import ClassifierWorker, CropResult, SharedWorker, WorkerState

__all__ = [
    "Classification",
    "ClassifierSettings",
    "ClassifierWorker",
    "Crop",
    "CropPlan",
    "CropResult",
    "Detection",
    "EventLabel",
    "Label",
    "ModelError",
    "NanoDet",
    "SharedWorker",
    "WorkerState",
    "crop_region",
]
