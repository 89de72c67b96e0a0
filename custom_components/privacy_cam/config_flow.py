"""Config flow: add a camera (five kinds), reauth, reconfigure and options."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
    OptionsFlowWithReload,
)
from homeassistant.const import (
    CONF_NAME,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    ALARM_FOR,
    CONF_ALARM_FOR,
    CONF_COOLDOWN,
    CONF_DESTINATION_KIND,
    CONF_DETECT_FPS,
    CONF_DETECT_FRAMES,
    CONF_DETECT_PASSWORD,
    CONF_DETECT_URL,
    CONF_DETECT_USERNAME,
    CONF_ENTITY_ID,
    CONF_HUMANS_WATCH,
    CONF_KIND,
    CONF_LABEL_CONFIDENCE,
    CONF_MASKS,
    CONF_MAX_CLIP,
    CONF_MIN_FRAMES,
    CONF_MIN_SIZE,
    CONF_PATH,
    CONF_POSTROLL,
    CONF_PREROLL,
    CONF_PURPOSE,
    CONF_RECIPIENT,
    CONF_RECIPIENT_RETENTION,
    CONF_RECORD_MODE,
    CONF_RETENTION_DAYS,
    CONF_RTSP_TRANSPORT,
    CONF_SENSITIVE,
    CONF_SENSITIVITY,
    CONF_SHARING_UNLOCKED,
    CONF_SNAPSHOT_INTERVAL,
    CONF_WITHDRAWAL,
    CONF_ZONES,
    DEFAULT_ALARM_FOR,
    DEFAULT_DETECT_FRAMES,
    DEFAULT_LABEL_CONFIDENCE,
    DEFAULT_MAX_CLIP,
    DEFAULT_POSTROLL,
    DEFAULT_PREROLL,
    DEFAULT_RECORD_MODE,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_RTSP_TRANSPORT,
    DEFAULT_SNAPSHOT_INTERVAL,
    DEMO_UNIQUE_ID,
    DETECT_FRAMES,
    DOMAIN,
    HUMANS_WATCH_NO,
    HUMANS_WATCH_YES,
    KIND_CAMERA_ENTITY,
    KIND_DEMO,
    KIND_DESTINATION,
    KIND_RTSP,
    KIND_SNAPSHOT,
    KINDS,
    RECORD_MODES,
    RTSP_TRANSPORTS,
    URL_KINDS,
)
from .engine import ErrorKind, SourceError, probe
from .engine.motion.detector import MotionSettings
from .engine.motion.zones import POLYGON_HELP, PolygonError, format_polygons, parse_polygons
from .engine.sharing.destinations import DestinationError, DestinationKind
from .engine.sources.factory import URL_SCHEMES
from .engine.sources.urls import (
    camera_name,
    normalise_url,
    redact_url,
    restore_redacted,
    shown_url,
    split_credentials,
    substream_candidates,
    validate_url,
)
from .share_destination import (
    DestinationOptionsFlow,
    destination_from_data,
    entry_destination,
    folder_problem_for,
)
from .source_config import async_build_source_config, detect_source_config

_LOGGER = logging.getLogger(__name__)

URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
USERNAME_SELECTOR = TextSelector(TextSelectorConfig(autocomplete="username"))


def _url_schema(kind: str, *, detect: bool = False) -> vol.Schema:
    """The URL form; `detect` adds an RTSP camera's detection stream (reconfigure)."""
    fields: dict[vol.Marker, Any] = {
        vol.Required(CONF_URL): URL_SELECTOR,
        vol.Optional(CONF_USERNAME): USERNAME_SELECTOR,
        vol.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
    }
    if kind != KIND_RTSP:
        fields[vol.Optional(CONF_VERIFY_SSL, default=True)] = BooleanSelector()
    elif detect:
        fields[vol.Optional(CONF_DETECT_URL)] = URL_SELECTOR
    return vol.Schema(fields)


DETECT_SCHEMA = vol.Schema({vol.Optional(CONF_DETECT_URL): URL_SELECTOR})
# Trying the substream URLs common brands use: the form waits for this, at most
# MAX_SUBSTREAMS * SUBSTREAM_TIMEOUT seconds (a wrong path is refused at once).
MAX_SUBSTREAMS = 3
SUBSTREAM_TIMEOUT = 4.0
# A detection stream's test errors, as errors of its own field.
DETECT_ERRORS = {ErrorKind.INVALID_AUTH.value: "detect_invalid_auth", "unknown": "unknown"}


