"""Issue 15's evidence: real footage and generated scenes through the real motion detector,
event tracker, crop plan and NanoDet-m, at NanoDet's own default thresholds.

- vtest.avi (real pedestrians): its events are labelled person, and of the moving blobs
  sampled every 2 s (89, every one a pedestrian, checked by eye on a contact sheet of the
  crops; `pipeline.contact_sheet`) at least 90% are labelled person (measured: 88/89).
- a car-like and a dog-like drawing crossing a garden, and tests/scenarios.py's cat: never
  person. (The model does not recognise these flat drawings at all: they come out none.)
- nuisance scenes (branches, gusty trees, headlights at night, heavy snow, a flapping flag):
  every crop around what changed, whether or not motion detection counted it, is none.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from custom_components.privacy_cam.engine.classify.labels import Label
from custom_components.privacy_cam.engine.classify.nanodet import NanoDet

from ...scenarios import (
    BRANCH,
    BRANCH_GUST,
    FLAG,
    NUISANCE_CLASSES,
    OBJECT_SCENARIOS,
    Scenario,
    render_video,
)
from .pipeline import blob_crops, change_crops, classify_events
from .scenes import CAR, DOG

VTEST = Path(__file__).parents[2] / "data" / "vtest.avi"
NUISANCES = [
    BRANCH,
    BRANCH_GUST,
    FLAG,
    *(
        v.scenario
        for v in NUISANCE_CLASSES
        if v.cls in {"gusty_tree", "night_headlights", "heavy_snow"}
    ),
]
CAT = next(s for s in OBJECT_SCENARIOS if s.name == "cat")


@pytest.fixture(scope="module")
def model() -> NanoDet:
    return NanoDet.load()


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("classify")
    return {s.name: render_video(s, folder / f"{s.name}.mp4") for s in (CAR, DOG, CAT, *NUISANCES)}


def test_vtest_events_are_person(model: NanoDet) -> None:
    events = classify_events(VTEST, model.classify)
    assert events  # people walk through all 79 s
    for event in events:
        assert 1 <= event.label.crops <= 3
        assert event.label.label is Label.PERSON
        assert [r.label for r in event.label.results].count(Label.PERSON) >= 2


def test_vtest_walkers_are_person(model: NanoDet) -> None:
    crops = blob_crops(VTEST, every=2.0, settings=model.settings)
    labels = Counter(model.classify(crop).label for _, crop in crops)
    recall = labels[Label.PERSON] / len(crops)
    assert len(crops) >= 80
    assert recall >= 0.9, labels
    assert labels[Label.ANIMAL] == 0, labels


@pytest.mark.parametrize("scenario", [CAR, DOG, CAT], ids=lambda s: s.name)
def test_generated_vehicle_and_animal_are_not_person(
    model: NanoDet, videos: dict[str, Path], scenario: Scenario
) -> None:
    path = videos[scenario.name]
    events = classify_events(path, model.classify)
    assert events  # the motion detector sees it cross
    assert all(event.label.label is not Label.PERSON for event in events)
    crops = blob_crops(path, every=1.0, settings=model.settings, min_area=0.1)
    assert crops
    assert all(model.classify(crop).label is not Label.PERSON for _, crop in crops)


@pytest.mark.parametrize("scenario", NUISANCES, ids=lambda s: s.name)
def test_nuisances_are_none(model: NanoDet, videos: dict[str, Path], scenario: Scenario) -> None:
    path = videos[scenario.name]
    crops = change_crops(path, every=1.0, settings=model.settings)
    assert crops  # something changed: the classifier really looked
    found = [model.classify(crop) for _, crop in crops]
    assert [r.label for r in found] == [Label.NONE] * len(found)
    for event in classify_events(path, model.classify):  # what the detector let through
        assert event.label.label in (None, Label.NONE)
