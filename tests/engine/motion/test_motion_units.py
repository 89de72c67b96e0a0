"""Detector settings, polygons, the event state machine and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from custom_components.privacy_cam.engine.__main__ import main
from custom_components.privacy_cam.engine.motion.detector import (
    MotionDetector,
    MotionResult,
    MotionSettings,
    _label,
)
from custom_components.privacy_cam.engine.motion.events import Change, EventTracker
from custom_components.privacy_cam.engine.motion.zones import (
    PolygonError,
    format_polygons,
    parse_polygons,
    rasterise,
)

from ...scenarios import OBJECT_SCENARIOS, render_video


def test_settings_defaults_and_validation() -> None:
    settings = MotionSettings()
    assert (settings.sensitivity, settings.detect_fps, settings.cooldown) == (50, 5.0, 10.0)
    assert settings.min_frames == 2
    assert MotionSettings(sensitivity=100).threshold < settings.threshold
    assert MotionSettings(sensitivity=1).threshold > settings.threshold
    for bad in (
        {"sensitivity": 0},
        {"sensitivity": 101},
        {"min_size": -1},
        {"detect_fps": 0},
        {"cooldown": -1},
        {"min_frames": 0},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            MotionSettings(**bad)


def test_settings_round_trip() -> None:
    settings = MotionSettings.from_dict(
        {
            "sensitivity": "70",
            "min_size": 0.5,
            "zones": "0,0 1,0 1,0.5",
            "masks": [[[0, 0], [0.2, 0], [0.2, 0.2]]],
            "cooldown": 4,
            "min_frames": 3,
            "detect_fps": 2,
        }
    )
    assert settings.sensitivity == 70 and settings.min_frames == 3
    assert settings.zones == (((0.0, 0.0), (1.0, 0.0), (1.0, 0.5)),)
    assert settings.masks == (((0.0, 0.0), (0.2, 0.0), (0.2, 0.2)),)
    assert MotionSettings.from_dict(settings.as_dict()) == settings


def test_polygons() -> None:
    text = "0.1,0.1 0.9,0.1 0.9,0.9 0.1,0.9;\n 0,0 0.2,0 0,0.2"
    polygons = parse_polygons(text)
    assert len(polygons) == 2
    assert parse_polygons(format_polygons(polygons)) == polygons
    assert parse_polygons("  ;  ") == ()
    for bad, why in (
        ("0.1,0.1 0.2,0.2", "at least 3"),
        ("0.1;0.2 0.3,0.3 0.4,0.4", "not an x,y pair"),
        ("a,b 0,0 1,1", "not an x,y pair"),
        ("0,0 1.5,0 1,1", "outside 0..1"),
    ):
        with pytest.raises(PolygonError, match=why):
            parse_polygons(bad)
    square = rasterise(polygons[:1], 10, 10)
    assert square.sum() == 64 and square[5, 5] and not square[0, 0]
    assert not rasterise((), 4, 4).any()


def test_labels_agree_between_paths() -> None:
    grid = np.zeros((6, 8), bool)
    grid[0, 0] = grid[1, 1] = True  # diagonal neighbours: one blob
    grid[4:6, 5:8] = True
    grid[0, 7] = True
    for use_opencv in (False, True):
        labels, count = _label(grid, use_opencv)
        assert count == 3
        assert labels[0, 0] == labels[1, 1] != labels[4, 6]


def test_detector_basics() -> None:
    rng = np.random.default_rng(2)
    background = rng.integers(40, 200, (240, 320), dtype=np.uint8)
    for use_opencv in (False, True):
        _basics(background, use_opencv)


def _basics(background: np.ndarray, use_opencv: bool) -> None:
    detector = MotionDetector(MotionSettings(detect_fps=5), use_opencv=use_opencv)
    assert detector.detect(background).recalibrated
    for _ in range(6):
        assert not detector.detect(background).motion
    moved = background.copy()
    moved[100:160, 100:130] = 255
    # A big input is reduced to the working size; the box is normalised.
    result = detector.detect(moved)
    moved2 = background.copy()
    moved2[100:160, 110:140] = 255
    result = detector.detect(moved2)
    assert result.motion and result.box is not None
    assert 0.25 < result.box[0] < 0.4 and 0.35 < result.box[1] < 0.45
    # A new size starts over; new zones apply live.
    assert detector.detect(background[:120, :160]).recalibrated
    detector.update_settings(MotionSettings(zones=(((0, 0), (0.1, 0), (0.1, 0.1)),)))
    detector.reset()
    assert detector.detect(background).recalibrated


def test_flat_scene_does_not_divide_by_zero() -> None:
    detector = MotionDetector()
    flat = np.full((120, 160), 30, np.uint8)
    for _ in range(10):
        assert not detector.detect(flat).motion


def test_tracker_start_cooldown_peak() -> None:
    tracker = EventTracker(min_frames=2, cooldown=3.0)
    quiet = MotionResult(False)
    small = MotionResult(True, 1.0, (0.1, 0.1, 0.2, 0.2))
    big = MotionResult(True, 5.0, (0.5, 0.5, 0.6, 0.7))
    frame = np.zeros((2, 2), np.uint8)
    assert tracker.update(0.0, quiet) is None
    assert tracker.update(1.0, small) is None  # one frame is not enough
    assert tracker.update(1.2, quiet) is None  # the run broke
    assert tracker.update(2.0, small) is None
    change = tracker.update(2.2, big, frame)
    assert change is not None and change[0] is Change.STARTED
    event = change[1]
    assert event.start == 2.0 and event.peak_score == 5.0 and event.peak_frame is frame
    assert event.box == (0.1, 0.1, 0.6, 0.7)
    assert tracker.update(3.0, small) == (Change.UPDATED, event)
    assert tracker.update(5.9, quiet) is None
    ended = tracker.update(6.0, quiet)
    assert ended == (Change.ENDED, event) and event.end == 3.0
    assert event.as_dict()["end"] == 3.0
    assert tracker.close(7.0) is None
    tracker.update(8.0, small)
    tracker.update(8.2, small)
    closed = tracker.close(20.0)
    assert closed is not None and closed.end == 8.2 + 3.0


def test_tracked_blob_starts_at_once_dated_to_its_first_sighting() -> None:
    """The detector counts a blob only once its track travels or persists: the event
    starts on that frame (no second wait) and is dated back to the first sighting."""
    tracker = EventTracker(min_frames=2, cooldown=3.0)
    quiet = MotionResult(False)
    for t in (0.0, 0.2, 0.4):  # the object is seen, not counted yet
        assert tracker.update(t, quiet) is None
    counted = MotionResult(True, 2.0, (0.1, 0.4, 0.2, 0.9), age=3)
    change = tracker.update(0.6, counted)
    assert change is not None and change[0] is Change.STARTED
    event = change[1]
    assert event.confirmed == 0.6 and event.start == 0.2  # its track began at 0.2
    other = EventTracker(min_frames=2, cooldown=3.0)
    assert other.update(0.0, MotionResult(True, 2.0, (0.1, 0.1, 0.2, 0.2), age=1)) is None
    started = other.update(0.2, MotionResult(True, 2.0, (0.1, 0.1, 0.2, 0.2), age=20))
    assert started is not None and started[1].start == 0.0  # never before what it saw


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = render_video(OBJECT_SCENARIOS[0], tmp_path / "walk.mp4")
    assert main(["detect", str(video), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 160 and report["fps"] == 10
    assert len(report["events"]) == 1
    assert set(report["events"][0]) == {"start", "confirmed", "end", "peak_score", "box"}
    assert set(report["ms_per_frame"]) == {"decode", "detect"}

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"sensitivity": 30, "min_frames": 3}))
    assert main(["detect", str(video), "--settings", str(settings), "--numpy"]) == 0
    text = capsys.readouterr().out
    assert "NumPy path" in text and "event 1:" in text

    quiet = tmp_path / "quiet.mp4"
    from ...scenarios import NUISANCE_SCENARIOS

    render_video(NUISANCE_SCENARIOS[3], quiet)  # night noise
    assert main(["detect", str(quiet)]) == 0
    assert "no motion events" in capsys.readouterr().out

    settings.write_text(json.dumps({"sensitivity": 500}))
    assert main(["detect", str(video), "--settings", str(settings)]) == 2
    assert "bad settings" in capsys.readouterr().err
    assert main(["detect", str(tmp_path / "missing.mp4")]) == 2
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 1000)
    assert main(["detect", str(garbage)]) == 1
    assert "cannot analyse" in capsys.readouterr().err


def test_module_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m custom_components.privacy_cam.engine` runs the CLI."""
    import runpy
    import sys

    monkeypatch.setattr(sys, "argv", ["engine", "detect", str(tmp_path / "none.mp4")])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("custom_components.privacy_cam.engine", run_name="__main__")
    assert exit_info.value.code == 2
    assert "no such video" in capsys.readouterr().err


