"""Detection a keyframe at a time (keyframes only: 1 or 0.5 analysed frames a second).

Seconds apart, a walker is somewhere else in every frame and a branch is in another
pose, so the detector follows objects over a reach that grows with the interval, takes
two sightings as travel, and never counts travel across a gap. Acceptance: every object
of the suite found at 1 fps, its event dated at most one interval after it came in and
declared at most three; no nuisance scene fires at 1 or 0.5 fps. At camera rates
(>= 2 fps) nothing changes: the other motion tests hold the detector to that.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from custom_components.privacy_cam.engine.motion.analyse import analyse_video
from custom_components.privacy_cam.engine.motion.detector import MotionSettings

from ...scenarios import (
    BRANCH,
    NUISANCE_CLASSES,
    NUISANCE_SCENARIOS,
    OBJECT_CLASSES,
    OBJECT_SCENARIOS,
    Scenario,
)

PATHS = [pytest.param(False, id="numpy"), pytest.param(True, id="opencv")]
VTEST = Path(__file__).parents[2] / "data" / "vtest.avi"
NUISANCES = [*NUISANCE_SCENARIOS, BRANCH, *(v.scenario for v in NUISANCE_CLASSES)]
OBJECTS = [*OBJECT_SCENARIOS, *(v.scenario for v in OBJECT_CLASSES)]


def _video(scenario: Scenario, rendered: dict[str, Path], videos: dict[str, Path]) -> Path:
    return rendered.get(scenario.name) or videos[scenario.name]


@pytest.mark.parametrize("use_opencv", PATHS)
@pytest.mark.parametrize("fps", [1.0, 0.5])
@pytest.mark.parametrize("scenario", NUISANCES, ids=lambda s: s.name)
def test_nuisance_never_fires_a_keyframe_at_a_time(
    scenario: Scenario,
    fps: float,
    use_opencv: bool,
    rendered: dict[str, Path],
    videos: dict[str, Path],
) -> None:
    settings = replace(scenario.settings, detect_fps=fps)
    analysis = analyse_video(_video(scenario, rendered, videos), settings, use_opencv=use_opencv)
    assert analysis.events == [], [e.as_dict() for e in analysis.events]


@pytest.mark.parametrize("use_opencv", PATHS)
@pytest.mark.parametrize("scenario", OBJECTS, ids=lambda s: s.name)
def test_object_found_at_one_keyframe_a_second(
    scenario: Scenario, use_opencv: bool, rendered: dict[str, Path], videos: dict[str, Path]
) -> None:
    interval = 1.0
    settings = replace(scenario.settings, detect_fps=1 / interval)
    analysis = analyse_video(_video(scenario, rendered, videos), settings, use_opencv=use_opencv)
    assert len(analysis.events) == 1, [e.as_dict() for e in analysis.events]
    event = analysis.events[0]
    assert scenario.appears is not None
    # Dated at the first analysed frame that shows it; declared at the second or third.
    assert scenario.appears - 0.05 <= event.start <= scenario.appears + interval + 0.05
    assert event.confirmed <= scenario.appears + 3 * interval + 0.05


@pytest.mark.parametrize("fps", [1.0, 0.5])
def test_real_footage_a_keyframe_at_a_time(fps: float) -> None:
    """vtest.avi: people walk from the first second on; the event is declared two
    analysed frames after the first that can show motion (the first calibrates)."""
    if not VTEST.is_file():
        pytest.fail("tests/data/vtest.avi is missing: run scripts/setup")
    analysis = analyse_video(VTEST, MotionSettings(detect_fps=fps), use_opencv=False)
    interval = 1 / fps
    first = analysis.events[0]
    assert first.start <= 2 * interval + 0.05
    assert first.confirmed <= first.start + 2 * interval + 0.05
    covered = sum((e.end or e.last_motion) - e.start for e in analysis.events)
    assert covered >= 0.9 * (analysis.duration - first.start)
