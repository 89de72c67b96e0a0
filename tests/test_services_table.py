"""The services as registered from their table: names, schemas, answers, who may call.

What each service does is tested with its feature (recording, sharing, learning);
this checks that the table registers each of them as it always was.
"""

from collections.abc import Iterator
from unittest.mock import patch

import pytest
import voluptuous as vol
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant, SupportsResponse
from homeassistant.exceptions import Unauthorized
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.privacy_cam import services
from custom_components.privacy_cam.const import DOMAIN
from custom_components.privacy_cam.engine.sources import demo

from .conftest import setup_demo, wait_for

CAMERA = "camera.garden"

# name: (supports_response, admin only, the data of a valid call)
EXPECTED = {
    "record_clip": (SupportsResponse.OPTIONAL, False, {ATTR_ENTITY_ID: CAMERA}),
    "list_clips": (SupportsResponse.ONLY, False, {}),
    "delete_clip": (SupportsResponse.NONE, True, {"clip_id": "0123456789ab"}),
    "keep_clip": (SupportsResponse.NONE, True, {"clip_id": "0123456789ab"}),
    "report_false_alarm": (SupportsResponse.OPTIONAL, True, {"clip_id": "0123456789ab"}),
    "withdraw_consent": (SupportsResponse.OPTIONAL, True, {"report_id": "0123456789abcdef"}),
    "get_audit_log": (SupportsResponse.ONLY, True, {}),
    "reset_learning": (SupportsResponse.NONE, True, {ATTR_ENTITY_ID: CAMERA}),
}


@pytest.fixture(autouse=True)
def nobody_walks_by() -> Iterator[None]:
    with patch.object(demo, "WALK_START", demo.CYCLE_SECONDS):
        yield


async def test_services_are_registered_as_described(hass: HomeAssistant) -> None:
    await setup_demo(hass)
    registered = hass.services.async_services_for_domain(DOMAIN)
    assert set(registered) == set(EXPECTED)
    assert [service.name for service in services.SERVICES] == list(EXPECTED)
    for name, (response, admin, _) in EXPECTED.items():
        assert hass.services.supports_response(DOMAIN, name) == response, name
        assert next(s for s in services.SERVICES if s.name == name).admin == admin, name
    # The schemas are the module's own; the entity service's is built from its dict.
    assert registered["list_clips"].schema is services.LIST_SCHEMA
    assert registered["delete_clip"].schema is services.CLIP_SCHEMA
    assert registered["keep_clip"].schema is services.KEEP_SCHEMA
    assert registered["report_false_alarm"].schema is services.REPORT_SCHEMA
    assert registered["withdraw_consent"].schema is services.WITHDRAW_SCHEMA
    assert registered["reset_learning"].schema is services.RESET_SCHEMA
    record = registered["record_clip"].schema
    assert record is not None
    assert record({ATTR_ENTITY_ID: CAMERA})["duration"] == 30
    with pytest.raises(vol.Invalid):
        record({ATTR_ENTITY_ID: CAMERA, "duration": 301})
    audit = registered["get_audit_log"].schema
    assert audit is not None
    with pytest.raises(vol.Invalid):
        audit({"anything": 1})


async def test_only_admin_services_refuse_other_users(
    hass: HomeAssistant, hass_read_only_user: MockUser
) -> None:
    """Admin services refuse a non-admin user before doing anything; the others serve
    any user allowed to use the camera."""
    entry = await setup_demo(hass)
    await wait_for(lambda: entry.runtime_data.runtime.available, 10)
    read_only = Context(user_id=hass_read_only_user.id)
    user = await hass.auth.async_create_user("Someone", group_ids=[GROUP_ID_USER])
    assert not user.is_admin
    someone = Context(user_id=user.id)
    for name, (response, admin, data) in EXPECTED.items():
        if not admin:
            continue
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                DOMAIN,
                name,
                data,
                blocking=True,
                context=read_only,
                return_response=response is SupportsResponse.ONLY,
            )
    listing = await hass.services.async_call(
        DOMAIN, "list_clips", {}, blocking=True, context=read_only, return_response=True
    )
    assert listing == {"clips": []}
    recorded = await hass.services.async_call(
        DOMAIN,
        "record_clip",
        EXPECTED["record_clip"][2],
        blocking=True,
        context=someone,
        return_response=True,
    )
    assert set(recorded[CAMERA]) == {"clip_id"}  # type: ignore[arg-type]
    await hass.config_entries.async_unload(entry.entry_id)