@pytest.mark.parametrize("use_opencv", [False, True])
def test_lamp_on_plain_wall_is_lighting(use_opencv: bool) -> None:
    """A textureless wall lit up at once (15% of the frame) is not motion."""
    rng = np.random.default_rng(4)
    scene = rng.integers(60, 180, (120, 214)).astype(np.uint8)
    scene[10:60, 20:110] = 70  # a plain wall: nothing to compare texture with
    detector = MotionDetector(use_opencv=use_opencv)
    for _ in range(8):
        detector.detect(scene)
    lit = scene.copy()
    lit[10:60, 20:110] = 150
    results = [detector.detect(lit) for _ in range(10)]
    assert not any(r.motion for r in results)
    assert results[0].lighting


def _canonical(labels: np.ndarray) -> list[int]:
    """Labels renumbered by first appearance, so two labellings compare as partitions."""
    order: dict[int, int] = {}
    return [order.setdefault(v, len(order)) if v else 0 for v in labels.ravel().tolist()]


def test_run_labelling_matches_opencv_on_random_grids() -> None:
    rng = np.random.default_rng(12)
    for density in (0.1, 0.3, 0.5, 0.7):
        for _ in range(25):
            grid = rng.random((30, 54)) < density
            ours, ours_count = _label(grid, use_opencv=False)
            theirs, their_count = _label(grid, use_opencv=True)
            assert ours_count == their_count
            assert _canonical(ours) == _canonical(theirs)
    empty, count = _label(np.zeros((4, 4), bool), use_opencv=False)
    assert count == 0 and not empty.any()
