"""Entities write their state only when what they show changed.

The runtime notifies every entity of every change; an entity whose state, attributes
and availability are what it last wrote does not write again (no `state_reported`,
no `state_changed`), and one whose values changed writes at once.
"""

from collections.abc import Iterator, Mapping
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.const import ATTR_ENTITY_ID, EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.privacy_cam.const import DOMAIN
from custom_components.privacy_cam.engine.sources import demo

from .conftest import setup_demo, wait_for

CAMERA = "camera.garden"


@pytest.fixture(autouse=True)
def nobody_walks_by() -> Iterator[None]:
    """The demo garden without its walker: no motion, so nothing changes by itself."""
    with patch.object(demo, "WALK_START", demo.CYCLE_SECONDS):
        yield


def _our_entities(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    return {
        registered.entity_id
        for registered in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }


def _record_writes(hass: HomeAssistant) -> list[str]:
    """Entity IDs written from now on, once per write (changed or not)."""
    written: list[str] = []

    @callback
    def record(event: Event) -> None:
        written.append(event.data["entity_id"])

    @callback
    def every(_data: Mapping[str, Any]) -> bool:
        return True

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    hass.bus.async_listen(EVENT_STATE_REPORTED, record, event_filter=every)
    return written


async def _streaming_garden(hass: HomeAssistant) -> MockConfigEntry:
    entry = await setup_demo(hass)
    await wait_for(lambda: entry.runtime_data.runtime.available, 10)
    await hass.async_block_till_done()
    return entry


async def test_unchanged_notify_writes_nothing(hass: HomeAssistant) -> None:
    """A notification that changes nothing any entity shows: no entity writes."""
    entry = await _streaming_garden(hass)
    runtime = entry.runtime_data.runtime
    entities = _our_entities(hass, entry)
    # Every platform's entity is there and shows a state.
    assert all(hass.states.get(entity_id) is not None for entity_id in entities)
    assert {entity_id.split(".")[0] for entity_id in entities} >= {
        "binary_sensor",
        "camera",
        "event",
        "image",
        "number",
        "sensor",
        "switch",
    }
    written = _record_writes(hass)

    runtime.async_update_settings(runtime.pipeline.watcher.settings)  # the same settings
    await hass.async_block_till_done()

    assert written == []


async def test_changed_notify_writes_what_changed(hass: HomeAssistant) -> None:
    """A change writes the entities that show it, at once, and only those."""
    entry = await _streaming_garden(hass)
    runtime = entry.runtime_data.runtime
    written = _record_writes(hass)

    await runtime.async_set_flag("armed", True)
    await hass.async_block_till_done()
    assert written == ["switch.garden_armed"]
    assert hass.states.get("switch.garden_armed").state == "on"  # type: ignore[union-attr]

    # Sensitivity: a setting the number shows (and the options keep).
    written.clear()
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: "number.garden_sensitivity", "value": 42},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert written == ["number.garden_sensitivity"]
    assert hass.states.get("number.garden_sensitivity").state == "42.0"  # type: ignore[union-attr]

    # Privacy mode: the switch, and the camera (off, its attribute); the motion sensors
    # stay available (the camera is off on purpose), so they do not write.
    written.clear()
    await runtime.async_set_flag("privacy_mode", True)
    await hass.async_block_till_done()
    assert set(written) == {"switch.garden_privacy_mode", CAMERA}
    camera = hass.states.get(CAMERA)
    assert camera is not None and camera.attributes["privacy_mode"] is True


async def test_written_values_follow_every_write(hass: HomeAssistant) -> None:
    """Writes by Home Assistant itself (`homeassistant.update_entity`) count as written:
    an unchanged notification after one writes nothing, a change after one writes."""
    assert await async_setup_component(hass, "homeassistant", {})
    entry = await _streaming_garden(hass)
    runtime = entry.runtime_data.runtime
    written = _record_writes(hass)

    await hass.services.async_call(
        "homeassistant",
        "update_entity",
        {ATTR_ENTITY_ID: ["switch.garden_recording", "binary_sensor.garden_motion"]},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert sorted(written) == ["binary_sensor.garden_motion", "switch.garden_recording"]

    written.clear()
    runtime.async_update_settings(runtime.pipeline.watcher.settings)
    await hass.async_block_till_done()
    assert written == []

    await runtime.async_set_flag("recording", False)
    await hass.async_block_till_done()
    assert written == ["switch.garden_recording"]


async def test_image_shows_a_new_clip_at_once(hass: HomeAssistant) -> None:
    """The image of the last motion changes on the notification of the new clip, not on
    the one after; the last clip sensor too."""
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry = await _streaming_garden(hass)
    image = hass.states.get("image.garden_last_motion")
    assert image is not None and image.state == "unknown"  # no clip yet

    response = await hass.services.async_call(
        DOMAIN,
        "record_clip",
        {ATTR_ENTITY_ID: CAMERA, "duration": 1},
        blocking=True,
        return_response=True,
    )
    clip_id = response[CAMERA]["clip_id"]  # type: ignore[index]
    await wait_for(lambda: bool(saved), 10)
    await hass.async_block_till_done()

    clip = entry.runtime_data.runtime.last_clip
    assert clip is not None and clip.id == clip_id
    image = hass.states.get("image.garden_last_motion")
    assert image is not None and image.state not in ("unknown", "unavailable")
    last_clip = hass.states.get("sensor.garden_last_clip")
    assert last_clip is not None and last_clip.attributes["clip_id"] == clip_id
