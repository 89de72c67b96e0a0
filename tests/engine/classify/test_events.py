"""Crops per event (at most 3, spaced, skipped ones retried) and the event's label."""

from __future__ import annotations

import pytest

from custom_components.privacy_cam.engine.classify.events import CropPlan, EventLabel
from custom_components.privacy_cam.engine.classify.labels import Label
from custom_components.privacy_cam.engine.classify.nanodet import Classification


def _result(label: Label, score: float) -> Classification:
    return Classification(label, score, (), 1.0, 1.0, (320, 192))


def test_at_most_three_crops_spaced_by_the_interval() -> None:
    event = EventLabel(CropPlan(max_crops=3, interval=2.0))
    taken = []
    for step in range(60):  # 5 fps for 12 s
        now = step * 0.2
        if event.due(now):
            event.submitted(now, accepted=True)
            taken.append(round(now, 1))
    assert taken == [0.0, 2.0, 4.0]
    assert event.crops == 3
    assert event.skipped == 0


def test_a_skipped_crop_is_retried_soon_and_does_not_count() -> None:
    event = EventLabel(CropPlan(max_crops=2, interval=2.0, retry=0.5))
    assert event.due(0.0)
    event.submitted(0.0, accepted=False)  # the worker is busy
    assert not event.due(0.4)
    assert event.due(0.5)
    event.submitted(0.5, accepted=True)
    assert not event.due(2.4)
    assert event.due(2.5)
    event.submitted(2.5, accepted=True)
    assert not event.due(100.0)
    assert (event.crops, event.skipped) == (2, 1)


def test_the_event_label_is_the_strongest_crop() -> None:
    event = EventLabel()
    assert event.label is None  # nothing classified (or no detector): no label at all
    event.add(_result(Label.NONE, 0.0))
    assert event.label is Label.NONE
    event.add(_result(Label.ANIMAL, 0.7))
    assert event.label is Label.ANIMAL
    event.add(_result(Label.PERSON, 0.41))
    event.add(_result(Label.PERSON, 0.6))
    assert event.label is Label.PERSON
    assert event.scores == {Label.NONE: 0.0, Label.ANIMAL: 0.7, Label.PERSON: 0.6}


@pytest.mark.parametrize("plan", [{"max_crops": 0}, {"interval": 0.0}, {"retry": -1.0}])
def test_plans_are_validated(plan: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid crop plan"):
        CropPlan(**plan)  # type: ignore[arg-type]
