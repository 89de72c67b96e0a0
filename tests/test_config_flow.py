"""Config flow: every kind, test-before-configure, reauth, reconfigure, options."""

from __future__ import annotations

from typing import Any

import pytest
import voluptuous as vol
from homeassistant import config_entries
from homeassistant.const import (
    CONF_NAME,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.privacy_cam.const import (
    CONF_ENTITY_ID,
    CONF_KIND,
    CONF_RTSP_TRANSPORT,
    CONF_SNAPSHOT_INTERVAL,
    DOMAIN,
)

from .conftest import RTSP_PASSWORD, RTSP_USER, ForeignCamera, RtspServer
from .peers.http_camera import PASSWORD, USER, HttpCamera


async def _start(hass: HomeAssistant, kind: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        "rtsp",
        "mjpeg",
        "snapshot",
        "camera_entity",
        "demo",
        "share_destination",
    ]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == kind
    return result


async def _detect_on_main_stream(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    """A tested RTSP camera: the detection stream step. The test server has no
    substream: leave the field empty, motion is detected on the main stream."""
    assert result["type"] is FlowResultType.FORM, result.get("errors")
    assert result["step_id"] == "detection_stream"
    return await hass.config_entries.flow.async_configure(result["flow_id"], {})


async def _named(
    hass: HomeAssistant, result: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    """The camera worked: the name step, pre-filled with a suggestion. Keep it (None) or
    type another name."""
    assert result["type"] is FlowResultType.FORM, result.get("errors")
    assert result["step_id"] == "name"
    suggestion = result["description_placeholders"]["suggestion"]
    assert _suggested(result)[CONF_NAME] == suggestion
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: suggestion if name is None else name}
    )


def _suggested(result: dict[str, Any]) -> dict[str, Any]:
    """Every value a form shows pre-filled: suggested values and defaults."""
    shown: dict[str, Any] = {}
    for key in result["data_schema"].schema:
        if key.description and "suggested_value" in key.description:
            shown[str(key)] = key.description["suggested_value"]
        elif not isinstance(key.default, type(vol.UNDEFINED)):
            shown[str(key)] = key.default()
    return shown


async def _unload_all(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)


async def test_rtsp_with_credentials_in_url(
    hass: HomeAssistant, rtsp_auth_server: RtspServer
) -> None:
    result = await _start(hass, "rtsp")
    url = rtsp_auth_server.url().replace("rtsp://", f"rtsp://{RTSP_USER}:{RTSP_PASSWORD}@")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: url})
    result = await _detect_on_main_stream(hass, result)
    result = await _named(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # Host, port (not the default) and path: channels of one NVR stay apart.
    assert result["title"] == f"127.0.0.1:{rtsp_auth_server.port} /cam"
    # Credentials are kept apart from the URL.
    assert result["data"] == {
        CONF_KIND: "rtsp",
        CONF_URL: rtsp_auth_server.url(),
        CONF_USERNAME: RTSP_USER,
        CONF_PASSWORD: RTSP_PASSWORD,
    }
    assert result["result"].unique_id == rtsp_auth_server.url()

    # The same camera again, spelled differently, aborts.
    result = await _start(hass, "rtsp")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: rtsp_auth_server.url().upper().replace("/CAM", "/cam")}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await _unload_all(hass)


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({CONF_URL: "http://127.0.0.1/x"}, {CONF_URL: "invalid_url"}),
        ({CONF_URL: "rtsp://"}, {CONF_URL: "invalid_url"}),
        ({CONF_URL: "rtsp://127.0.0.1:1/cam"}, {"base": "connection_refused"}),
        (
            {CONF_URL: "AUTH", CONF_USERNAME: RTSP_USER, CONF_PASSWORD: "wrong"},
            {"base": "invalid_auth"},
        ),
        ({CONF_URL: "OPEN/nothing-here"}, {"base": "no_video"}),
    ],
)
async def test_rtsp_errors_then_recover(
    hass: HomeAssistant,
    rtsp_server: RtspServer,
    rtsp_auth_server: RtspServer,
    user_input: dict[str, str],
    errors: dict[str, str],
) -> None:
    url = user_input[CONF_URL]
    url = url.replace("AUTH", rtsp_auth_server.url()).replace("OPEN", rtsp_server.url(""))
    result = await _start(hass, "rtsp")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**user_input, CONF_URL: url}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    # The password is never echoed back into the form.
    schema_keys = {str(key): key for key in result["data_schema"].schema}
    suggested = schema_keys[CONF_PASSWORD].description
    assert not suggested or "wrong" not in str(suggested)
    # Fixing the input completes the flow: nothing the user typed is lost.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: rtsp_server.url()}
    )
    result = await _detect_on_main_stream(hass, result)
    result = await _named(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await _unload_all(hass)


async def test_refused_port_is_reported_at_once(hass: HomeAssistant) -> None:
    """Not "nothing answered within 10 s": the port refused, and the form says so."""
    loop = hass.loop
    result = await _start(hass, "mjpeg")
    started = loop.time()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "http://127.0.0.1:9/video.mjpg"}
    )
    assert result["errors"] == {"base": "connection_refused"}
    assert loop.time() - started < 3


