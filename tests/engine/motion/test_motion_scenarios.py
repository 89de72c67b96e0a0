"""The scenario suite: every object detected within 0.5 s, no nuisance ever fires.

Each scenario is rendered to real H.264 and analysed through the same path as
the `detect` CLI, once with OpenCV and once with NumPy only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.privacy_cam.engine.motion.analyse import Analysis, analyse_video
from custom_components.privacy_cam.engine.motion.detector import HAVE_OPENCV

from ...scenarios import BRANCH, NUISANCE_SCENARIOS, OBJECT_SCENARIOS, Scenario

PATHS = [pytest.param(False, id="numpy"), pytest.param(True, id="opencv")]
VTEST = Path(__file__).parents[2] / "data" / "vtest.avi"


def _analyse(scenario: Scenario, rendered: dict[str, Path], use_opencv: bool) -> Analysis:
    if use_opencv and not HAVE_OPENCV:
        pytest.fail("opencv-python-headless is in requirements_test.txt and must import")
    return analyse_video(rendered[scenario.name], scenario.settings, use_opencv=use_opencv)


@pytest.mark.parametrize("use_opencv", PATHS)
@pytest.mark.parametrize("scenario", OBJECT_SCENARIOS, ids=lambda s: s.name)
def test_object_is_detected_quickly(
    scenario: Scenario, rendered: dict[str, Path], use_opencv: bool
) -> None:
    analysis = _analyse(scenario, rendered, use_opencv)
    assert analysis.events, f"{scenario.name}: no event"
    first = analysis.events[0]
    assert scenario.appears is not None
    assert scenario.appears - 0.05 <= first.start <= scenario.appears + 0.5, first
    assert len(analysis.events) == 1, [e.as_dict() for e in analysis.events]
    assert first.peak_score > 0
    x0, y0, x1, y1 = first.box
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1


@pytest.mark.parametrize("use_opencv", PATHS)
@pytest.mark.parametrize("scenario", NUISANCE_SCENARIOS, ids=lambda s: s.name)
def test_nuisance_never_fires(
    scenario: Scenario, rendered: dict[str, Path], use_opencv: bool
) -> None:
    analysis = _analyse(scenario, rendered, use_opencv)
    assert analysis.events == [], [e.as_dict() for e in analysis.events]


def test_paths_agree(rendered: dict[str, Path]) -> None:
    """OpenCV only makes it faster: the events are the same within tolerance."""
    for scenario in (*OBJECT_SCENARIOS, BRANCH):
        fast = _analyse(scenario, rendered, True)
        plain = _analyse(scenario, rendered, False)
        assert len(fast.events) == len(plain.events)
        for a, b in zip(fast.events, plain.events, strict=True):
            assert abs(a.start - b.start) <= 0.21
            assert abs(a.peak_score - b.peak_score) <= 0.1 * max(a.peak_score, 0.01)


def test_masks_and_zones_decide_what_counts(rendered: dict[str, Path]) -> None:
    from dataclasses import replace

    crossing = OBJECT_SCENARIOS[0]  # walks along y 0.45..0.87 across the frame
    path = rendered[crossing.name]
    top_zone = ((0.0, 0.0), (1.0, 0.0), (1.0, 0.3), (0.0, 0.3))
    assert analyse_video(path, replace(crossing.settings, zones=(top_zone,))).events == []
    everything = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    assert analyse_video(path, replace(crossing.settings, masks=(everything,))).events == []
    left_zone = ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))
    events = analyse_video(path, replace(crossing.settings, zones=(left_zone,))).events
    assert len(events) == 1
    # Only the left half counts: the event ends once the walker has left it.
    assert events[0].box[2] <= 0.6 and events[0].last_motion < 8.0


def test_real_footage_vtest() -> None:
    """vtest.avi (opencv-doc): pedestrians walk through the whole clip."""
    if not VTEST.is_file():
        pytest.fail("tests/data/vtest.avi is missing: run scripts/setup")
    analysis = analyse_video(VTEST)
    assert analysis.frames == 795
    covered = sum((e.end or e.last_motion) - e.start for e in analysis.events)
    # Calibration takes the first second; people are in view from then on.
    assert analysis.events[0].start <= 2.0
    assert covered >= 0.9 * (analysis.duration - 2.0)
