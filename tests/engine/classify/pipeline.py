"""Motion events on a video, classified as the HA glue will: the real detector and event
tracker on gray analysis frames, a colour frame decoded for each crop the plan asks for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from custom_components.privacy_cam.engine.classify.events import CropPlan, EventLabel
from custom_components.privacy_cam.engine.classify.nanodet import (
    Classification,
    ClassifierSettings,
    Crop,
    RgbImage,
    crop_region,
)
from custom_components.privacy_cam.engine.motion.detector import (
    MotionDetector,
    MotionResult,
    MotionSettings,
)
from custom_components.privacy_cam.engine.motion.events import Change, EventTracker
from custom_components.privacy_cam.engine.sources.frames import to_analysis_gray

Classify = Callable[[Crop], Classification]


@dataclass
class ClassifiedEvent:
    start: float
    end: float
    label: EventLabel
    crops: list[Crop] = field(default_factory=list)


def analysed_frames(
    path: Path, settings: MotionSettings
) -> Iterator[tuple[float, av.VideoFrame, MotionResult]]:
    """(time, decoded frame, motion result) at the detector's rate, as the watcher does."""
    detector = MotionDetector(settings, use_opencv=False)
    interval = 1.0 / settings.detect_fps
    next_time = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            if t + 1e-6 < next_time:
                continue
            next_time = max(next_time + interval, t + interval * 0.5)
            yield t, frame, detector.detect(to_analysis_gray(frame, 120))


def rgb(frame: av.VideoFrame) -> RgbImage:
    return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def classify_events(
    path: Path,
    classify: Classify,
    plan: CropPlan | None = None,
    motion: MotionSettings | None = None,
    settings: ClassifierSettings | None = None,
) -> list[ClassifiedEvent]:
    """Every motion event of the video with its crops classified (synchronously)."""
    motion = motion or MotionSettings()
    settings = settings or ClassifierSettings()
    tracker = EventTracker(motion.min_frames, motion.cooldown)
    events: list[ClassifiedEvent] = []
    current: ClassifiedEvent | None = None
    last = 0.0
    for t, frame, result in analysed_frames(path, motion):
        last = t
        change = tracker.update(t, result)
        if change is not None and change[0] is Change.STARTED:
            current = ClassifiedEvent(change[1].start, t, EventLabel(plan or CropPlan()))
        if change is not None and change[0] is Change.ENDED and current is not None:
            current.end = t
            events.append(current)
            current = None
        if current is not None and result.box is not None and current.label.due(t):
            crop = crop_region(rgb(frame), result.box, settings)
            current.crops.append(crop)
            current.label.submitted(t, True)
            current.label.add(classify(crop))
    if current is not None:
        current.end = last
        events.append(current)
    return events


def blob_crops(
    path: Path, every: float, settings: ClassifierSettings, min_area: float = 0.3
) -> list[tuple[float, Crop]]:
    """A crop around every moving blob of at least `min_area` % of the frame, sampled every
    `every` seconds: what the classifier meets on this footage, one object per crop."""
    crops: list[tuple[float, Crop]] = []
    next_time = 0.0
    for t, frame, result in analysed_frames(path, MotionSettings()):
        if t < next_time or not result.motion:
            continue
        blobs = [b for b in result.blobs if b.area >= min_area and b.coherent]
        if not blobs:
            continue
        next_time = t + every
        image = rgb(frame)
        crops.extend((t, crop_region(image, b.box, settings)) for b in blobs)
    return crops


def contact_sheet(crops: list[Crop], path: Path, size: int = 96, columns: int = 16) -> None:
    """Save crops side by side (a debugging aid: label ground truth by eye)."""
    from PIL import Image

    rows = -(-len(crops) // columns)
    sheet = Image.new("RGB", (columns * size, max(1, rows) * size))
    for index, crop in enumerate(crops):
        tile = Image.fromarray(np.ascontiguousarray(crop.image))
        tile.thumbnail((size, size))
        sheet.paste(tile, ((index % columns) * size, (index // columns) * size))
    sheet.save(path)


def change_crops(
    path: Path, every: float, settings: ClassifierSettings, level: int = 20
) -> list[tuple[float, Crop]]:
    """A crop around everything that changed by more than `level` gray levels since the
    previous frame, every `every` seconds, whether or not the motion detector counted it:
    what a looser detector would hand the classifier on a nuisance scene."""
    crops: list[tuple[float, Crop]] = []
    previous: np.ndarray | None = None
    next_time = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            gray = to_analysis_gray(frame, 120).astype(np.int16)
            changed = previous is not None and t >= next_time
            if changed:
                assert previous is not None
                rows, cols = np.nonzero(np.abs(gray - previous) > level)
                if rows.size >= 0.001 * gray.size:
                    h, w = gray.shape
                    box = (
                        cols.min() / w,
                        rows.min() / h,
                        (cols.max() + 1) / w,
                        (rows.max() + 1) / h,
                    )
                    crops.append((t, crop_region(rgb(frame), box, settings)))
                    next_time = t + every
            previous = gray
    return crops
