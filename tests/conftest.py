"""Shared fixtures: real camera peers on 127.0.0.1 and Home Assistant helpers."""

# Import our package first: the harness ships its own `custom_components`
# package, which would otherwise shadow ours.
from custom_components.privacy_cam.const import DOMAIN  # isort: skip

import asyncio
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_socket
from homeassistant.components.camera import Camera
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .peers.http_camera import HttpCamera
from .peers.rtsp import RtspServer
from .peers.rtsp import rtsp_server as rtsp_server_peer
from .peers.videos import make_h264

RTSP_USER, RTSP_PASSWORD = "admin", "rtsp-Secret9"

__all__ = ["DOMAIN"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/privacy_cam."""


@pytest.fixture(autouse=True)
def isolated_media(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Clips, reports and the audit log of Home Assistant tests go to the test's own
    folders, never the harness's."""
    if "hass" in request.fixturenames:
        hass: HomeAssistant = request.getfixturevalue("hass")
        hass.config.media_dirs = {"local": str(tmp_path / "media")}
        hass.config.config_dir = str(tmp_path / "config")


@pytest.fixture
async def hass_client(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> ClientSessionGenerator:
    """HA freezes its HTTP router when the first test client starts: integrations that
    register views (diagnostics) are set up before a test can start one."""
    assert await async_setup_component(hass, "diagnostics", {})
    return hass_client


@pytest.fixture(autouse=True)
def allow_loopback_sockets(socket_enabled: None) -> None:
    """Our tests talk to real peers; the harness still only lets them reach 127.0.0.1."""


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {"small": make_h264(folder / "small.mp4", seconds=40.0)}


def _start_rtsp(videos: dict[str, Path], *extra: str) -> Iterator[RtspServer]:
    pytest_socket.enable_socket()  # session fixtures start before socket_enabled
    with rtsp_server_peer(videos["small"], *extra) as server:
        yield server


@pytest.fixture(scope="session")
def rtsp_server(videos: dict[str, Path]) -> Iterator[RtspServer]:
    yield from _start_rtsp(videos)


@pytest.fixture(scope="session")
def rtsp_auth_server(videos: dict[str, Path]) -> Iterator[RtspServer]:
    yield from _start_rtsp(videos, "--auth", f"{RTSP_USER}:{RTSP_PASSWORD}")


@pytest.fixture(scope="session")
def http_camera() -> Generator[HttpCamera]:
    pytest_socket.enable_socket()  # session fixtures start before socket_enabled
    camera = HttpCamera()
    camera.start()
    yield camera
    camera.stop()


class ForeignCamera(Camera):
    """A camera entity of another integration, for the camera_entity source."""

    _attr_name = "Porch"
    _attr_unique_id = "porch"

    def __init__(self, image: bytes | None, stream: str | None = None) -> None:
        super().__init__()
        self.image = image
        self.stream_url = stream
        self.stream_error: Exception | None = None

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        return self.image

    async def stream_source(self) -> str | None:
        if self.stream_error:
            raise self.stream_error
        return self.stream_url


@pytest.fixture
async def foreign_camera(hass: HomeAssistant, http_camera: HttpCamera) -> ForeignCamera:
    """camera.porch, provided by a test integration, serving real JPEGs."""
    camera = ForeignCamera(http_camera.frames[0])

    async def setup_platform(
        hass: HomeAssistant, config: dict, add_entities: AddEntitiesCallback, discovery_info=None
    ) -> None:
        add_entities([camera])

    mock_integration(hass, MockModule("test"))
    mock_platform(hass, "test.camera", MockPlatform(async_setup_platform=setup_platform))
    assert await async_setup_component(hass, "camera", {"camera": {"platform": "test"}})
    await hass.async_block_till_done()
    return camera


async def setup_demo(hass: HomeAssistant, options: dict[str, Any] | None = None) -> MockConfigEntry:
    """The demo camera as "Garden" (camera.garden), with the media browser set up."""
    assert await async_setup_component(hass, "media_source", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Garden",
        unique_id="demo",
        data={"kind": "demo"},
        options=options or {},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def wait_for(predicate: Any, seconds: float) -> None:
    """Poll (worker threads report through the loop) until `predicate()` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")
