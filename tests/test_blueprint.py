"""The notification blueprint is valid for Home Assistant's automation blueprints."""

from pathlib import Path

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.util.yaml import load_yaml_dict

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
