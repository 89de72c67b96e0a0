"""COCO classes → person / vehicle / animal / none (issue 15's groups)."""

from __future__ import annotations

from custom_components.privacy_cam.engine.classify.labels import (
    COCO_CLASSES,
    GROUPS,
    Label,
    class_ids,
    label_of,
    strongest,
)


def test_the_model_has_80_classes_person_first() -> None:
    assert len(COCO_CLASSES) == 80
    assert len(set(COCO_CLASSES)) == 80
    assert COCO_CLASSES[0] == "person"


def test_the_groups_are_the_issues() -> None:
    names = {label: {COCO_CLASSES[i] for i in class_ids(label)} for label in Label}
    assert names[Label.PERSON] == {"person"}
    assert names[Label.VEHICLE] == {"bicycle", "car", "motorcycle", "bus", "truck"}
    assert names[Label.ANIMAL] == {"bird", "cat", "dog", "horse", "sheep", "cow", "bear"}
    assert names[Label.NONE] == set()
    assert all(names[label] == GROUPS[label] for label in GROUPS)


def test_label_of_indexes() -> None:
    assert label_of(0) is Label.PERSON
    assert [label_of(i) for i in (1, 2, 3, 5, 7)] == [Label.VEHICLE] * 5
    assert [label_of(i) for i in (14, 15, 16, 17, 18, 19, 21)] == [Label.ANIMAL] * 7
    # Trains, boats, planes, elephants, teddy bears, out-of-range: nothing we label.
    assert {label_of(i) for i in (4, 6, 8, 20, 22, 23, 77, 80, -1)} == {Label.NONE}


def test_strongest_follows_priority_not_score() -> None:
    assert strongest({}) == (Label.NONE, 0.0)
    assert strongest({Label.NONE: 0.0}) == (Label.NONE, 0.0)
    assert strongest({Label.VEHICLE: 0.9, Label.PERSON: 0.45}) == (Label.PERSON, 0.45)
    assert strongest({Label.ANIMAL: 0.8, Label.VEHICLE: 0.5, Label.NONE: 0.0}) == (
        Label.VEHICLE,
        0.5,
    )
    assert str(Label.PERSON) == "person"
