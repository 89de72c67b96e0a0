"""What a detection means for a home camera: COCO classes grouped as person/vehicle/animal."""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    """What an event (or one crop of it) shows; `NONE`: the detector ran and found nothing."""

    PERSON = "person"
    VEHICLE = "vehicle"
    ANIMAL = "animal"
    NONE = "none"


# The model's 80 classes, by the contiguous index NanoDet outputs (COCO 2017 order, not the
# original 1-90 COCO category ids).
COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip

# Issue 15: the classes a home camera cares about; every other class counts as nothing.
GROUPS: dict[Label, frozenset[str]] = {
    Label.PERSON: frozenset({"person"}),
    Label.VEHICLE: frozenset({"bicycle", "car", "motorcycle", "bus", "truck"}),
    Label.ANIMAL: frozenset({"bird", "cat", "dog", "horse", "sheep", "cow", "bear"}),
}

_BY_ID: dict[int, Label] = {
    index: label
    for label, names in GROUPS.items()
    for index, name in enumerate(COCO_CLASSES)
    if name in names
}

# When one crop or one event shows several things, the first of these wins: a person
# getting out of a car is a person event, a dog walked by someone is a person event.
PRIORITY: tuple[Label, ...] = (Label.PERSON, Label.VEHICLE, Label.ANIMAL, Label.NONE)


def label_of(class_id: int) -> Label:
    """The label of one of the model's class indexes (0-79); `NONE` for any other class."""
    return _BY_ID.get(class_id, Label.NONE)


def class_ids(label: Label) -> frozenset[int]:
    """The model's class indexes that make up `label` (empty for `NONE`)."""
    return frozenset(index for index, found in _BY_ID.items() if found is label)


def strongest(scores: dict[Label, float]) -> tuple[Label, float]:
    """The label that wins by `PRIORITY` among `scores` (label → best score), with its score."""
    for label in PRIORITY:
        if label in scores and label is not Label.NONE:
            return label, scores[label]
    return Label.NONE, 0.0
