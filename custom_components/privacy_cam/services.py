"""Services: clips (record, list, delete, keep), false alarms, withdrawal and the audit log.

Consent has no service: it is given only in the consent dialog (repairs.py).
Services that change detection or destroy evidence are admin services (HA's own
`async_register_admin_service`): a call by a non-admin user is refused. Calls with
no user (automations and scripts, which only admins can write, such as the
notification blueprint's "False alarm" action) are allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import voluptuous as vol
from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service import (
    async_register_admin_service,
    async_register_platform_entity_service,
)
from homeassistant.helpers.typing import VolDictType, VolSchemaType
from homeassistant.util import dt as dt_util

from .classifier import person_score
from .const import CONF_KIND, DOMAIN, KIND_DESTINATION
from .engine.recording.clipstore import CLIP_ID_RE, Clip
from .media_source import media_content_id
from .runtime import CameraRuntime
from .sharing import async_get_sharing, usable_destination
from .storage import async_get_store
from .views import clip_url

ATTR_DURATION = "duration"
ATTR_CLIP_ID = "clip_id"
ATTR_CAMERA = "camera"
ATTR_START = "start"
ATTR_END = "end"
ATTR_LIMIT = "limit"
ATTR_KEEP = "keep"

SERVICE_RECORD_CLIP = "record_clip"
SERVICE_LIST_CLIPS = "list_clips"
SERVICE_DELETE_CLIP = "delete_clip"
SERVICE_KEEP_CLIP = "keep_clip"
SERVICE_REPORT_FALSE_ALARM = "report_false_alarm"
SERVICE_RESET_LEARNING = "reset_learning"
SERVICE_WITHDRAW = "withdraw_consent"
SERVICE_AUDIT_LOG = "get_audit_log"
ATTR_SHARE_WITH = "share_with"
ATTR_BLUR_OUTSIDE = "blur_outside_motion"
ATTR_REPORT_ID = "report_id"
ATTR_NOT_A_PERSON = "not_a_person"

RECORD_SCHEMA: VolDictType = {
    vol.Optional(ATTR_DURATION, default=30): vol.All(vol.Coerce(int), vol.Range(min=1, max=300))
}
LIST_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CAMERA): cv.entity_id,
        vol.Optional(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
        vol.Optional(ATTR_LIMIT, default=100): vol.All(vol.Coerce(int), vol.Range(min=1, max=1000)),
    }
)
CLIP_SCHEMA = vol.Schema({vol.Required(ATTR_CLIP_ID): cv.string})
REPORT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CLIP_ID): cv.string,
        vol.Optional(ATTR_SHARE_WITH): cv.string,
        vol.Optional(ATTR_BLUR_OUTSIDE, default=True): cv.boolean,
        vol.Optional(ATTR_NOT_A_PERSON, default=False): cv.boolean,
    }
)
WITHDRAW_SCHEMA = vol.Schema({vol.Required(ATTR_REPORT_ID): cv.string})
RESET_SCHEMA = vol.Schema({vol.Required(ATTR_ENTITY_ID): cv.entity_ids})
KEEP_SCHEMA = vol.Schema(
    {vol.Required(ATTR_CLIP_ID): cv.string, vol.Optional(ATTR_KEEP, default=True): cv.boolean}
)


def _runtime_for_camera(hass: HomeAssistant, entity_id: str) -> CameraRuntime:
    entry = er.async_get(hass).async_get(entity_id)
    config_entry = (
        hass.config_entries.async_get_entry(entry.config_entry_id)
        if entry is not None and entry.platform == DOMAIN and entry.config_entry_id
        else None
    )
    if config_entry is None or config_entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_camera",
            translation_placeholders={"entity_id": entity_id},
        )
    runtime: CameraRuntime = config_entry.runtime_data.runtime
    return runtime


def _clip_dict(hass: HomeAssistant, clip: Clip) -> dict[str, Any]:
    return {
        "id": clip.id,
        "camera": clip.camera,
        "event_id": clip.event_id,
        "start": datetime.fromtimestamp(clip.start, UTC).isoformat(),
        "end": datetime.fromtimestamp(clip.end, UTC).isoformat(),
        "duration": clip.duration,
        "reason": clip.reason,
        "media_content_id": media_content_id(clip.id),
        "thumbnail_url": clip_url(clip.id, "jpg"),
        "kept": clip.kept,
        "false_alarm": clip.false_alarm,
        # What moved, as the detector on this box judged it (None: not classified).
        "label": clip.label,
        "confidence": clip.confidence,
    }


async def _async_list_clips(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    shared = await async_get_store(hass)
    owner = None
    if ATTR_CAMERA in call.data:
        # The camera's clips are those it recorded, whatever folder they are in.
        owner = _runtime_for_camera(hass, call.data[ATTR_CAMERA]).entry.entry_id
    start, end = call.data.get(ATTR_START), call.data.get(ATTR_END)
    since = None if start is None else _timestamp(start)
    until = None if end is None else _timestamp(end)
    if since is not None and until is not None and until < since:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="end_before_start")
    clips = shared.store.clips(since=since, until=until, owner=owner)[: call.data[ATTR_LIMIT]]
    return {"clips": [_clip_dict(hass, clip) for clip in clips]}


def _timestamp(moment: datetime) -> float:
    """Naive times are Home Assistant's local time, as the UI's date picker sends them."""
    if moment.tzinfo is None:
        moment = dt_util.as_utc(moment.replace(tzinfo=dt_util.get_default_time_zone()))
    return moment.timestamp()


async def _async_clip(call: ServiceCall) -> tuple[Any, str]:
    clip_id = call.data[ATTR_CLIP_ID]
    return await _async_store_with(call.hass, clip_id), clip_id


async def _async_store_with(hass: HomeAssistant, clip_id: str) -> Any:
    shared = await async_get_store(hass)
    # fullmatch: "<id>\n" is not an ID ($ would match before a trailing newline).
    if not CLIP_ID_RE.fullmatch(clip_id) or shared.store.get(clip_id) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="clip_not_found",
            translation_placeholders={"clip_id": clip_id},
        )
    return shared


async def _async_delete_clip(call: ServiceCall) -> None:
    shared, clip_id = await _async_clip(call)
    await call.hass.async_add_executor_job(shared.store.delete, clip_id)


async def _async_keep_clip(call: ServiceCall) -> None:
    shared, clip_id = await _async_clip(call)
    await call.hass.async_add_executor_job(
        lambda: shared.store.update(clip_id, kept=call.data[ATTR_KEEP])
    )


async def _async_report_false_alarm(call: ServiceCall) -> ServiceResponse:
    """Mark the clip and learn on this box; with `share_with`, also prepare (never
    send) a package for that destination: the owner decides in Settings > Repairs."""
    return await async_report_false_alarm(
        call.hass,
        call.data[ATTR_CLIP_ID],
        call.data.get(ATTR_SHARE_WITH),
        call.data[ATTR_BLUR_OUTSIDE],
        not_a_person=call.data[ATTR_NOT_A_PERSON],
    )


async def async_report_false_alarm(
    hass: HomeAssistant,
    clip_id: str,
    share_with: str | None,
    blur_outside: bool,
    *,
    not_a_person: bool = False,
) -> ServiceResponse:
    """The service, and the share destination's "share a clip" dialog.

    A clip in which the detector saw a person (`person_score`: its label, or any crop
    that showed one, whatever the confidence setting) is refused unless the caller
    confirms it showed no person (`not_a_person`); even then it teaches nothing (see
    `CameraRuntime.async_report_false_alarm`).
    """
    shared = await _async_store_with(hass, clip_id)
    clip = shared.store.get(clip_id)
    assert clip is not None
    if (person := person_score(clip)) is not None and not not_a_person:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="person_report_unconfirmed",
            translation_placeholders={"clip_id": clip_id, "confidence": f"{round(100 * person)}"},
        )
    sharing = None
    if share_with is not None:
        # Checked before anything changes: a bad destination must not half-report.
        usable_destination(hass, share_with)
        sharing = await async_get_sharing(hass)
    runtime = _runtime_for_owner(hass, clip.owner)
    if runtime is None:
        # The camera is gone or not loaded: still mark the clip, nothing to learn into.
        await hass.async_add_executor_job(lambda: shared.store.update(clip_id, false_alarm=True))
    else:
        await runtime.async_report_false_alarm(clip)
    if sharing is None or share_with is None:
        return None
    return await sharing.async_prepare(shared, clip, share_with, blur_outside)


async def _async_withdraw(call: ServiceCall) -> ServiceResponse:
    sharing = await async_get_sharing(call.hass)
    return await sharing.async_withdraw(call.data[ATTR_REPORT_ID], call.context.user_id)


async def _async_audit_log(call: ServiceCall) -> ServiceResponse:
    sharing = await async_get_sharing(call.hass)
    entries, status = await sharing.async_read_audit()
    return {"entries": entries, **status.as_dict()}


def _runtime_for_owner(hass: HomeAssistant, owner: str | None) -> CameraRuntime | None:
    """The loaded camera that recorded the clip; None for a removed camera's clip."""
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        if entry.entry_id != owner or entry.data.get(CONF_KIND) == KIND_DESTINATION:
            continue
        runtime: CameraRuntime = entry.runtime_data.runtime
        return runtime
    return None


