"""Setup, camera entity, availability, repairs and reauth."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.camera import (
    CameraEntityFeature,
    async_get_image,
    async_get_stream_source,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    EVENT_HOMEASSISTANT_STOP,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.privacy_cam.const import CONF_ENTITY_ID, CONF_KIND, DOMAIN
from custom_components.privacy_cam.engine.sources.jpeg import jpeg_size
from custom_components.privacy_cam.storage import DATA_STORE, media_root

from .conftest import (
    RTSP_PASSWORD,
    RTSP_USER,
    ForeignCamera,
    RtspServer,
    wait_for,
)
from .peers.http_camera import USER, HttpCamera, self_signed_context

CAMERA = "camera.garden"


async def _setup(hass: HomeAssistant, data: dict, unique_id: str = "cam") -> MockConfigEntry:
    entry = MockConfigEntry(domain=DOMAIN, title="Garden", unique_id=unique_id, data=data)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _available(hass: HomeAssistant, entity_id: str = CAMERA) -> bool:
    state = hass.states.get(entity_id)
    return state is not None and state.state != STATE_UNAVAILABLE


def _failed(entry: MockConfigEntry) -> bool:
    return entry.runtime_data.runtime.issues.last_error is not None


@pytest.fixture
def platforms() -> list[Platform]:
    return [Platform.CAMERA]


async def test_entities(
    hass: HomeAssistant,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """The camera entity: registry entry and state, streaming."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


async def test_demo_camera_device_stills_and_stream(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    entry = await _setup(hass, {CONF_KIND: "demo"}, "demo")
    assert entry.state is ConfigEntryState.LOADED
    await wait_for(lambda: _available(hass), 10)
    state = hass.states.get("camera.garden")
    assert state is not None and state.state == "streaming"
    entity = er.async_get(hass).async_get("camera.garden")
    assert entity is not None and entity.unique_id == f"{entry.entry_id}_camera"
    device = dr.async_get(hass).async_get(entity.device_id)
    assert device is not None and device.model == "Demo camera"
    assert device.name == "Garden" and device.manufacturer == "Privacy Cam"

    image = await async_get_image(hass, "camera.garden")
    assert jpeg_size(image.content) == (640, 360)
    image = await async_get_image(hass, "camera.garden", width=320)
    assert jpeg_size(image.content) == (320, 180)

    client = await hass_client()
    response = await client.get("/api/camera_proxy_stream/camera.garden")
    assert response.status == 200
    assert response.content_type == "multipart/x-mixed-replace"
    chunk = await response.content.read(4096)
    assert b"--frameboundary" in chunk and b"\xff\xd8" in chunk
    response.close()

    # Turning the camera off stops pulling frames; on restarts.
    await hass.services.async_call("camera", "turn_off", {ATTR_ENTITY_ID: "camera.garden"}, True)
    assert not entry.runtime_data.runtime.pipeline.source.running
    state = hass.states.get("camera.garden")
    assert state is not None and state.state == "idle"
    with pytest.raises(HomeAssistantError, match="Camera is off"):
        await async_get_image(hass, "camera.garden")
    await hass.services.async_call("camera", "turn_on", {ATTR_ENTITY_ID: "camera.garden"}, True)
    assert entry.runtime_data.runtime.pipeline.source.running
    await wait_for(lambda: _available(hass), 10)

    runtime = entry.runtime_data.runtime
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not runtime.pipeline.source.running


async def test_rtsp_camera_streams_through_ha(
    hass: HomeAssistant, rtsp_auth_server: RtspServer
) -> None:
    entry = await _setup(
        hass,
        {
            CONF_KIND: "rtsp",
            CONF_URL: rtsp_auth_server.url(),
            CONF_USERNAME: RTSP_USER,
            CONF_PASSWORD: RTSP_PASSWORD,
        },
    )
    await wait_for(lambda: _available(hass), 10)
    state = hass.states.get("camera.garden")
    assert state is not None
    assert state.attributes["supported_features"] & CameraEntityFeature.STREAM
    # The stream URL (with credentials) goes only to HA's stream component...
    source = await async_get_stream_source(hass, "camera.garden")
    assert source == rtsp_auth_server.url().replace(
        "rtsp://", f"rtsp://{RTSP_USER}:{RTSP_PASSWORD}@"
    )
    # ...never into states.
    assert RTSP_PASSWORD not in json.dumps(state.as_dict(), default=str)
    image = await async_get_image(hass, "camera.garden", width=160)
    assert jpeg_size(image.content) == (160, 120)
    await hass.services.async_call("camera", "turn_off", {ATTR_ENTITY_ID: "camera.garden"}, True)
    with pytest.raises(HomeAssistantError, match="Camera is off"):
        await async_get_stream_source(hass, "camera.garden")
    # The entity itself hands out no stream while off.
    camera_entity = hass.data["camera"].get_entity("camera.garden")
    assert await camera_entity.stream_source() is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_mjpeg_outage_logs_once_raises_repair_and_recovers(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    camera = HttpCamera()
    camera.start()
    try:
        entry = await _setup(hass, {CONF_KIND: "mjpeg", CONF_URL: camera.url("/mjpeg")})
        await wait_for(lambda: _available(hass), 10)
        camera.stop()
        await wait_for(lambda: _failed(entry), 10)
        await wait_for(lambda: not _available(hass), 10)
        issue_id = f"camera_unreachable_{entry.entry_id}"
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5, seconds=1))
        await hass.async_block_till_done()
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        assert issue is not None and issue.translation_key == "camera_unreachable"
        assert issue.translation_placeholders is not None
        assert issue.translation_placeholders["name"] == "Garden"

        camera.start()
        await wait_for(lambda: _available(hass), 10)
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
        unavailable_logs = [r for r in caplog.records if "is unavailable" in r.getMessage()]
        assert len(unavailable_logs) == 1 and unavailable_logs[0].levelno == logging.WARNING
        assert "Camera Garden is back online" in caplog.text
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        camera.stop()


