"""The notification blueprint is valid for Home Assistant's automation blueprints."""

from pathlib import Path

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict

from custom_components.privacy_cam.const import DOMAIN

from .conftest import setup_demo, wait_for

# What the Home Assistant app fires when a notification's action is tapped.
TAP = "mobile_app_notification_action"
BLUEPRINT = (
    Path(__file__).parent.parent / "blueprints/automation/privacy_cam/alarm_notification.yaml"
)


def test_blueprint_is_valid() -> None:
    blueprint = Blueprint(
        load_yaml_dict(BLUEPRINT), expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA
    )
    assert blueprint.name == "Privacy Cam alarm notification"
    assert set(blueprint.inputs) == {"camera", "notify_device"}
    trigger = blueprint.data["triggers"][0]
    assert trigger["event_type"] == "privacy_cam_alarm"


async def test_false_alarm_action_reports_the_alarm_clip_locally(hass: HomeAssistant) -> None:
    """The blueprint's own actions, run by HA's automation engine: tapping "False alarm"
    reports the alarm's clip. (The phone notification itself needs a real mobile_app
    device, so that one step is replaced by an event the test can see.)"""
    saved: list[Event] = []
    notified: list[Event] = []
    taps_heard = hass.bus.async_listeners().get(TAP, 0)
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    hass.bus.async_listen("test_notified", notified.append)
    entry = await setup_demo(hass, {"cooldown": 1, "preroll": 1, "postroll": 1})
    blueprint = Blueprint(
        await hass.async_add_executor_job(load_yaml_dict, BLUEPRINT),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    config = BlueprintInputs(
        blueprint,
        {
            "use_blueprint": {
                "path": "privacy_cam/alarm_notification.yaml",
                "input": {"camera": "camera.garden", "notify_device": "phone"},
            }
        },
    ).async_substitute()
    notify = config["actions"][0]
    assert notify["domain"] == "mobile_app" and notify["data"]["actions"][0]["title"] == (
        "False alarm"
    )
    config["actions"][0] = {"event": "test_notified", "event_data": notify["data"]}
    assert await async_setup_component(hass, "automation", {"automation": config})

    await wait_for(lambda: saved, 25)
    clip_id, event_id = saved[0].data["clip_id"], saved[0].data["event_id"]
    hass.bus.async_fire(
        f"{DOMAIN}_alarm", {"entity_id": "camera.garden", "event_id": event_id, "camera": "Garden"}
    )
    # The notification goes out first, and only then does the run start waiting for the
    # tap: a tap before that is lost. Wait for the run's own listener, not the notification.
    await wait_for(lambda: hass.bus.async_listeners().get(TAP, 0) > taps_heard, 25)
    assert notified
    action = notified[0].data["actions"][0]["action"]
    assert action == f"PRIVACY_CAM_FALSE_ALARM_{event_id}"
    store = entry.runtime_data.runtime.shared.store
    assert not store.get(clip_id).false_alarm  # type: ignore[union-attr]
    hass.bus.async_fire(TAP, {"action": action})
    await wait_for(lambda: store.get(clip_id).false_alarm, 25)  # type: ignore[union-attr]
    assert entry.runtime_data.runtime.learning.taught(clip_id)  # learned locally
    await hass.config_entries.async_unload(entry.entry_id)