async def test_endless_multipart_part_is_not_cannot_connect(
    hass: HomeAssistant, http_camera: HttpCamera
) -> None:
    """It answered with a stream whose first part never ends: say that, not "cannot
    connect"."""
    result = await _start(hass, "mjpeg")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: http_camera.url("/mjpeg_endless")}
    )
    assert result["errors"] == {"base": "no_frame"}


async def test_mjpeg_digest(hass: HomeAssistant, http_camera: HttpCamera) -> None:
    result = await _start(hass, "mjpeg")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_URL: http_camera.url("/mjpeg_digest"),
            CONF_USERNAME: USER,
            CONF_PASSWORD: PASSWORD,
            CONF_VERIFY_SSL: False,
        },
    )
    result = await _named(hass, result, "  Front   door ")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Front door"
    assert result["data"][CONF_VERIFY_SSL] is False
    assert result["data"][CONF_KIND] == "mjpeg"
    await _unload_all(hass)


@pytest.mark.parametrize(
    ("path", "error"),
    [("/snapshot_garbage", "no_video"), ("/snapshot_basic", "invalid_auth"), ("/html", "no_video")],
)
async def test_snapshot(
    hass: HomeAssistant, http_camera: HttpCamera, path: str, error: str
) -> None:
    result = await _start(hass, "snapshot")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: http_camera.url(path)}
    )
    assert result["errors"] == {"base": error}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: http_camera.url("/snapshot")}
    )
    result = await _named(hass, result, "")  # emptied: the suggestion is used
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"127.0.0.1:{http_camera.port} /snapshot"
    assert result["data"] == {
        CONF_KIND: "snapshot",
        CONF_URL: http_camera.url("/snapshot"),
        CONF_USERNAME: "",
        CONF_PASSWORD: "",
        CONF_VERIFY_SSL: True,
    }
    await _unload_all(hass)


async def test_camera_entity(hass: HomeAssistant, foreign_camera: ForeignCamera) -> None:
    result = await _start(hass, "camera_entity")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENTITY_ID: "camera.porch"}
    )
    result = await _named(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Porch"  # the camera's own name
    assert result["data"] == {CONF_KIND: "camera_entity", CONF_ENTITY_ID: "camera.porch"}
    await hass.async_block_till_done()

    # Our own camera entity cannot be wrapped again; the same camera aborts.
    own = hass.states.async_entity_ids("camera")
    ours = next(entity_id for entity_id in own if entity_id != "camera.porch")
    result = await _start(hass, "camera_entity")
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_ENTITY_ID: ours})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENTITY_ID: "camera.porch"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await _unload_all(hass)


async def test_camera_entity_errors(hass: HomeAssistant, foreign_camera: ForeignCamera) -> None:
    result = await _start(hass, "camera_entity")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENTITY_ID: "camera.missing"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    foreign_camera.image = b"not an image"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENTITY_ID: "camera.porch"}
    )
    assert result["errors"] == {"base": "no_video"}
    # A buggy camera integration raises something unexpected.
    foreign_camera.stream_error = ValueError("bug in another integration")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENTITY_ID: "camera.porch"}
    )
    assert result["errors"] == {"base": "unknown"}


