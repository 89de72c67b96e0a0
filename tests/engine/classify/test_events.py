"""Crops per event (at most 3, spaced, skipped ones retried) and the event's label."""

from __future__ import annotations

import pytest

from custom_components.privacy_cam.engine.classify.events import CropPlan, EventLabel
from custom_components.privacy_cam.engine.classify.labels import Label
from custom_components.privacy_cam.engine.classify.nanodet import Classification, Detection


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
    event = EventLabel(CropPlan(max_crops=2, interval=2.0, retry=0.5, revisit=None))
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


def test_a_long_event_is_looked_at_again_until_a_person_shows() -> None:
    """Wind keeps an event open: a person who comes after the first crops still gets
    looked at (every `revisit` s), and once a crop shows one the looking stops."""
    event = EventLabel(CropPlan(max_crops=3, interval=2.0, revisit=10.0))
    taken = []
    for step in range(200):  # 5 fps for 40 s
        now = step * 0.2
        if event.due(now):
            event.submitted(now, accepted=True)
            taken.append(round(now, 1))
            event.add(_result(Label.PERSON if now >= 20 else Label.NONE, 0.7 if now >= 20 else 0))
    assert taken == [0.0, 2.0, 4.0, 14.0, 24.0]
    assert event.person == 0.7
    assert event.best(0.5) == (Label.PERSON, 0.7)


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


@pytest.mark.parametrize(
    "plan", [{"max_crops": 0}, {"interval": 0.0}, {"retry": -1.0}, {"revisit": 0.0}]
)
def test_plans_are_validated(plan: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid crop plan"):
        CropPlan(**plan)  # type: ignore[arg-type]


def test_the_best_label_counts_only_scores_over_the_threshold() -> None:
    event = EventLabel()
    assert event.best(0.5) is None  # nothing classified yet
    event.add(_result(Label.NONE, 0.0))
    assert event.best(0.5) == (Label.NONE, 0.0)
    event.add(_result(Label.PERSON, 0.4))
    assert event.best(0.5) == (Label.NONE, 0.0)  # not sure enough
    assert event.best(0.3) == (Label.PERSON, 0.4)
    # A crop picked as a weak person that also showed a sure dog (class 16): an animal.
    dog = Detection(16, 0.8, (0.1, 0.1, 0.5, 0.5))
    event.add(Classification(Label.PERSON, 0.45, (dog,), 1.0, 1.0, (320, 192)))
    assert event.best(0.5) == (Label.ANIMAL, 0.8)
    assert event.best(0.4) == (Label.PERSON, 0.45)  # person first, at its best score
    assert event.label is Label.PERSON  # without a threshold, as before
