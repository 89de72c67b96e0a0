"""Local learning: learn what fired and where; one report is enough; people still fire.

Proof (issue 13): a swaying branch fires once, is reported once and no longer
fires; a walker who crosses in front of the branch and stays inside its area still
fires within 0.5 s; reporting a real walker's clip three times does not stop the
next walker; the rest of the picture is unaffected.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from custom_components.privacy_cam.engine.__main__ import main
from custom_components.privacy_cam.engine.motion.analyse import Analysis, analyse_video
from custom_components.privacy_cam.engine.motion.detector import MotionDetector
from custom_components.privacy_cam.engine.motion.learning import (
    GRID,
    KIND_FLICKER,
    KIND_IN_PLACE,
    MAX_SHARE,
    NuisanceMemory,
    Observation,
    observe_clip,
)

from ...scenarios import (
    BRANCH_AREA,
    BRANCH_GUST,
    BRANCH_GUST_AGAIN,
    BRANCH_WALKER,
    INSIDE_BRANCH,
    OBJECT_SCENARIOS,
    WALKER,
    Scenario,
    render_video,
)

SCENES = (BRANCH_GUST, BRANCH_GUST_AGAIN, BRANCH_WALKER, WALKER, OBJECT_SCENARIOS[0])


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("learning")
    return {s.name: render_video(s, folder / f"{s.name}.mp4") for s in SCENES}


def _run(
    videos: dict[str, Path], scenario: Scenario, memory: NuisanceMemory, use_opencv: bool
) -> Analysis:
    return analyse_video(
        videos[scenario.name],
        use_opencv=use_opencv,
        learned=memory.learned_grid(),
        learned_area=memory.max_area,
    )


@pytest.mark.parametrize("use_opencv", [False, True], ids=["numpy", "opencv"])
def test_branch_reported_once_stops_firing_people_still_fire(
    videos: dict[str, Path], use_opencv: bool
) -> None:
    memory = NuisanceMemory()
    before = _run(videos, BRANCH_GUST, memory, use_opencv)
    assert len(before.events) == 1  # the gust fires once
    walker_before = _run(videos, BRANCH_WALKER, memory, use_opencv)
    crossing_before = _run(videos, OBJECT_SCENARIOS[0], memory, use_opencv)

    event = before.events[0]
    seen = observe_clip(
        videos[BRANCH_GUST.name], window=(event.start, event.last_motion), use_opencv=use_opencv
    )
    lesson = memory.learn("branch-clip", seen)
    assert lesson is not None and lesson.cells > 0 and lesson.kind in (KIND_FLICKER, KIND_IN_PLACE)
    assert 0 < memory.share <= MAX_SHARE
    # Learned where the branch is, not elsewhere.
    rows, cols = np.nonzero(memory.grid)
    x0, y0, x1, y1 = BRANCH_AREA
    assert cols.min() / GRID >= x0 - 0.1 and (cols.max() + 1) / GRID <= x1 + 0.1
    assert rows.min() / GRID >= y0 - 0.1 and (rows.max() + 1) / GRID <= y1 + 0.1

    # One report is enough: the same clip and another windy day stay quiet.
    assert _run(videos, BRANCH_GUST, memory, use_opencv).events == []
    assert _run(videos, BRANCH_GUST_AGAIN, memory, use_opencv).events == []

    # Someone crossing in front of the branch and staying inside its area fires on
    # time, and keeps the event open while in front of it.
    walker = _run(videos, BRANCH_WALKER, memory, use_opencv)
    assert BRANCH_WALKER.appears is not None
    assert walker.events, "the walker in front of the branch was hidden"
    first = walker.events[0]
    assert first.confirmed - BRANCH_WALKER.appears <= 0.5
    assert walker.events[-1].last_motion >= INSIDE_BRANCH + 2.0
    assert len(walker.events) == len(walker_before.events) == 1

    # The rest of the picture is unaffected.
    crossing = _run(videos, OBJECT_SCENARIOS[0], memory, use_opencv)
    assert [(e.start, e.confirmed) for e in crossing.events] == [
        (e.start, e.confirmed) for e in crossing_before.events
    ]


def test_walker_reports_teach_nothing(videos: dict[str, Path]) -> None:
    memory = NuisanceMemory()
    before = _run(videos, WALKER, memory, False)
    assert len(before.events) == 1
    event = before.events[0]
    for clip_id in ("walker-1", "walker-2", "walker-3"):  # three clips of walkers
        seen = observe_clip(
            videos[WALKER.name], window=(event.start, event.last_motion), use_opencv=False
        )
        lesson = memory.learn(clip_id, seen)
        assert lesson is not None and lesson.cells == 0 and lesson.kind is None
    assert memory.share == 0.0 and memory.learned_grid() is None
    after = _run(videos, WALKER, memory, False)
    assert len(after.events) == 1
    assert after.events[0].confirmed - (WALKER.appears or 0.0) <= 0.5


def test_a_clip_teaches_once_and_share_is_capped() -> None:
    everything = Observation()
    everything.counts[:] = 10
    everything.frames = 10
    everything.max_area = 30.0
    memory = NuisanceMemory()
    first = memory.learn("clip-a", everything)
    assert first is not None and first.kind == KIND_IN_PLACE
    assert memory.share == pytest.approx(MAX_SHARE, abs=1.0 / GRID**2)
    assert memory.learn("clip-a", everything) is None  # the same clip: refused
    second = memory.learn("clip-b", everything)  # another clip: nothing left to learn
    assert second is not None and second.cells == 0
    assert memory.share <= MAX_SHARE
    assert [lesson.clip_id for lesson in memory.lessons] == ["clip-a", "clip-b"]

    sparse = Observation()
    sparse.counts[2, 3] = 1
    sparse.frames = 4  # a cell active now and then: flickering
    other = NuisanceMemory()
    lesson = other.learn("clip-c", sparse)
    assert lesson is not None and lesson.kind == KIND_FLICKER and lesson.cells == 9
    empty = NuisanceMemory()
    assert empty.learn("clip-d", Observation()) == empty.lessons[0]
    assert empty.lessons[0].cells == 0


def test_memory_round_trip_image_and_reset() -> None:
    memory = NuisanceMemory()
    seen = Observation()
    seen.counts[5:8, 20:26] = 3
    seen.frames = 3
    seen.max_area = 1.5
    memory.learn("clip", seen)
    again = NuisanceMemory.from_dict(json.loads(json.dumps(memory.as_dict())))
    assert np.array_equal(again.grid, memory.grid)
    assert again.lessons == memory.lessons and again.max_area == 1.5
    rows = memory.rows()
    assert len(rows) == GRID and rows[6][22] == "#" and rows[0] == "." * GRID
    png = memory.png(scale=2)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in png
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (GRID * 2, GRID * 2)
    start = png.index(b"IDAT") + 4
    length = int.from_bytes(png[start - 8 : start - 4], "big")
    pixels = zlib.decompress(png[start : start + length])
    assert len(pixels) == height * (1 + width) and 255 in pixels
    assert base64.b64encode(png)  # what diagnostics shows
    # Older versions stored boxes: they cannot become cells, learning starts afresh.
    old = NuisanceMemory.from_dict([{"box": [0.1, 0.1, 0.2, 0.2], "reports": 3}])
    assert old.lessons == [] and old.learned_grid() is None
    again.reset()
    assert again.lessons == [] and again.share == 0.0 and again.max_area == 0.0


def test_detector_maps_learned_cells_to_any_frame_size() -> None:
    grid = np.zeros((GRID, GRID), bool)
    grid[: GRID // 2, : GRID // 2] = True  # the top-left quarter
    detector = MotionDetector(use_opencv=False)
    detector.set_learned(grid, 2.0)
    detector.detect(np.full((90, 160), 100, np.uint8))
    cells = detector._learned_cells
    assert cells is not None and cells.shape == (23, 40)
    assert cells[:11, :20].all() and not cells[12:, :].any() and not cells[:, 21:].any()
    detector.set_learned(np.zeros((GRID, GRID), bool))  # nothing learned: cleared
    assert detector.learned is None and detector._learned_cells is None


def test_cli_learn_replays_a_report(
    videos: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    branch = videos[BRANCH_GUST.name]
    assert main(["detect", str(branch), "--json", "--numpy"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert len(events) == 1
    moved = tmp_path / "clips.json"
    moved.write_text(
        json.dumps(
            [
                {"id": "c1", "path": str(branch), "motion": [events[0]["start"], events[0]["end"]]},
                {"id": "c1", "path": str(branch)},  # the same clip again: teaches nothing more
            ]
        )
    )
    assert main(["detect", str(branch), "--json", "--numpy", "--learn", str(moved)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["events"] == []
    assert 0 < report["learning"]["share"] <= MAX_SHARE
    assert [lesson["clip_id"] for lesson in report["learning"]["lessons"]] == ["c1"]
    assert main(["detect", str(branch), "--numpy", "--learn", str(moved)]) == 0
    text = capsys.readouterr().out
    assert "learned from c1:" in text and "no motion events" in text
    walker = videos[WALKER.name]
    walker_clip = tmp_path / "walker.json"
    walker_clip.write_text(json.dumps({"id": "w", "path": walker.name}))
    (tmp_path / walker.name).write_bytes(walker.read_bytes())
    assert main(["detect", str(walker), "--numpy", "--learn", str(walker_clip)]) == 0
    text = capsys.readouterr().out
    assert "learned from w: nothing in place" in text and "event 1" in text
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["detect", str(walker), "--learn", str(bad)]) == 2
    assert "bad clips file" in capsys.readouterr().err
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps({"id": "m", "path": "nowhere.mp4"}))
    assert main(["detect", str(walker), "--learn", str(missing)]) == 1
    assert "cannot analyse" in capsys.readouterr().err