async def test_camera_entity_with_stream(
    hass: HomeAssistant, foreign_camera: ForeignCamera, rtsp_server: RtspServer
) -> None:
    foreign_camera.image = None  # stills would fail: the stream must be used
    foreign_camera.stream_url = rtsp_server.url()
    result = await _start(hass, "camera_entity")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENTITY_ID: "camera.porch"}
    )
    result = await _named(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await _unload_all(hass)


async def test_demo(hass: HomeAssistant) -> None:
    result = await _start(hass, "demo")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Demo camera"
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "demo"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await _unload_all(hass)


async def test_reauth(hass: HomeAssistant, rtsp_auth_server: RtspServer) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=rtsp_auth_server.url(),
        data={
            CONF_KIND: "rtsp",
            CONF_URL: rtsp_auth_server.url(),
            CONF_USERNAME: RTSP_USER,
            CONF_PASSWORD: "old-password",
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: RTSP_USER, CONF_PASSWORD: "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: RTSP_USER, CONF_PASSWORD: RTSP_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_PASSWORD] == RTSP_PASSWORD
    await hass.async_block_till_done()
    await _unload_all(hass)


async def test_reconfigure(
    hass: HomeAssistant, http_camera: HttpCamera, rtsp_server: RtspServer
) -> None:
    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id=http_camera.url("/mjpeg"),
        data={CONF_KIND: "mjpeg", CONF_URL: http_camera.url("/mjpeg")},
    )
    other.add_to_hass(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=http_camera.url("/mjpeg_basic"),
        data={
            CONF_KIND: "mjpeg",
            CONF_URL: http_camera.url("/mjpeg_basic"),
            CONF_USERNAME: USER,
            CONF_PASSWORD: PASSWORD,
            CONF_VERIFY_SSL: True,
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "ftp://nope"}
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: http_camera.url("/html"), CONF_USERNAME: USER}
    )
    assert result["errors"] == {"base": "no_video"}
    # Another entry's camera: abort rather than duplicate.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: http_camera.url("/mjpeg")}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    # Empty password keeps the stored one; the new URL becomes the identity.
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: http_camera.url("/mjpeg_digest"), CONF_USERNAME: USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == http_camera.url("/mjpeg_digest")
    assert entry.data[CONF_PASSWORD] == PASSWORD
    assert entry.unique_id == http_camera.url("/mjpeg_digest")
    await hass.async_block_till_done()

    # Same URL, new password: allowed even though the unique ID is unchanged.
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_URL: http_camera.url("/mjpeg_digest"),
            CONF_USERNAME: USER,
            CONF_PASSWORD: PASSWORD,
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    await _unload_all(hass)


async def test_reconfigure_not_for_demo(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id="demo", data={CONF_KIND: "demo"})
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_not_supported"