async def test_short_outage_gets_no_repair(hass: HomeAssistant) -> None:
    camera = HttpCamera()
    camera.start()
    try:
        entry = await _setup(hass, {CONF_KIND: "mjpeg", CONF_URL: camera.url("/mjpeg")})
        await wait_for(lambda: _available(hass), 10)
        camera.stop()
        await wait_for(lambda: _failed(entry), 10)
        camera.start()
        await wait_for(lambda: _available(hass), 10)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=6))
        await hass.async_block_till_done()
        assert not ir.async_get(hass).issues
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        camera.stop()


async def test_wrong_password_starts_reauth_without_leaking(
    hass: HomeAssistant, http_camera: HttpCamera, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await _setup(
        hass,
        {
            CONF_KIND: "mjpeg",
            CONF_URL: http_camera.url("/mjpeg_basic"),
            CONF_USERNAME: USER,
            CONF_PASSWORD: "Wrong-Password-123",
        },
    )
    await wait_for(lambda: _failed(entry), 10)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert "Wrong-Password-123" not in caplog.text
    await hass.config_entries.async_unload(entry.entry_id)


async def test_wrapped_camera_entity(
    hass: HomeAssistant, foreign_camera: ForeignCamera, http_camera: HttpCamera
) -> None:
    entry = await _setup(hass, {CONF_KIND: "camera_entity", CONF_ENTITY_ID: "camera.porch"})
    await wait_for(lambda: _available(hass), 10)
    image = await async_get_image(hass, "camera.garden")
    assert image.content in http_camera.frames
    state = hass.states.get("camera.garden")
    assert state is not None
    assert not state.attributes["supported_features"] & CameraEntityFeature.STREAM
    # The wrapped camera stops giving pictures: ours goes unavailable.
    foreign_camera.image = None
    await wait_for(lambda: _failed(entry), 10)
    assert entry.runtime_data.runtime.issues.last_error is not None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_setup_retries_until_wrapped_camera_exists(hass: HomeAssistant) -> None:
    entry = await _setup(hass, {CONF_KIND: "camera_entity", CONF_ENTITY_ID: "camera.later"})
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_fails_on_invalid_url(hass: HomeAssistant) -> None:
    entry = await _setup(hass, {CONF_KIND: "rtsp", CONF_URL: "ftp://nope"})
    assert entry.state is ConfigEntryState.SETUP_ERROR


async def test_home_assistant_stop_stops_threads(hass: HomeAssistant) -> None:
    entry = await _setup(hass, {CONF_KIND: "demo"}, "demo")
    assert entry.runtime_data.runtime.pipeline.source.running
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not entry.runtime_data.runtime.pipeline.source.running


# Setup is safe and retried; nothing blocks the event loop --------------------------------


async def test_eight_cameras_set_up_at_once_fifty_times(
    hass: HomeAssistant,
    http_camera: HttpCamera,
    videos: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every round starts like a fresh Home Assistant: no loaded store, no index.json, but
    clip files on disk, so the first load rebuilds the index while 8 cameras wait on it."""
    root = media_root(hass)

    def lay_out_clips() -> None:
        folder = root / "cam_0" / "2026-11-27"
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(3):
            shutil.copy(videos["small"], folder / f"10-00-0{index}_{index:012x}.mp4")

    await hass.async_add_executor_job(lay_out_clips)
    entries = []
    for index in range(8):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"Cam {index}",
            unique_id=f"cam{index}",
            data={CONF_KIND: "snapshot", CONF_URL: http_camera.url("/snapshot")},
            options={"snapshot_interval": 5.0},
        )
        entry.add_to_hass(hass)
        entries.append(entry)
    rounds = 50
    caplog.set_level(logging.INFO, logger="custom_components.privacy_cam.engine.recording")
    for round_ in range(rounds):
        caplog.clear()
        hass.data.pop(DATA_STORE, None)
        await hass.async_add_executor_job((root / "index.json").unlink, True)
        if round_ == 0:
            # As at start-up: setting up the integration sets up all its entries at once.
            assert await async_setup_component(hass, DOMAIN, {})
            await hass.async_block_till_done()
        else:
            results = await asyncio.gather(
                *(hass.config_entries.async_setup(entry.entry_id) for entry in entries)
            )
            assert all(results)
        assert all(entry.state is ConfigEntryState.LOADED for entry in entries)
        stores = {id(entry.runtime_data.runtime.shared) for entry in entries}
        assert len(stores) == 1  # one store, loaded once
        assert len(entries[0].runtime_data.runtime.shared.store.clips()) == 3
        # The index was rebuilt from the folder by one load, not by eight racing ones.
        assert caplog.text.count("Clip folder reconciled") == 1
        assert all(
            await asyncio.gather(
                *(hass.config_entries.async_unload(entry.entry_id) for entry in entries)
            )
        )


async def test_setup_failure_is_not_ready_and_retried(hass: HomeAssistant) -> None:
    """A media folder that cannot be created (a file is in the way): retry, not dead."""
    root = media_root(hass)

    def block() -> None:
        root.parent.mkdir(parents=True, exist_ok=True)
        root.write_text("not a folder")

    await hass.async_add_executor_job(block)
    entry = await _setup(hass, {CONF_KIND: "demo"}, "demo")
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "setup_failed"
    assert DATA_STORE not in hass.data  # nothing half-loaded is kept
    await hass.async_add_executor_job(root.unlink)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unexpected_setup_error_is_not_ready_with_its_traceback(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Options damaged by hand in .storage: retried, and the bug-like error is logged."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Garden",
        unique_id="demo",
        data={CONF_KIND: "demo"},
        options={"retention_days": "many"},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "setup_failed"
    assert "Unexpected error while setting up Garden" in caplog.text
    assert "Traceback" in caplog.text
    await hass.config_entries.async_unload(entry.entry_id)


async def test_blocking_call_detection_is_on(
    hass: HomeAssistant, fail_on_blocking_calls: Any
) -> None:
    """The suite's guard itself: TLS set-up on the loop is reported (as in real HA)."""
    ssl.create_default_context()
    assert any("load_default_certs" in m for m in fail_on_blocking_calls.messages)
    fail_on_blocking_calls.messages.clear()


async def test_https_camera_setup_makes_no_blocking_call(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """0.5.0 built the HTTPS opener (CA store) in async_setup_entry, on the loop."""
    context = await hass.async_add_executor_job(self_signed_context, str(tmp_path))
    camera = HttpCamera(ssl_context=context)
    await hass.async_add_executor_job(camera.start)
    try:
        entry = await _setup(
            hass,
            {CONF_KIND: "mjpeg", CONF_URL: camera.url("/mjpeg"), "verify_ssl": True},
        )
        # Self-signed: refused by the verifying CA store.
        await wait_for(lambda: _failed(entry), 10)
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await hass.async_add_executor_job(camera.stop)


async def test_no_credential_in_any_log_line_at_debug_level(
    hass: HomeAssistant,
    rtsp_auth_server: RtspServer,
    http_camera: HttpCamera,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Everything at DEBUG (ours, HA's, the libraries'): a camera that streams with its
    login, one refused for a wrong password, and a URL that carries a token in its
    query and in its path; no secret appears in any log line."""
    caplog.set_level(logging.DEBUG)
    good = await _setup(
        hass,
        {
            CONF_KIND: "rtsp",
            CONF_URL: rtsp_auth_server.url(),
            CONF_USERNAME: RTSP_USER,
            CONF_PASSWORD: RTSP_PASSWORD,
        },
    )
    await wait_for(lambda: _available(hass), 10)
    bad_url = http_camera.url("/mjpeg_basic") + "?token=Query-Secret-77"
    bad = MockConfigEntry(
        domain=DOMAIN,
        title="Porch",
        unique_id="porch",
        data={
            CONF_KIND: "mjpeg",
            CONF_URL: bad_url,
            CONF_USERNAME: USER,
            CONF_PASSWORD: "Bad-Pass-42",
        },
    )
    bad.add_to_hass(hass)
    await hass.config_entries.async_setup(bad.entry_id)
    await wait_for(lambda: _failed(bad), 10)
    gone = MockConfigEntry(
        domain=DOMAIN,
        title="Shed",
        unique_id="shed",
        data={CONF_KIND: "rtsp", CONF_URL: "rtsps://127.0.0.1:1/Xk3pQ9sLmN2vB7tR"},
    )
    gone.add_to_hass(hass)
    await hass.config_entries.async_setup(gone.entry_id)
    await wait_for(lambda: _failed(gone), 15)
    await hass.async_block_till_done()
    # (aiohttp.access is the test camera's own server log: on a real camera, not in HA.)
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
        if record.name != "aiohttp.access"
    )
    assert "Camera Porch is unavailable" in logged
    for secret in (RTSP_PASSWORD, "Bad-Pass-42", "Query-Secret-77", "Xk3pQ9sLmN2vB7tR"):
        assert secret not in logged
    for entry in (good, bad, gone):
        await hass.config_entries.async_unload(entry.entry_id)
