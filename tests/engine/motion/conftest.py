"""Rendered scenario videos, once per session: the scenario, class and keyframe-rate
tests analyse the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ...scenarios import (
    BRANCH,
    KEYFRAME_OBJECTS,
    NUISANCE_CLASSES,
    NUISANCE_SCENARIOS,
    OBJECT_CLASSES,
    OBJECT_SCENARIOS,
    render_video,
)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scenarios")
    return {
        s.name: render_video(s, folder / f"{s.name}.mp4")
        for s in [*OBJECT_SCENARIOS, *NUISANCE_SCENARIOS, BRANCH]
    }


@pytest.fixture(scope="session")
def keyframe_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keyframe_scenes")
    return {s.name: render_video(s, folder / f"{s.name}.mp4") for s in KEYFRAME_OBJECTS}


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The nuisance and object classes' variants."""
    folder = tmp_path_factory.mktemp("classes")
    return {
        v.scenario.name: render_video(v.scenario, folder / f"{v.scenario.name}.mp4")
        for v in (*NUISANCE_CLASSES, *OBJECT_CLASSES)
    }