@pytest.mark.parametrize(
    ("kind", "user_input"),
    [
        ("rtsp", {CONF_RTSP_TRANSPORT: "udp"}),
        ("snapshot", {CONF_SNAPSHOT_INTERVAL: 2.5}),
        ("demo", {}),
    ],
)
async def test_options(
    hass: HomeAssistant,
    http_camera: HttpCamera,
    rtsp_server: RtspServer,
    kind: str,
    user_input: dict[str, Any],
) -> None:
    url = rtsp_server.url() if kind == "rtsp" else http_camera.url("/snapshot")
    data = {CONF_KIND: kind} if kind == "demo" else {CONF_KIND: kind, CONF_URL: url}
    entry = MockConfigEntry(domain=DOMAIN, unique_id=url, data=data)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    schema_keys = {str(key) for key in result["data_schema"].schema}
    assert {"sensitivity", "min_size", "detect_fps", "zones", "masks", "cooldown"} <= schema_keys
    assert (CONF_RTSP_TRANSPORT in schema_keys) is (kind == "rtsp")
    motion = {
        "sensitivity": 70.0,
        "min_size": 0.5,
        "detect_fps": 4,
        "cooldown": 20,
        "min_frames": 3.0,
        "zones": "0,0 1,0 1,0.5\n0,0.5 0.5,0.5 0.5,1",
        "masks": "",
        "record_mode": "alarms",
        "preroll": 3,
        "postroll": 2,
        "max_clip_length": 60,
        "retention_days": 7,
        "sensitive": True,
        "sharing_unlocked": False,
        "alarm_for": "person_vehicle",
        "label_confidence": 60,
    }
    # A polygon a person mistyped gets a clear error; nothing is saved.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**motion, "masks": "0.1,0.1 0.2", **user_input}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"masks": "invalid_polygon"}
    assert "is not an x,y pair" in result["description_placeholders"]["details"]
    assert entry.options == {}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**motion, **user_input}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["zones"] == "0,0 1,0 1,0.5; 0,0.5 0.5,0.5 0.5,1"
    assert entry.options["sensitivity"] == 70 and entry.options["min_frames"] == 3
    # Saved options reach the running camera (the entry reloaded).
    runtime = entry.runtime_data.runtime
    settings = runtime.pipeline.watcher.settings
    assert (settings.sensitivity, settings.min_frames, settings.cooldown) == (70, 3, 20.0)
    assert len(settings.zones) == 2
    assert runtime.pipeline.source.config.analysis_fps == 4
    assert runtime.pipeline.policy.mode == "alarms" and runtime.pipeline.recorder.preroll == 3
    assert runtime.pipeline.recorder.postroll == 2 and runtime.pipeline.recorder.max_length == 60
    assert runtime.shared.retention.max_age_days[runtime.camera] == 7
    assert entry.options["sensitive"] is True and entry.options["sharing_unlocked"] is False
    assert runtime.labels.alarm_for == {"person", "vehicle"}
    assert runtime.labels.threshold == 0.6
    assert runtime.pipeline.classifier is not None
    if kind == "rtsp":
        assert runtime.pipeline.source.config.rtsp_transport == "udp"
    elif kind == "snapshot":
        assert runtime.pipeline.source.config.snapshot_interval == 2.5
    await _unload_all(hass)


# Share destinations ------------------------------------------------------------------

DISCLOSURE = {
    "recipient": "  Acme Alarm Review ",
    "purpose": "Improve false-alarm detection",
    "humans_watch": "no",
    "retention": "30 days",
    "withdrawal": "Email privacy@acme.example",
}


async def _destination_form(hass: HomeAssistant, kind: str) -> dict[str, Any]:
    result = await _start_menu(hass, "share_destination")
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["destination_folder", "destination_webhook"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": f"destination_{kind}"}
    )
    assert result["type"] is FlowResultType.FORM
    return result


async def _reconfigure(hass: HomeAssistant, entry_id: str) -> Any:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_RECONFIGURE, "entry_id": entry_id}
    )


