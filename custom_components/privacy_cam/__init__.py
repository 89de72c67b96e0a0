"""Privacy Cam: local cameras, local motion, local clips; nothing leaves without consent."""

from __future__ import annotations

import logging
from typing import cast

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .classifier import async_acquire_classifier, async_release_classifier, label_options
from .const import CONF_KIND, CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS, DOMAIN, KIND_DESTINATION
from .data import DestinationConfigEntry, DestinationData, PrivacyCamConfigEntry, PrivacyCamData
from .engine import ErrorKind, SourceError, create_source
from .engine.sharing.destinations import DestinationError
from .engine.sources.urls import scrub
from .flags import async_remove_state
from .runtime import CameraRuntime
from .services import async_setup_services
from .share_destination import destination_from_data
from .sharing import async_resume_sharing
from .source_config import (
    async_build_source_config,
    detect_source_config,
    motion_settings,
    recording_options,
)
from .storage import async_camera_folder, async_get_store
from .views import ClipView, ReportView

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.CAMERA,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.NUMBER,
    Platform.SENSOR,
    Platform.SWITCH,
]


CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Services and the clip view exist once, for all cameras."""
    async_setup_services(hass)
    hass.http.register_view(ClipView(hass))
    hass.http.register_view(ReportView(hass))
    # Pending reports get their expiry timers and consent dialogs back at start-up.
    hass.async_create_background_task(
        async_resume_sharing(hass), f"{DOMAIN} resume sharing", eager_start=False
    )
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PrivacyCamConfigEntry) -> bool:
    """Start the camera's worker thread and its entities."""
    if entry.data.get(CONF_KIND) == KIND_DESTINATION:
        # A share destination is only settings: nothing runs and nothing connects.
        destination = destination_from_data(entry.entry_id, entry.data)
        try:
            destination.validate()
        except DestinationError as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="share_destination_incomplete",
                translation_placeholders={"destination": entry.title},
            ) from err
        # Read back through share_destination.entry_destination.
        destination_entry = cast(DestinationConfigEntry, entry)
        destination_entry.runtime_data = DestinationData(destination, entry.data)
        return True
    try:
        config = await async_build_source_config(hass, entry.data, entry.options)
        source = create_source(config)
        detect = detect_source_config(entry.data, entry.options)
        detect_source = None if detect is None else create_source(detect)
        secrets = (*config.secrets, *(detect.secrets if detect else ()))
    except SourceError as err:
        if err.kind == ErrorKind.INVALID_URL:
            raise ConfigEntryError(
                translation_domain=DOMAIN, translation_key="invalid_url"
            ) from err
        # The wrapped camera entity is not there yet (start-up order): retry later.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="camera_not_ready",
            translation_placeholders={"error": err.message},
        ) from err
    try:
        classifier = await async_acquire_classifier(hass)
        shared = await async_get_store(hass)
        days = entry.options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS)
        runtime = CameraRuntime(
            hass,
            entry,
            source,
            motion_settings(entry.options),
            shared,
            recording_options(entry.options),
            camera=await async_camera_folder(hass, entry, shared),
            detect_source=detect_source,
            classifier=classifier,
            labels=label_options(entry.options),
        )
        shared.retention.max_age_days[runtime.camera] = float(days)
        # Privacy mode is known before the first frame could be pulled.
        await runtime.async_load_flags()
        entry.runtime_data = PrivacyCamData(runtime=runtime)
        await runtime.async_start()
    except BaseException as err:
        await async_release_classifier(hass)
        if not isinstance(err, Exception):  # cancelled: the worker is released, go on
            raise
        # A full or unreadable media folder, a thread that would not start...: never a
        # dead entry. Home Assistant retries a not-ready entry with a backoff of its own.
        if not isinstance(err, OSError):  # a bug: keep its traceback in the log
            _LOGGER.exception("Unexpected error while setting up %s", entry.title)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="setup_failed",
            translation_placeholders={"error": _describe(err, secrets)},
        ) from err

    async def _async_stop(_event: Event) -> None:
        # Finishes the open clips: they are on disk and listed before HA's stop completes.
        await runtime.async_stop()

    # (Not `async_listen_once`: unloading after the stop would remove it a second time.)
    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


def _describe(err: Exception, secrets: tuple[str | None, ...]) -> str:
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return scrub(text, *secrets)


async def async_unload_entry(hass: HomeAssistant, entry: PrivacyCamConfigEntry) -> bool:
    """Stop the entities and the worker thread."""
    if entry.data.get(CONF_KIND) == KIND_DESTINATION:
        return True
    unload_ok = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unload_ok:
        await entry.runtime_data.runtime.async_unload()
        await async_release_classifier(hass)
    return unload_ok


async def async_remove_entry(hass: HomeAssistant, entry: PrivacyCamConfigEntry) -> None:
    """Forget the camera's stored switches.

    Its clips stay on disk (evidence), still owned by this removed entry: no camera
    added later lists, learns from or shares them, whatever its name.
    """
    await async_remove_state(hass, entry.entry_id)
