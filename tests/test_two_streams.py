"""An RTSP camera with a detection stream, in Home Assistant: motion from the substream,
clips from the main stream, and no credential of either stream in the diagnostics."""

from __future__ import annotations

import json
from collections.abc import Iterator

import av
import pytest
import pytest_socket
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
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
from custom_components.privacy_cam.source_config import detect_source_config

from .conftest import RTSP_PASSWORD, RTSP_USER, wait_for
from .peers.rtsp import RtspServer
from .peers.videos import MAIN_SIZE, make_two_streams

SUB_USER, SUB_PASSWORD = "substream", "Sub-Secret-31"


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    """A camera whose main and substream (with its own login) share one server."""
    main, sub = make_two_streams(tmp_path_factory.mktemp("two_streams"))
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