async def _start_menu(hass: HomeAssistant, choice: str) -> Any:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": choice}
    )


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://reviewer.example/hook", "webhook_not_https"),
        ("https://u:p@reviewer.example/hook", "invalid_webhook_url"),
    ],
)
async def test_webhook_destination(hass: HomeAssistant, url: str, error: str) -> None:
    """Every declaration is required; HTTPS only (HTTP to this machine); nothing is sent."""
    result = await _destination_form(hass, "webhook")
    for field in ("recipient", "purpose", "retention", "withdrawal"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_URL: "https://reviewer.example/hook", **DISCLOSURE, field: "   "},
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {field: "disclosure_missing"}
    # "Will people watch" has no default: leaving it out is not accepted.
    without = {k: v for k, v in DISCLOSURE.items() if k != "humans_watch"}
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: "https://reviewer.example/hook", **without}
        )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: url, **DISCLOSURE}
    )
    assert result["errors"] == {CONF_URL: error}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "http://127.0.0.1:9/hook", **DISCLOSURE}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Acme Alarm Review"
    assert result["data"] == {
        CONF_KIND: "share_destination",
        "destination_kind": "webhook",
        CONF_URL: "http://127.0.0.1:9/hook",
        **{k: v.strip() for k, v in DISCLOSURE.items()},
    }
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is config_entries.ConfigEntryState.LOADED
    # A destination has no entities; its options are its reports (share_destination.py).
    assert entry.supports_options
    assert hass.states.async_all() == []
    # The same URL twice is refused.
    result = await _destination_form(hass, "webhook")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "http://127.0.0.1:9/hook", **DISCLOSURE}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_folder_destination_and_reconfigure(hass: HomeAssistant, tmp_path: Any) -> None:
    allowed = tmp_path / "handover"
    allowed.mkdir()
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    result = await _destination_form(hass, "folder")
    for path, error in (
        ("relative/folder", "folder_not_absolute"),
        ("/etc", "folder_not_allowed"),
        (str(tmp_path / "missing"), "folder_not_writable"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"path": path, **DISCLOSURE}
        )
        assert result["errors"] == {"path": error}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"path": str(allowed), **DISCLOSURE}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.unique_id == f"folder:{allowed}"

    # Reconfigure: the same rules; a change of declarations is saved and reloads.
    result = await _reconfigure(hass, entry.entry_id)
    assert result["step_id"] == "reconfigure_destination"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"path": str(allowed), **DISCLOSURE, "purpose": ""}
    )
    assert result["errors"] == {"purpose": "disclosure_missing"}
    other = tmp_path / "other"
    other.mkdir()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"path": str(other), **DISCLOSURE, "humans_watch": "yes", "recipient": "Installer Bob"},
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    assert entry.data["humans_watch"] == "yes" and entry.title == "Installer Bob"
    assert entry.unique_id == f"folder:{other}"
    result = await _reconfigure(hass, entry.entry_id)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"path": str(other), **DISCLOSURE}
    )
    assert result["reason"] == "reconfigure_successful" and entry.title == "Acme Alarm Review"
    assert await hass.config_entries.async_unload(entry.entry_id)


# Credentials are never echoed; names a person can tell apart --------------------------

SECRETS = ("Typed-Secret-1", "Tok-Secret-2", "Field-Secret-3")


def _assert_no_secret(result: dict[str, Any], *secrets: str) -> None:
    """No pre-filled value of the re-shown form holds a secret or a URL's userinfo."""
    assert result["type"] is FlowResultType.FORM
    shown = _suggested(result)
    assert not shown.get(CONF_PASSWORD)
    text = repr(shown)
    for secret in secrets:
        assert secret not in text
    url = shown.get(CONF_URL)
    assert url is None or "@" not in url


@pytest.mark.parametrize(
    ("kind", "scheme"), [("rtsp", "rtsp"), ("mjpeg", "http"), ("snapshot", "http")]
)
async def test_user_forms_never_echo_credentials(
    hass: HomeAssistant, kind: str, scheme: str
) -> None:
    result = await _start(hass, kind)
    typed = f"{scheme}://viewer:{SECRETS[0]}@127.0.0.1:9/x?token={SECRETS[1]}&channel=2"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: typed, CONF_PASSWORD: SECRETS[2]}
    )
    assert result["errors"] == {"base": "connection_refused"}
    _assert_no_secret(result, *SECRETS)
    shown = _suggested(result)
    assert shown[CONF_USERNAME] == "viewer"  # moved out of the URL into its own field
    assert shown[CONF_URL] == f"{scheme}://127.0.0.1:9/x?token=**REDACTED**&channel=2"
    # A malformed URL (bad port) is re-shown without its userinfo too.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: f"{scheme}://viewer:{SECRETS[0]}@127.0.0.1:99999/x"}
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}
    _assert_no_secret(result, *SECRETS)


