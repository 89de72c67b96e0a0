"""Motion and alarm entities on the live demo camera (real frames, real detector)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import Event, HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.privacy_cam.const import DOMAIN
from custom_components.privacy_cam.engine.recording.clipstore import Clip

from .conftest import setup_demo, wait_for
from .scenarios import BRANCH_GUST, render_video

MOTION = "binary_sensor.garden_motion"
ALARM = "binary_sensor.garden_alarm"
ARMED = "switch.garden_armed"
DETECTION = "switch.garden_motion_detection"
PRIVACY = "switch.garden_privacy_mode"
SENSITIVITY = "number.garden_sensitivity"
LAST_MOTION = "sensor.garden_last_motion"
EVENT = "event.garden_motion"


def _is(hass: HomeAssistant, entity_id: str, state: str) -> bool:
    current = hass.states.get(entity_id)
    return current is not None and current.state == state


async def _switch(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    await hass.services.async_call(
        "switch", "turn_on" if on else "turn_off", {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


async def test_entities_are_created(hass: HomeAssistant) -> None:
    entry = await setup_demo(hass)
    registry = er.async_get(hass)
    for entity_id in (MOTION, ALARM, ARMED, DETECTION, PRIVACY, SENSITIVITY, LAST_MOTION, EVENT):
        entity = registry.async_get(entity_id)
        assert entity is not None, entity_id
        assert entity.unique_id.startswith(entry.entry_id)
    motion = hass.states.get(MOTION)
    assert motion is not None and motion.attributes["device_class"] == "motion"
    assert hass.states.get(ARMED).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(DETECTION).state == STATE_ON  # type: ignore[union-attr]
    assert hass.states.get(SENSITIVITY).state == "50.0"  # type: ignore[union-attr]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_walker_triggers_motion_and_alarm(hass: HomeAssistant) -> None:
    """The demo walker appears at 3 s: motion, then an alarm because we armed first."""
    bus_events: list[Event] = []
    for name in ("motion_started", "motion_ended", "alarm"):
        hass.bus.async_listen(f"{DOMAIN}_{name}", bus_events.append)
    latencies: list[float] = []
    event_types: list[str] = []  # what the event entity showed, in order
    entry = await setup_demo(hass)
    runtime = entry.runtime_data.runtime

    @callback
    def on_change(event: Event) -> None:
        new: State | None = event.data["new_state"]
        if new is not None and new.entity_id == MOTION and new.state == STATE_ON:
            assert runtime.current_event is not None
            # The frame that confirmed the event arrived at last_motion (monotonic).
            latencies.append(time.monotonic() - runtime.current_event.last_motion)
        if new is not None and new.entity_id == EVENT:
            event_types.append(new.attributes["event_type"])

    hass.bus.async_listen("state_changed", on_change)
    await _switch(hass, ARMED, True)
    await wait_for(lambda: _is(hass, MOTION, STATE_ON), 10)
    await hass.async_block_till_done()
    assert hass.states.get(ALARM).state == STATE_ON  # type: ignore[union-attr]
    assert latencies and latencies[0] < 0.1
    started = [e for e in bus_events if e.event_type == f"{DOMAIN}_motion_started"]
    alarms = [e for e in bus_events if e.event_type == f"{DOMAIN}_alarm"]
    assert len(started) == 1 and len(alarms) == 1
    data = started[0].data
    assert data["entity_id"] == "camera.garden" and data["camera"] == "Garden"
    assert data["event_id"] == alarms[0].data["event_id"]
    assert data["score"] > 0 and len(data["box"]) == 4
    # The detector's label may follow at once (motion_labelled): the alarm was shown.
    assert event_types[:2] == ["motion_started", "alarm"]
    last = hass.states.get(LAST_MOTION)
    assert last is not None
    assert abs((datetime.fromisoformat(last.state) - datetime.now(UTC)).total_seconds()) < 10

    # Turning detection off ends the event (and its alarm) at once.
    await _switch(hass, DETECTION, False)
    await hass.async_block_till_done()
    assert hass.states.get(MOTION).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(ALARM).state == STATE_OFF  # type: ignore[union-attr]
    assert [e.event_type for e in bus_events][-1] == f"{DOMAIN}_motion_ended"
    assert hass.states.get(EVENT).attributes["event_type"] == "motion_ended"  # type: ignore[union-attr]
    await _switch(hass, DETECTION, True)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_disarming_silences_alarm(hass: HomeAssistant) -> None:
    entry = await setup_demo(hass)
    await _switch(hass, ARMED, True)
    await wait_for(lambda: _is(hass, ALARM, STATE_ON), 10)
    await _switch(hass, ARMED, False)
    assert hass.states.get(ALARM).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(MOTION).state == STATE_ON  # type: ignore[union-attr]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_no_alarm_when_not_armed(hass: HomeAssistant) -> None:
    entry = await setup_demo(hass)
    await wait_for(lambda: _is(hass, MOTION, STATE_ON), 10)
    assert hass.states.get(ALARM).state == STATE_OFF  # type: ignore[union-attr]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_motion_ends_after_cooldown(hass: HomeAssistant) -> None:
    """Cooldown 1 s: the walker leaves at 10 s, motion is off shortly after."""
    entry = await setup_demo(hass, {"cooldown": 1, "sensitivity": 50})
    await wait_for(lambda: _is(hass, MOTION, STATE_ON), 10)
    await wait_for(lambda: _is(hass, MOTION, STATE_OFF), 12)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_privacy_mode_stops_everything_and_survives_reload(hass: HomeAssistant) -> None:
    entry = await setup_demo(hass)
    runtime = entry.runtime_data.runtime
    await _switch(hass, ARMED, True)
    await _switch(hass, PRIVACY, True)
    assert not runtime.pipeline.source.running
    assert runtime.pipeline.source.still_jpeg() is None  # buffers dropped
    camera = hass.states.get("camera.garden")
    assert camera is not None and camera.attributes["privacy_mode"] is True
    assert camera.state == "idle"
    assert hass.states.get(MOTION).state == STATE_OFF  # type: ignore[union-attr]

    # After a reload (as after a restart) privacy mode holds: no frame is pulled.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data.runtime
    assert runtime.flags.privacy_mode and runtime.flags.armed
    assert not runtime.pipeline.source.running
    assert hass.states.get(PRIVACY).state == STATE_ON  # type: ignore[union-attr]
    assert hass.states.get(ARMED).state == STATE_ON  # type: ignore[union-attr]

    # The camera's own on/off is the same switch.
    await hass.services.async_call(
        "camera", "turn_on", {ATTR_ENTITY_ID: "camera.garden"}, blocking=True
    )
    assert runtime.pipeline.source.running
    assert hass.states.get(PRIVACY).state == STATE_OFF  # type: ignore[union-attr]
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_remove(entry.entry_id)


async def test_sensitivity_applies_live_without_reload(hass: HomeAssistant) -> None:
    entry = await setup_demo(hass)
    runtime = entry.runtime_data.runtime
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: SENSITIVITY, "value": 80}, blocking=True
    )
    assert entry.runtime_data.runtime is runtime  # no reload
    assert runtime.pipeline.watcher.settings.sensitivity == 80
    assert entry.options["sensitivity"] == 80
    assert hass.states.get(SENSITIVITY).state == "80.0"  # type: ignore[union-attr]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_last_motion_is_restored(hass: HomeAssistant) -> None:
    when = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(LAST_MOTION, when.isoformat()),
                {
                    "native_value": {
                        "__type": "<class 'datetime.datetime'>",
                        "isoformat": when.isoformat(),
                    },
                    "native_unit_of_measurement": None,
                },
            )
        ],
    )
    entry = await setup_demo(hass)
    await hass.async_block_till_done()
    state = hass.states.get(LAST_MOTION)
    assert state is not None and datetime.fromisoformat(state.state) == when
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("privacy", [True])
async def test_setup_in_privacy_mode_pulls_no_frame(hass: HomeAssistant, privacy: bool) -> None:
    entry = await setup_demo(hass)
    await _switch(hass, PRIVACY, privacy)
    await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    runtime = entry.runtime_data.runtime
    assert runtime.pipeline.source.stats.frames == 0 and not runtime.pipeline.source.running
    await hass.config_entries.async_unload(entry.entry_id)


async def test_report_false_alarm_learns_the_nuisance_once(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, tmp_path: Path
) -> None:
    """A reported clip is analysed again: a swaying branch is learned, once per clip,
    shown on the motion sensor and in diagnostics, kept across reloads, and reset."""
    entry = await setup_demo(hass)
    runtime = entry.runtime_data.runtime
    store = runtime.shared.store
    await wait_for(lambda: runtime.available, 10)

    def add_clip(clip_id: str, video: Path | None, content: bytes | None = None) -> Clip:
        relative = f"garden/2026-11-01/12-00-00_{clip_id}.mp4"
        target = store.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if video is not None:
            target.write_bytes(video.read_bytes())
        elif content is not None:
            target.write_bytes(content)
        clip = Clip(
            clip_id,
            "garden",
            time.time(),
            12.0,
            "motion",
            relative,
            1,
            motion=[2.6, 11.6],
            owner=entry.entry_id,
        )
        store.add(clip)
        return clip

    def report(clip_id: str) -> Any:
        return hass.services.async_call(
            DOMAIN, "report_false_alarm", {"clip_id": clip_id}, blocking=True
        )

    branch = await hass.async_add_executor_job(render_video, BRANCH_GUST, tmp_path / "branch.mp4")
    clip = await hass.async_add_executor_job(add_clip, "0123456789ab", branch)
    for _ in range(3):  # one clip teaches once, however often it is reported
        await report(clip.id)
    assert store.get(clip.id).false_alarm  # type: ignore[union-attr]
    assert [lesson.clip_id for lesson in runtime.learning.lessons] == [clip.id]
    assert runtime.learning.lessons[0].cells > 0 and 0 < runtime.learning.share <= 0.25
    assert runtime.pipeline.watcher.detector.learned is not None  # applied to the running detector
    motion = hass.states.get(MOTION)
    assert motion is not None
    assert motion.attributes["false_alarm_reports"] == 1
    assert motion.attributes["learned_nuisance_regions"] == 1
    assert 0 < motion.attributes["learned_cells_percent"] <= 25

    # A clip whose file is gone, or that cannot be decoded, is marked but teaches nothing.
    gone = await hass.async_add_executor_job(add_clip, "123456789abc", None)
    broken = await hass.async_add_executor_job(add_clip, "23456789abcd", None, b"not a video")
    await report(gone.id)
    await report(broken.id)
    assert store.get(broken.id).false_alarm  # type: ignore[union-attr]
    assert len(runtime.learning.lessons) == 1

    # Kept across a reload; diagnostics show the learned cells; reset forgets them.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data.runtime
    await wait_for(lambda: runtime.available, 10)
    assert runtime.learning.taught(clip.id)
    assert runtime.pipeline.watcher.detector.learned is not None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    learning = diagnostics["learning"]
    assert learning["lessons"][0]["clip_id"] == clip.id and learning["share"] > 0
    assert any("#" in row for row in learning["cells"])
    assert learning["cells_png"].startswith("data:image/png;base64,iVBOR")
    await hass.services.async_call(
        DOMAIN, "reset_learning", {ATTR_ENTITY_ID: "camera.garden"}, blocking=True
    )
    assert runtime.learning.lessons == [] and runtime.pipeline.watcher.detector.learned is None
    motion = hass.states.get(MOTION)
    assert motion is not None and motion.attributes["learned_cells_percent"] == 0
    await hass.config_entries.async_unload(entry.entry_id)