AUTH_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_USERNAME): USERNAME_SELECTOR,
        vol.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
    }
)


NAME_SCHEMA = vol.Schema({vol.Required(CONF_NAME): TextSelector()})


def _shown(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What a re-shown form may echo: never a password, never a URL's userinfo or secret
    query values. A username typed into the URL moves to the username field."""
    secret = (CONF_PASSWORD, CONF_DETECT_USERNAME, CONF_DETECT_PASSWORD)
    shown = {k: v for k, v in user_input.items() if k not in secret}
    if url := shown.get(CONF_URL):
        try:
            url_user = split_credentials(url)[1]
        except ValueError:
            url_user = None
        if url_user and not shown.get(CONF_USERNAME):
            shown[CONF_USERNAME] = url_user
        shown[CONF_URL] = shown_url(url)
    if detect_url := shown.get(CONF_DETECT_URL):
        shown[CONF_DETECT_URL] = shown_url(detect_url)
    return shown


def _url_data(kind: str, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Entry data from a URL form: credentials out of the URL into their own fields."""
    try:
        bare, url_user, url_password = split_credentials(user_input[CONF_URL])
    except ValueError:  # e.g. a port over 65535
        raise SourceError(ErrorKind.INVALID_URL, "malformed URL") from None
    username = user_input.get(CONF_USERNAME) or url_user
    password = user_input.get(CONF_PASSWORD) or url_password
    data: dict[str, Any] = {
        CONF_KIND: kind,
        CONF_URL: validate_url(bare, URL_SCHEMES[kind]),
        CONF_USERNAME: username or "",
        CONF_PASSWORD: password or "",
    }
    if kind != KIND_RTSP:
        data[CONF_VERIFY_SSL] = user_input.get(CONF_VERIFY_SSL, True)
    return data


def _detect_data(
    data: Mapping[str, Any], typed: str, stored: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Entry data for an RTSP camera's detection stream (none when `typed` is empty).

    Its login comes out of the URL and is kept only where it differs from the main
    stream's (`data`); a URL sent back without one keeps the `stored` entry's own login.
    """
    if not typed.strip():
        return {}
    try:
        bare, username, password = split_credentials(typed)
    except ValueError:  # e.g. a port over 65535
        raise SourceError(ErrorKind.INVALID_URL, "malformed URL") from None
    detect: dict[str, Any] = {CONF_DETECT_URL: validate_url(bare, URL_SCHEMES[KIND_RTSP])}
    main = (data.get(CONF_USERNAME) or "", data.get(CONF_PASSWORD) or "")
    if username is None:
        if stored is None or CONF_DETECT_USERNAME not in stored:
            return detect
        own = (stored[CONF_DETECT_USERNAME], stored.get(CONF_DETECT_PASSWORD) or "")
    elif password is None and username == main[0]:
        return detect  # the main stream's user, its password left out: the main login
    else:
        own = (username, password or "")
    if own != main:
        detect |= {CONF_DETECT_USERNAME: own[0], CONF_DETECT_PASSWORD: own[1]}
    return detect


def _reconfigured(
    entry: ConfigEntry, kind: str, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Entry data from the reconfigure form, or errors by field. An empty password field
    keeps the stored password."""
    try:
        data = _url_data(kind, user_input)
    except SourceError:
        return {}, {CONF_URL: ErrorKind.INVALID_URL.value}
    if not user_input.get(CONF_PASSWORD) and not split_credentials(user_input[CONF_URL])[2]:
        data[CONF_PASSWORD] = entry.data.get(CONF_PASSWORD, "")
    if kind == KIND_RTSP:
        try:
            data |= _detect_data(data, user_input.get(CONF_DETECT_URL, ""), entry.data)
        except SourceError:
            return data, {CONF_DETECT_URL: ErrorKind.INVALID_URL.value}
    return data, {}


def _origin(url: str) -> tuple[str, str] | None:
    """Scheme and host[:port] (without a default port) of a URL; None if malformed."""
    try:
        parts = urlsplit(normalise_url(url))
    except ValueError:
        return None
    return parts.scheme, parts.netloc


class PrivacyCamConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a camera; each camera is its own entry."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        # The last URL typed in full, to restore what a re-shown form redacted.
        self._typed_url: str | None = None
        # A tested camera waiting for its name (data, suggested name).
        self._named: tuple[dict[str, Any], str] | None = None
        # A tested RTSP camera waiting for its detection stream, and the substream found.
        self._main: dict[str, Any] | None = None
        self._substream: str | None = None
        self._typed_detect: str | None = None

    async def _async_try(self, data: Mapping[str, Any], *, detect: bool = False) -> str | None:
        """Test before configure: open the camera (`detect`: its detection stream, as the
        camera will open it) and read one frame (10 s max)."""
        try:
            config = detect_source_config(data, {}) if detect else None
            if config is None:
                config = await async_build_source_config(self.hass, data, {})
            await self.hass.async_add_executor_job(probe, config)
        except SourceError as err:
            return err.kind.value
        except Exception:
            _LOGGER.exception("Unexpected error while testing the camera")
            return "unknown"
        return None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return self.async_show_menu(step_id="user", menu_options=[*KINDS, KIND_DESTINATION])

    # Share destinations ---------------------------------------------------------------

    async def async_step_share_destination(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        return self.async_show_menu(
            step_id=KIND_DESTINATION, menu_options=["destination_folder", "destination_webhook"]
        )

    async def async_step_destination_folder(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        return await self._async_step_destination(DestinationKind.FOLDER, user_input)

    async def async_step_destination_webhook(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        return await self._async_step_destination(DestinationKind.WEBHOOK, user_input)

    async def _async_step_destination(
        self, kind: DestinationKind, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        schema = _destination_schema(kind)
        if user_input is not None:
            user_input = self._restored(user_input, None)
            data, errors = await self._async_check_destination(kind, user_input)
            if not errors:
                await self.async_set_unique_id(_destination_unique_id(data))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=data[CONF_RECIPIENT], data=data)
            schema = self.add_suggested_values_to_schema(schema, _shown(user_input))
        return self.async_show_form(
            step_id=f"destination_{kind.value}", data_schema=schema, errors=errors
        )

    async def _async_check_destination(
        self, kind: DestinationKind, user_input: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Entry data, or errors by field; nothing is contacted (no outbound call)."""
        target_key = CONF_PATH if kind is DestinationKind.FOLDER else CONF_URL
        data: dict[str, Any] = {CONF_KIND: KIND_DESTINATION, CONF_DESTINATION_KIND: kind.value}
        for key in (target_key, *DISCLOSURE_KEYS):
            value = user_input.get(key, "")
            data[key] = value.strip() if isinstance(value, str) else value
        try:
            destination_from_data("new", data).validate()
        except DestinationError as err:
            field = {"path": CONF_PATH, "url": CONF_URL}.get(err.field or "", err.field)
            return data, {field or "base": err.key}
        if kind is DestinationKind.FOLDER:
            path = data[CONF_PATH]
            # Never a folder others can read (www, media), symlinks followed.
            if (problem := await folder_problem_for(self.hass, path)) is not None:
                return data, {CONF_PATH: problem}
            if not await self.hass.async_add_executor_job(_writable_folder, path):
                return data, {CONF_PATH: "folder_not_writable"}
        return data, {}

    async def async_step_rtsp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return await self._async_step_url(KIND_RTSP, user_input)

    async def async_step_mjpeg(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return await self._async_step_url("mjpeg", user_input)

    async def async_step_snapshot(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        return await self._async_step_url(KIND_SNAPSHOT, user_input)

    async def _async_step_url(
        self, kind: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        schema = _url_schema(kind)
        if user_input is not None:
            user_input = self._restored(user_input, None)
            try:
                data = _url_data(kind, user_input)
            except SourceError:
                errors[CONF_URL] = ErrorKind.INVALID_URL.value
            else:
                await self.async_set_unique_id(normalise_url(data[CONF_URL]))
                self._abort_if_unique_id_configured()
                if (error := await self._async_try(data)) is None:
                    if kind == KIND_RTSP:
                        return await self._async_ask_detection(data)
                    return await self._async_ask_name(data, camera_name(data[CONF_URL]))
                errors["base"] = error
            schema = self.add_suggested_values_to_schema(schema, _shown(user_input))
        return self.async_show_form(step_id=kind, data_schema=schema, errors=errors)

    def _restored(self, user_input: dict[str, Any], stored_url: str | None) -> dict[str, Any]:
        """Put back the secret query values a re-shown URL had redacted, and remember the
        URL as typed for the next round."""
        if not isinstance(url := user_input.get(CONF_URL), str):
            return user_input
        url = restore_redacted(url, self._typed_url, stored_url)
        self._typed_url = url
        return {**user_input, CONF_URL: url}

    def _restored_detect(self, user_input: dict[str, Any], original: str | None) -> dict[str, Any]:
        """The same for the detection stream's URL (empty when the field was emptied)."""
        url = restore_redacted(user_input.get(CONF_DETECT_URL) or "", self._typed_detect, original)
        self._typed_detect = url
        return {**user_input, CONF_DETECT_URL: url}

    # Detection stream (an RTSP camera's substream) -------------------------------------

    async def _async_ask_detection(self, data: dict[str, Any]) -> ConfigFlowResult:
        """A tested RTSP camera: offer its substream for detection, found by trying the
        addresses the common brands use for its URL's pattern."""
        self._main = data
        self._substream = await self._async_find_substream(data)
        return await self._async_step_detection(None)

    async def _async_find_substream(self, data: Mapping[str, Any]) -> str | None:
        """The first substream candidate that answers with video, opened with the main
        stream's login. Only the camera's own host and port are ever tried."""
        main_url = data[CONF_URL]
        home, main_id = _origin(main_url), normalise_url(main_url)
        tried = 0
        for candidate in substream_candidates(main_url):
            # Never another host, nor the main stream itself.
            if _origin(candidate) != home or normalise_url(candidate) == main_id:
                continue
            if tried == MAX_SUBSTREAMS:
                break
            tried += 1
            url = split_credentials(candidate)[0]
            config = detect_source_config({**data, CONF_DETECT_URL: url}, {})
            assert config is not None  # an RTSP camera with a detection URL
            config = replace(config, connect_timeout=SUBSTREAM_TIMEOUT)
            try:
                await self.hass.async_add_executor_job(probe, config, SUBSTREAM_TIMEOUT)
            except SourceError as err:
                _LOGGER.debug("No substream at %s: %s", redact_url(url), err.kind.value)
            except Exception:
                _LOGGER.exception("Unexpected error while trying %s", redact_url(url))
            else:
                return url
        return None

    async def async_step_detection_stream(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """No substream found: the user may enter one, or detect on the main stream."""
        return await self._async_step_detection(user_input)

    async def async_step_detection_stream_found(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A substream answered: preselected."""
        return await self._async_step_detection(user_input)

    async def _async_step_detection(self, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        assert self._main is not None  # only reached from _async_ask_detection
        data = self._main
        errors: dict[str, str] = {}
        shown = self._substream
        if user_input is not None:
            user_input = self._restored_detect(user_input, self._substream)
            shown = user_input[CONF_DETECT_URL]
            try:
                detect = _detect_data(data, shown)
            except SourceError:
                errors[CONF_DETECT_URL] = ErrorKind.INVALID_URL.value
            else:
                if not detect or (error := await self._async_try_detect(data | detect)) is None:
                    return await self._async_ask_name(data | detect, camera_name(data[CONF_URL]))
                errors[CONF_DETECT_URL] = error
        schema = DETECT_SCHEMA
        if shown:
            schema = self.add_suggested_values_to_schema(
                schema, {CONF_DETECT_URL: shown_url(shown)}
            )
        return self.async_show_form(
            step_id="detection_stream_found" if self._substream else "detection_stream",
            data_schema=schema,
            errors=errors,
            description_placeholders={"substream": shown_url(self._substream or "")},
        )

    async def _async_try_detect(self, data: Mapping[str, Any]) -> str | None:
        """Test a camera's detection stream; an error of its own field."""
        if normalise_url(data[CONF_DETECT_URL]) == normalise_url(data[CONF_URL]):
            return "detect_is_main"
        if (error := await self._async_try(data, detect=True)) is None:
            return None
        return DETECT_ERRORS.get(error, "detect_stream_failed")

    # Naming ----------------------------------------------------------------------

    async def _async_ask_name(self, data: dict[str, Any], suggestion: str) -> ConfigFlowResult:
        """A tested camera: let the user name it (title, device and clip folder)."""
        taken = {entry.title for entry in self._async_current_entries(include_ignore=False)}
        unique, number = suggestion, 2
        while unique in taken:
            unique, number = f"{suggestion} ({number})", number + 1
        self._named = (data, unique)
        return await self.async_step_name()

    async def async_step_name(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        assert self._named is not None  # only reached from _async_ask_name
        data, suggestion = self._named
        if user_input is not None:
            self._abort_if_unique_id_configured()  # added meanwhile by another flow
            name = " ".join(str(user_input.get(CONF_NAME, "")).split()) or suggestion
            return self.async_create_entry(title=name, data=data)
        return self.async_show_form(
            step_id="name",
            data_schema=self.add_suggested_values_to_schema(NAME_SCHEMA, {CONF_NAME: suggestion}),
            description_placeholders={"suggestion": suggestion},
        )

    def _camera_schema(self) -> vol.Schema:
        ours = [
            entry.entity_id
            for entry in er.async_get(self.hass).entities.values()
            if entry.platform == DOMAIN
        ]
        return vol.Schema(
            {
                vol.Required(CONF_ENTITY_ID): EntitySelector(
                    EntitySelectorConfig(domain="camera", exclude_entities=ours)
                )
            }
        )

    async def async_step_camera_entity(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            # The selector already refuses our own cameras (no camera-in-camera).
            entity_id = user_input[CONF_ENTITY_ID]
            await self.async_set_unique_id(entity_id)
            self._abort_if_unique_id_configured()
            data = {CONF_KIND: KIND_CAMERA_ENTITY, CONF_ENTITY_ID: entity_id}
            if (error := await self._async_try(data)) is None:
                state = self.hass.states.get(entity_id)
                # The camera's own name, as its integration gives it.
                return await self._async_ask_name(data, state.name if state else entity_id)
            errors["base"] = error
        return self.async_show_form(
            step_id=KIND_CAMERA_ENTITY, data_schema=self._camera_schema(), errors=errors
        )

    async def async_step_demo(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        await self.async_set_unique_id(DEMO_UNIQUE_ID)
        self._abort_if_unique_id_configured()
        if user_input is None:
            return self.async_show_form(step_id=KIND_DEMO, data_schema=vol.Schema({}))
        return self.async_create_entry(title="Demo camera", data={CONF_KIND: KIND_DEMO})

    # Reauth ----------------------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {
                **entry.data,
                CONF_USERNAME: user_input.get(CONF_USERNAME, ""),
                CONF_PASSWORD: user_input.get(CONF_PASSWORD, ""),
            }
            if (error := await self._async_try(data)) is None:
                return self.async_update_reload_and_abort(entry, data=data)
            errors["base"] = error
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                AUTH_SCHEMA, {CONF_USERNAME: entry.data.get(CONF_USERNAME, "")}
            ),
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    # Reconfigure --------------------------------------------------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        kind = entry.data[CONF_KIND]
        if kind == KIND_DESTINATION:
            return await self.async_step_reconfigure_destination()
        if kind not in URL_KINDS:
            return self.async_abort(reason="reconfigure_not_supported")
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input = self._restored(user_input, entry.data.get(CONF_URL))
            if kind == KIND_RTSP:
                user_input = self._restored_detect(user_input, entry.data.get(CONF_DETECT_URL))
            data, errors = _reconfigured(entry, kind, user_input)
            if not errors:
                unique_id = normalise_url(data[CONF_URL])
                if unique_id != entry.unique_id:
                    await self.async_set_unique_id(unique_id)
                    self._abort_if_unique_id_configured()
                if (error := await self._async_try(data)) is not None:
                    errors["base"] = error
                elif CONF_DETECT_URL in data and (error := await self._async_try_detect(data)):
                    errors[CONF_DETECT_URL] = error
                else:  # an emptied detection stream field drops the detection stream
                    return self.async_update_reload_and_abort(entry, unique_id=unique_id, data=data)
        suggested = _shown(entry.data)
        if user_input is not None:
            suggested |= _shown(user_input)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _url_schema(kind, detect=True), suggested
            ),
            errors=errors,
        )

    async def async_step_reconfigure_destination(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change what a destination declares; open reports must then be consented anew
        (their consent text changes with it)."""
        entry = self._get_reconfigure_entry()
        kind = entry_destination(entry).kind
        errors: dict[str, str] = {}
        suggested = _shown(entry.data)
        if user_input is not None:
            user_input = self._restored(user_input, entry.data.get(CONF_URL))
            data, errors = await self._async_check_destination(kind, user_input)
            if not errors:
                unique_id = _destination_unique_id(data)
                if unique_id != entry.unique_id:
                    await self.async_set_unique_id(unique_id)
                    self._abort_if_unique_id_configured()
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique_id, title=data[CONF_RECIPIENT], data=data
                )
            suggested = _shown(user_input)
        return self.async_show_form(
            step_id="reconfigure_destination",
            data_schema=self.add_suggested_values_to_schema(_destination_schema(kind), suggested),
            errors=errors,
        )

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        return True

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        if config_entry.data.get(CONF_KIND) == KIND_DESTINATION:
            # Reports sent there (withdraw) and sharing a clip: see share_destination.py.
            return DestinationOptionsFlow()
        return PrivacyCamOptionsFlow()


DISCLOSURE_KEYS = (
    CONF_RECIPIENT,
    CONF_PURPOSE,
    CONF_HUMANS_WATCH,
    CONF_RECIPIENT_RETENTION,
    CONF_WITHDRAWAL,
)


def _destination_schema(kind: DestinationKind) -> vol.Schema:
    target: dict[vol.Marker, Any] = (
        {vol.Required(CONF_PATH): TextSelector()}
        if kind is DestinationKind.FOLDER
        else {vol.Required(CONF_URL): URL_SELECTOR}
    )
    text = TextSelector()
    return vol.Schema(
        {
            **target,
            vol.Required(CONF_RECIPIENT): text,
            vol.Required(CONF_PURPOSE): TextSelector(TextSelectorConfig(multiline=True)),
            # No default: the owner must say it, not inherit our guess.
            vol.Required(CONF_HUMANS_WATCH): SelectSelector(
                SelectSelectorConfig(
                    options=[HUMANS_WATCH_YES, HUMANS_WATCH_NO],
                    mode=SelectSelectorMode.LIST,
                    translation_key=CONF_HUMANS_WATCH,
                )
            ),
            vol.Required(CONF_RECIPIENT_RETENTION): text,
            vol.Required(CONF_WITHDRAWAL): TextSelector(TextSelectorConfig(multiline=True)),
        }
    )


def _destination_unique_id(data: Mapping[str, Any]) -> str:
    if data[CONF_DESTINATION_KIND] == DestinationKind.FOLDER:
        return f"folder:{data[CONF_PATH].rstrip('/') or '/'}"
    return f"webhook:{data[CONF_URL]}"


def _writable_folder(path: str) -> bool:
    folder = Path(path)
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _number(low: float, high: float, step: float, unit: str | None = None) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


POLYGON_SELECTOR = TextSelector(TextSelectorConfig(multiline=True))


def _options_schema(kind: str) -> vol.Schema:
    defaults = MotionSettings()
    fields: dict[vol.Marker, Any] = {
        vol.Required(CONF_SENSITIVITY, default=defaults.sensitivity): NumberSelector(
            NumberSelectorConfig(min=1, max=100, step=1, mode=NumberSelectorMode.SLIDER)
        ),
        vol.Required(CONF_MIN_SIZE, default=defaults.min_size): _number(0, 50, 0.05, "%"),
        vol.Required(CONF_DETECT_FPS, default=defaults.detect_fps): _number(0.5, 15, 0.5, "fps"),
        vol.Required(CONF_COOLDOWN, default=defaults.cooldown): _number(0, 600, 1, "s"),
        vol.Required(CONF_MIN_FRAMES, default=defaults.min_frames): _number(1, 20, 1),
        vol.Optional(CONF_ZONES, default=""): POLYGON_SELECTOR,
        vol.Optional(CONF_MASKS, default=""): POLYGON_SELECTOR,
    }
    fields |= {
        vol.Required(CONF_RECORD_MODE, default=DEFAULT_RECORD_MODE): SelectSelector(
            SelectSelectorConfig(
                options=list(RECORD_MODES),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_RECORD_MODE,
            )
        ),
        vol.Required(CONF_PREROLL, default=DEFAULT_PREROLL): _number(0, 30, 1, "s"),
        vol.Required(CONF_POSTROLL, default=DEFAULT_POSTROLL): _number(0, 60, 1, "s"),
        vol.Required(CONF_MAX_CLIP, default=DEFAULT_MAX_CLIP): _number(10, 600, 1, "s"),
        vol.Required(CONF_RETENTION_DAYS, default=DEFAULT_RETENTION_DAYS): _number(1, 365, 1, "d"),
        # Private/indoor camera: never share; unlocking is a second, explicit switch.
        vol.Required(CONF_SENSITIVE, default=False): BooleanSelector(),
        vol.Required(CONF_SHARING_UNLOCKED, default=False): BooleanSelector(),
        # What moved (the detector on this box): "any motion" until the user opts in.
        vol.Required(CONF_ALARM_FOR, default=DEFAULT_ALARM_FOR): SelectSelector(
            SelectSelectorConfig(
                options=list(ALARM_FOR),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_ALARM_FOR,
            )
        ),
        vol.Required(CONF_LABEL_CONFIDENCE, default=DEFAULT_LABEL_CONFIDENCE): NumberSelector(
            NumberSelectorConfig(
                min=40, max=95, step=5, mode=NumberSelectorMode.SLIDER, unit_of_measurement="%"
            )
        ),
    }
    if kind == KIND_RTSP:
        fields[vol.Required(CONF_RTSP_TRANSPORT, default=DEFAULT_RTSP_TRANSPORT)] = SelectSelector(
            SelectSelectorConfig(
                options=list(RTSP_TRANSPORTS),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_RTSP_TRANSPORT,
            )
        )
        # Only FFmpeg-decoded streams have keyframes to pick (the detection stream's, or
        # the main one's).
        fields[vol.Required(CONF_DETECT_FRAMES, default=DEFAULT_DETECT_FRAMES)] = SelectSelector(
            SelectSelectorConfig(
                options=list(DETECT_FRAMES),
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_DETECT_FRAMES,
            )
        )
    if kind in (KIND_SNAPSHOT, KIND_CAMERA_ENTITY):
        fields[vol.Required(CONF_SNAPSHOT_INTERVAL, default=DEFAULT_SNAPSHOT_INTERVAL)] = _number(
            0.2, 60, 0.1, "s"
        )
    return vol.Schema(fields)


def _keyframe_interval(entry: ConfigEntry) -> str:
    """The measured keyframe interval of the stream detection decodes (the detection
    stream's when the camera has one), "—" until measured."""
    if entry.state is not ConfigEntryState.LOADED:
        return "—"
    stats = entry.runtime_data.runtime.pipeline.stats()
    detect = stats.get("detection_stream")
    interval = (detect if isinstance(detect, dict) else stats).get("keyframe_interval")
    return f"{interval:.1f} s" if isinstance(interval, int | float) else "—"


class PrivacyCamOptionsFlow(OptionsFlowWithReload):
    """Per-camera options: detection settings, zones and masks; saving reloads the camera."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders = {
            "format": POLYGON_HELP,
            "details": "",
            "keyframe_interval": _keyframe_interval(self.config_entry),
        }
        if user_input is not None:
            cleaned = dict(user_input)
            for key in (CONF_ZONES, CONF_MASKS):
                try:
                    # Store them as the user can read them back.
                    cleaned[key] = format_polygons(parse_polygons(cleaned.get(key, "")))
                except PolygonError as err:
                    errors[key] = "invalid_polygon"
                    placeholders["details"] = str(err)
            for key in (CONF_SENSITIVITY, CONF_MIN_FRAMES):
                cleaned[key] = int(cleaned[key])
            if not errors:
                return self.async_create_entry(data=cleaned)
        schema = _options_schema(self.config_entry.data[CONF_KIND])
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input if user_input is not None else self.config_entry.options
            ),
            errors=errors,
            description_placeholders=placeholders,
        )
