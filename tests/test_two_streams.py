"""An RTSP camera with a detection stream, in Home Assistant: motion from the substream,
clips from the main stream, and no credential of either stream in the diagnostics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import av
import pytest
import pytest_socket
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.privacy_cam.const import (
    CONF_DETECT_PASSWORD,
    CONF_DETECT_URL,
    CONF_DETECT_USERNAME,
    CONF_KIND,
    DOMAIN,
)
from custom_components.privacy_cam.engine import ErrorKind, SourceError
from custom_components.privacy_cam.issues import CameraIssues
from custom_components.privacy_cam.source_config import detect_source_config

from .conftest import RTSP_PASSWORD, RTSP_USER, wait_for
from .peers.rtsp import RtspServer
from .peers.videos import MAIN_SIZE, make_two_streams

ISSUE_DELAY = timedelta(minutes=5, seconds=1)

SUB_USER, SUB_PASSWORD = "substream", "Sub-Secret-31"


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_two_streams(tmp_path_factory.mktemp("two_streams"))


@pytest.fixture(scope="module")
def camera(streams: tuple[Path, Path]) -> Iterator[RtspServer]:
    """A camera whose main and substream (with its own login) share one server."""
    main, sub = streams
    pytest_socket.enable_socket()  # module fixtures start before socket_enabled
    server = RtspServer(main, f"/sub={sub}", "--auth", f"{RTSP_USER}:{RTSP_PASSWORD}")
    try:
        yield server
    finally:
        server.stop()


async def test_motion_from_the_substream_clips_from_the_main_stream(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, camera: RtspServer
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Drive",
        unique_id="drive",
        data={
            CONF_KIND: "rtsp",
            CONF_URL: camera.url(),
            CONF_USERNAME: RTSP_USER,
            CONF_PASSWORD: RTSP_PASSWORD,
            CONF_DETECT_URL: camera.url("/sub"),
            # The server has one login; a login of its own is still kept apart.
            CONF_DETECT_USERNAME: RTSP_USER,
            CONF_DETECT_PASSWORD: RTSP_PASSWORD,
        },
        options={"preroll": 1.0, "postroll": 1.0, "cooldown": 1.0},
    )
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data.runtime
    pipeline = runtime.pipeline
    assert pipeline.detect_source is not None and not pipeline.source.decoding
    await wait_for(lambda: hass.states.get("binary_sensor.drive_motion").state == "on", 20)
    # The walker is in the right half of the picture.
    assert runtime.current_event is not None and runtime.current_event.box[0] >= 0.5

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert RTSP_PASSWORD not in text and RTSP_USER not in text
    detection = diagnostics["source"]["detection_stream"]
    assert detection["state"] == "streaming" and detection["fallbacks"] == 0
    assert detection["stream_url"].endswith("/sub")

    await hass.config_entries.async_unload(entry.entry_id)  # finishes the open clip
    await hass.async_block_till_done()
    assert pipeline.source.stats.decoded_frames == 0  # the main stream was never decoded
    assert saved, "no clip was saved"
    clip = runtime.shared.store.get(saved[0].data["clip_id"])
    assert clip is not None and clip.reason == "motion"
    path = runtime.shared.store.root / clip.path

    def size() -> tuple[int, int]:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return stream.width, stream.height

    assert await hass.async_add_executor_job(size) == MAIN_SIZE


async def test_a_failing_detection_stream_raises_a_repair_and_clears_it(
    hass: HomeAssistant, camera: RtspServer, streams: tuple[Path, Path]
) -> None:
    """The substream (a server of its own here) dies: detection goes on from the main
    stream, a repair issue says so after 5 minutes, and goes once it is back."""
    # Peers start and stop off the event loop (they wait for their process).
    sub = await hass.async_add_executor_job(RtspServer, streams[1])
    port = sub.port
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Drive",
        unique_id="drive",
        data={
            CONF_KIND: "rtsp",
            CONF_URL: camera.url(),
            CONF_USERNAME: RTSP_USER,
            CONF_PASSWORD: RTSP_PASSWORD,
            CONF_DETECT_URL: sub.url(),
        },
    )
    entry.add_to_hass(hass)
    issue_id = f"detection_stream_failing_{entry.entry_id}"
    issues = ir.async_get(hass)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        runtime = entry.runtime_data.runtime
        await wait_for(lambda: runtime.pipeline.watcher.frames_analysed > 3, 20)
        await hass.async_add_executor_job(sub.stop)
        await wait_for(lambda: runtime.issues.detect_error is not None, 20)
        assert runtime.available  # the camera itself is fine
        assert issues.async_get_issue(DOMAIN, issue_id) is None  # not at once
        async_fire_time_changed(hass, dt_util.utcnow() + ISSUE_DELAY)
        await hass.async_block_till_done()
        issue = issues.async_get_issue(DOMAIN, issue_id)
        assert issue is not None and issue.translation_key == "detection_stream_failing"
        assert issue.severity is ir.IssueSeverity.WARNING and not issue.is_fixable
        placeholders = issue.translation_placeholders or {}
        assert placeholders["name"] == "Drive" and placeholders["error"]
        assert RTSP_PASSWORD not in json.dumps(placeholders)
        # Motion is still detected, from the main stream.
        analysed = runtime.pipeline.watcher.frames_analysed
        await wait_for(lambda: runtime.pipeline.watcher.frames_analysed > analysed + 3, 20)

        sub = await hass.async_add_executor_job(lambda: RtspServer(streams[1], port=port))
        await wait_for(lambda: issues.async_get_issue(DOMAIN, issue_id) is None, 30)
        assert runtime.issues.detect_error is None
        assert runtime.pipeline.stats()["detection_stream"]["fallbacks"] == 1

        # Failing again; privacy mode stops the camera, which drops the issue; back on,
        # the substream still fails and the issue comes back.
        await hass.async_add_executor_job(sub.stop)
        await wait_for(lambda: runtime.issues.detect_error is not None, 20)
        async_fire_time_changed(hass, dt_util.utcnow() + ISSUE_DELAY)
        await hass.async_block_till_done()
        assert issues.async_get_issue(DOMAIN, issue_id) is not None
        privacy = {"entity_id": "switch.drive_privacy_mode"}
        await hass.services.async_call("switch", "turn_on", privacy, blocking=True)
        await hass.async_block_till_done()
        assert issues.async_get_issue(DOMAIN, issue_id) is None
        assert runtime.issues.detect_error is None
        await hass.services.async_call("switch", "turn_off", privacy, blocking=True)
        await wait_for(lambda: runtime.issues.detect_error is not None, 20)
        async_fire_time_changed(hass, dt_util.utcnow() + 3 * ISSUE_DELAY)
        await hass.async_block_till_done()
        assert issues.async_get_issue(DOMAIN, issue_id) is not None
        # Then the camera is unloaded: its issue goes with it.
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        assert issues.async_get_issue(DOMAIN, issue_id) is None
    finally:
        await hass.async_add_executor_job(sub.stop)


async def test_no_detection_stream_issue_while_the_whole_camera_is_down(
    hass: HomeAssistant,
) -> None:
    """With the camera unreachable its own issue says it all; once the camera is back
    and only the substream still fails, that one is raised, 5 minutes later."""
    entry = MockConfigEntry(domain=DOMAIN, title="Drive", data={CONF_KIND: "rtsp"})
    entry.add_to_hass(hass)
    issues = ir.async_get(hass)
    camera_issues = CameraIssues(hass, entry)
    down = SourceError(ErrorKind.CANNOT_CONNECT, "no answer")
    camera_issues.async_offline(down)
    camera_issues.async_detection_stream(True, "no answer")
    async_fire_time_changed(hass, dt_util.utcnow() + ISSUE_DELAY)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, camera_issues.unreachable_id) is not None
    assert issues.async_get_issue(DOMAIN, camera_issues.detection_stream_id) is None
    camera_issues.async_online()  # the main stream is back, the substream is not
    assert issues.async_get_issue(DOMAIN, camera_issues.detection_stream_id) is None
    async_fire_time_changed(hass, dt_util.utcnow() + 2 * ISSUE_DELAY)
    await hass.async_block_till_done()
    issue = issues.async_get_issue(DOMAIN, camera_issues.detection_stream_id)
    assert issue is not None and (issue.translation_placeholders or {})["error"] == "no answer"
    # The whole camera goes down again: only its unreachable issue stays up, and the
    # substream's comes back 5 minutes after the camera does.
    camera_issues.async_offline(down)
    assert issues.async_get_issue(DOMAIN, camera_issues.detection_stream_id) is None
    camera_issues.async_online()
    async_fire_time_changed(hass, dt_util.utcnow() + 3 * ISSUE_DELAY)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, camera_issues.detection_stream_id) is not None
    camera_issues.async_remove()
    assert issues.async_get_issue(DOMAIN, camera_issues.detection_stream_id) is None


@pytest.mark.parametrize(
    ("detect_url", "inherits"),
    [
        ("rtsp://192.168.1.20/Streaming/Channels/102", True),  # the camera itself
        ("rtsp://192.168.1.20:554/Streaming/Channels/102", True),  # its default port
        ("rtsp://192.168.1.21/Streaming/Channels/102", False),  # a typo, or a stale address
        ("rtsp://192.168.1.20:8554/sub", False),  # another service on the host
        ("rtsps://192.168.1.20/Streaming/Channels/102", False),
    ],
)
def test_the_main_login_goes_only_to_the_main_streams_host(detect_url: str, inherits: bool) -> None:
    data = {
        CONF_KIND: "rtsp",
        CONF_URL: "rtsp://192.168.1.20/Streaming/Channels/101",
        CONF_USERNAME: RTSP_USER,
        CONF_PASSWORD: RTSP_PASSWORD,
        CONF_DETECT_URL: detect_url,
    }
    config = detect_source_config(data, {})
    assert config is not None
    expected = (RTSP_USER, RTSP_PASSWORD) if inherits else (None, None)
    assert (config.username, config.password) == expected
    # A login of its own is used wherever the detection stream is.
    own = detect_source_config(
        {**data, CONF_DETECT_USERNAME: SUB_USER, CONF_DETECT_PASSWORD: SUB_PASSWORD}, {}
    )
    assert own is not None and (own.username, own.password) == (SUB_USER, SUB_PASSWORD)
