"""Face finding for redaction, where OpenCV and a face model are available.

HA OS cannot install OpenCV (no musl wheels), so this is optional: callers get
None and say so to the owner. OpenCV 4 ships the Haar cascade with its wheels;
OpenCV 5 has the classifier only in the contrib build and no model files, so
the model is also looked for where Debian's `opencv-data` puts it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_LOGGER = logging.getLogger(__name__)

CASCADE = "haarcascade_frontalface_default.xml"
MODEL_DIRS = (
    Path("/usr/share/opencv4/haarcascades"),
    Path("/usr/share/opencv/haarcascades"),
    Path("/usr/local/share/opencv4/haarcascades"),
)

type Rect = tuple[int, int, int, int]  # x, y, width, height in pixels
type FaceFinder = Callable[[npt.NDArray[np.uint8]], list[Rect]]


def load_face_finder() -> FaceFinder | None:
    """A function from a gray image to face rectangles, or None if unavailable."""
    try:
        import cv2  # optional: HA OS cannot install it
    except ImportError:
        return None
    if not hasattr(cv2, "CascadeClassifier"):
        return None
    dirs = list(MODEL_DIRS)
    data = getattr(cv2, "data", None)
    if data is not None and getattr(data, "haarcascades", None):
        dirs.insert(0, Path(data.haarcascades))
    for folder in dirs:
        path = folder / CASCADE
        if path.is_file():
            classifier: Any = cv2.CascadeClassifier(str(path))
            if not classifier.empty():
                return _finder(classifier)
    _LOGGER.debug("OpenCV is present but has no face model")
    return None


def _finder(classifier: Any) -> FaceFinder:
    def find(gray: npt.NDArray[np.uint8]) -> list[Rect]:
        found = classifier.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(16, 16))
        return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]

    return find
