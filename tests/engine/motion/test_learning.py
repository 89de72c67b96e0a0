"""Local learning: a recurring nuisance stops firing after three reports; people still fire."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.privacy_cam.engine.motion.analyse import analyse_video
from custom_components.privacy_cam.engine.motion.learning import REPORTS_TO_LEARN, NuisanceMemory

from ...scenarios import FLAG, FLAG_BOX, FLAG_WALKER, OBJECT_SCENARIOS, render_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("learning")
    return {
        s.name: render_video(s, folder / f"{s.name}.mp4")
        for s in (FLAG, FLAG_WALKER, OBJECT_SCENARIOS[0])
    }


@pytest.mark.parametrize("use_opencv", [False, True])
def test_reported_nuisance_stops_firing_people_still_fire(
    videos: dict[str, Path], use_opencv: bool
) -> None:
    before = analyse_video(videos["flapping_flag"], use_opencv=use_opencv)
    assert len(before.events) == 3  # every gust is a (false) alarm
    memory = NuisanceMemory()
    for index, event in enumerate(before.events):
        # The events are where the flag is.
        x0, y0, x1, y1 = event.box
        assert x0 >= FLAG_BOX[0] - 0.05 and x1 <= FLAG_BOX[2] + 0.05
        assert y0 >= FLAG_BOX[1] - 0.05 and y1 <= FLAG_BOX[3] + 0.05
        region = memory.report(event.box)
        assert region.learned is (index + 1 >= REPORTS_TO_LEARN)
    assert len(memory.regions) == 1  # one place, reported three times

    learned = memory.learned_boxes()
    after = analyse_video(videos["flapping_flag"], use_opencv=use_opencv, learned=learned)
    assert after.events == []
    # Someone walking through the same place still fires, on time.
    walker = analyse_video(videos["flag_and_walker"], use_opencv=use_opencv, learned=learned)
    assert walker.events and 4.0 <= walker.events[0].start <= 4.5
    # Elsewhere nothing changed.
    crossing = analyse_video(videos["person_crossing"], use_opencv=use_opencv, learned=learned)
    assert len(crossing.events) == 1 and crossing.events[0].start <= 4.5


def test_memory_round_trip_and_reset() -> None:
    memory = NuisanceMemory()
    memory.report((0.1, 0.1, 0.2, 0.2))
    memory.report((0.6, 0.6, 0.7, 0.7))  # elsewhere: its own region
    memory.report((0.12, 0.12, 0.22, 0.22))
    assert [r.reports for r in memory.regions] == [2, 1]
    assert memory.learned_boxes() == ()
    memory.report((0.1, 0.1, 0.2, 0.2))
    assert len(memory.learned_boxes()) == 1
    again = NuisanceMemory.from_list(memory.as_list())
    assert again.as_list() == memory.as_list()
    again.reset()
    assert again.regions == [] and NuisanceMemory.from_list(None).regions == []
    zero = NuisanceMemory()
    zero.report((0.5, 0.5, 0.5, 0.5))  # a degenerate box never merges
    zero.report((0.5, 0.5, 0.5, 0.5))
    assert len(zero.regions) == 2