async def test_redacted_query_secret_is_restored_on_resubmit(
    hass: HomeAssistant, http_camera: HttpCamera
) -> None:
    result = await _start(hass, "mjpeg")
    typed = http_camera.url("/mjpeg_basic").replace("://", f"://{USER}:wrong@") + "?token=T0k"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: typed})
    assert result["errors"] == {"base": "invalid_auth"}
    _assert_no_secret(result, "T0k", "wrong")
    shown = _suggested(result)
    # The user corrects the password and sends the form back as shown.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: shown[CONF_URL], CONF_USERNAME: shown[CONF_USERNAME], CONF_PASSWORD: PASSWORD},
    )
    result = await _named(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == http_camera.url("/mjpeg_basic") + "?token=T0k"
    assert result["data"][CONF_PASSWORD] == PASSWORD
    await _unload_all(hass)


async def test_reconfigure_reauth_and_options_never_show_the_password(
    hass: HomeAssistant, http_camera: HttpCamera
) -> None:
    stored = http_camera.url("/mjpeg_basic") + "?pwd=Stored-Query-9"
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Gate",
        unique_id="gate",
        data={
            CONF_KIND: "mjpeg",
            CONF_URL: stored,
            CONF_USERNAME: USER,
            CONF_PASSWORD: "Stored-Pass-8",
            CONF_VERIFY_SSL: True,
        },
    )
    entry.add_to_hass(hass)
    secrets = ("Stored-Query-9", "Stored-Pass-8", SECRETS[0])
    result = await entry.start_reconfigure_flow(hass)
    _assert_no_secret(result, *secrets)
    shown_first = _suggested(result)[CONF_URL]
    assert shown_first == http_camera.url("/mjpeg_basic") + "?pwd=**REDACTED**"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: http_camera.url("/nope").replace("://", f"://{USER}:{SECRETS[0]}@")},
    )
    assert result["errors"] == {"base": "no_video"}
    _assert_no_secret(result, *secrets)
    # Sent back (in the same flow) with the stored URL as first shown: its hidden query
    # value comes back.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: shown_first, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == stored
    await hass.async_block_till_done()

    result = await entry.start_reauth_flow(hass)
    _assert_no_secret(result, *secrets, PASSWORD)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: USER, CONF_PASSWORD: "Wrong-Again-7"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    _assert_no_secret(result, *secrets, PASSWORD, "Wrong-Again-7")

    result = await hass.config_entries.options.async_init(entry.entry_id)
    _assert_no_secret(result, *secrets, PASSWORD)
    await _unload_all(hass)


async def test_destination_forms_never_echo_credentials(hass: HomeAssistant) -> None:
    result = await _destination_form(hass, "webhook")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_URL: f"https://bob:{SECRETS[0]}@reviewer.example/hook?token={SECRETS[1]}",
            **DISCLOSURE,
        },
    )
    assert result["errors"] == {CONF_URL: "invalid_webhook_url"}
    _assert_no_secret(result, *SECRETS)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: _suggested(result)[CONF_URL], **DISCLOSURE},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == f"https://reviewer.example/hook?token={SECRETS[1]}"
    entry = result["result"]
    result = await _reconfigure(hass, entry.entry_id)
    _assert_no_secret(result, *SECRETS)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**_suggested(result), "recipient": "  "}
    )
    assert result["errors"]
    _assert_no_secret(result, *SECRETS)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**_suggested(result), "recipient": "Acme Two"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == f"https://reviewer.example/hook?token={SECRETS[1]}"
    await _unload_all(hass)


async def test_names_tell_cameras_on_one_host_apart(
    hass: HomeAssistant, http_camera: HttpCamera
) -> None:
    titles = []
    for query in ("", "?resolution=low"):
        result = await _start(hass, "snapshot")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: http_camera.url("/snapshot") + query}
        )
        result = await _named(hass, result)
        titles.append(result["title"])
    base = f"127.0.0.1:{http_camera.port} /snapshot"
    assert titles == [base, f"{base} (2)"]  # the suggestion never repeats a name
    result = await _start(hass, "mjpeg")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: http_camera.url("/mjpeg") + "?channel=2"}
    )
    result = await _named(hass, result, "Garage")
    assert result["title"] == "Garage"
    await hass.async_block_till_done()
    # The name is the device's, and the clip folder's.
    entry = result["result"]
    assert entry.runtime_data.runtime.camera == "garage"
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert [device.name for device in devices] == ["Garage"]
    await _unload_all(hass)