async def _async_reset_learning(call: ServiceCall) -> None:
    for entity_id in call.data[ATTR_ENTITY_ID]:
        await _runtime_for_camera(call.hass, entity_id).async_reset_learning()


type ServiceHandler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceDescription:
    """One service: its name, what runs it, what it accepts, who may call it, its answer.

    A `handler` that is a string names the method of the cameras the call targets
    (an entity service, whose schema may be a bare dict); `admin` refuses calls by
    non-admin users (Home Assistant's `async_register_admin_service`).
    """

    name: str
    handler: ServiceHandler | str
    schema: VolSchemaType | VolDictType
    admin: bool = False
    supports_response: SupportsResponse = SupportsResponse.NONE


SERVICES: tuple[ServiceDescription, ...] = (
    ServiceDescription(
        name=SERVICE_RECORD_CLIP,
        handler="async_record_clip",
        schema=RECORD_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    ),
    ServiceDescription(
        name=SERVICE_LIST_CLIPS,
        handler=_async_list_clips,
        schema=LIST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    ),
    ServiceDescription(
        name=SERVICE_DELETE_CLIP, handler=_async_delete_clip, schema=CLIP_SCHEMA, admin=True
    ),
    ServiceDescription(
        name=SERVICE_KEEP_CLIP, handler=_async_keep_clip, schema=KEEP_SCHEMA, admin=True
    ),
    ServiceDescription(
        name=SERVICE_REPORT_FALSE_ALARM,
        handler=_async_report_false_alarm,
        schema=REPORT_SCHEMA,
        admin=True,
        supports_response=SupportsResponse.OPTIONAL,
    ),
    ServiceDescription(
        name=SERVICE_WITHDRAW,
        handler=_async_withdraw,
        schema=WITHDRAW_SCHEMA,
        admin=True,
        supports_response=SupportsResponse.OPTIONAL,
    ),
    ServiceDescription(
        name=SERVICE_AUDIT_LOG,
        handler=_async_audit_log,
        schema=vol.Schema({}),
        admin=True,
        supports_response=SupportsResponse.ONLY,
    ),
    # Not an entity service: HA skips unavailable entities there, and learning must be
    # resettable while a camera is down or still connecting.
    ServiceDescription(
        name=SERVICE_RESET_LEARNING,
        handler=_async_reset_learning,
        schema=RESET_SCHEMA,
        admin=True,
    ),
)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services once for the integration (not per camera)."""
    for service in SERVICES:
        handler, schema = service.handler, service.schema
        if isinstance(handler, str):
            # Home Assistant has no admin entity services: none of ours is one.
            assert not service.admin
            async_register_platform_entity_service(
                hass,
                DOMAIN,
                service.name,
                entity_domain=CAMERA_DOMAIN,
                schema=schema,
                func=handler,
                supports_response=service.supports_response,
            )
            continue
        assert not isinstance(schema, dict)  # only an entity service takes a bare dict
        if service.admin:
            async_register_admin_service(
                hass,
                DOMAIN,
                service.name,
                handler,
                schema=schema,
                supports_response=service.supports_response,
            )
        else:
            hass.services.async_register(
                DOMAIN,
                service.name,
                handler,
                schema=schema,
                supports_response=service.supports_response,
            )
