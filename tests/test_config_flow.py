"""Config flow: every kind, test-before-configure, reauth, reconfigure, options."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
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


async def _unload_all(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)


async def test_rtsp_with_credentials_in_url(
    hass: HomeAssistant, rtsp_auth_server: RtspServer
) -> None:
    result = await _start(hass, "rtsp")
    url = rtsp_auth_server.url().replace("rtsp://", f"rtsp://{RTSP_USER}:{RTSP_PASSWORD}@")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: url})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "127.0.0.1"
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
        ({CONF_URL: "rtsp://127.0.0.1:1/cam"}, {"base": "cannot_connect"}),
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
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await _unload_all(hass)


async def test_unreachable_host_is_reported_within_10_s(hass: HomeAssistant) -> None:
    loop = hass.loop
    result = await _start(hass, "mjpeg")
    started = loop.time()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "http://127.0.0.1:9/video.mjpg"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    assert loop.time() - started < 10


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
    assert result["type"] is FlowResultType.CREATE_ENTRY
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
    assert result["type"] is FlowResultType.CREATE_ENTRY
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
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Porch"
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
    settings = runtime.watcher.settings
    assert (settings.sensitivity, settings.min_frames, settings.cooldown) == (70, 3, 20.0)
    assert len(settings.zones) == 2
    assert runtime.source.config.analysis_fps == 4
    assert runtime.record_options.mode == "alarms" and runtime.recorder.preroll == 3
    assert runtime.recorder.postroll == 2 and runtime.recorder.max_length == 60
    assert runtime.shared.retention.max_age_days[runtime.camera] == 7
    assert entry.options["sensitive"] is True and entry.options["sharing_unlocked"] is False
    if kind == "rtsp":
        assert runtime.source.config.rtsp_transport == "udp"
    elif kind == "snapshot":
        assert runtime.source.config.snapshot_interval == 2.5
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
    # A destination has no camera options and no entities.
    assert not entry.supports_options
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
