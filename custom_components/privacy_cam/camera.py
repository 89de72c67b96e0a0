"""Camera entity: stills from the engine, live view via HA stream or MJPEG."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from homeassistant.components.camera import (
    Camera,
    CameraEntityDescription,
    CameraEntityFeature,
    async_get_still_stream,
)
from homeassistant.core import HomeAssistant, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .data import PrivacyCamConfigEntry
from .engine.sources.urls import with_credentials
from .entity import PrivacyCamEntity, PrivacyCamEntityDescription

PARALLEL_UPDATES = 0
MAX_LIVE_FPS = 10.0


@dataclass(frozen=True, kw_only=True)
class PrivacyCamCameraEntityDescription(CameraEntityDescription, PrivacyCamEntityDescription):
    """The camera: unavailable while it is down (not in privacy mode)."""


CAMERA = PrivacyCamCameraEntityDescription(key="camera", translation_key="camera")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([PrivacyCamCamera(entry, CAMERA)])


class PrivacyCamCamera(PrivacyCamEntity, Camera):
    """The camera itself; named after its device."""

    entity_description: PrivacyCamCameraEntityDescription
    _attr_name = None

    def __init__(
        self, entry: PrivacyCamConfigEntry, description: PrivacyCamCameraEntityDescription
    ) -> None:
        PrivacyCamEntity.__init__(self, entry, description)
        Camera.__init__(self)
        config = self.runtime.pipeline.source.config
        # Only RTSP (ours, or a wrapped camera's) goes through HA's stream
        # component; MJPEG and stills are served from frames we already have.
        self._stream_url = config.url if config.url.startswith(("rtsp://", "rtsps://")) else None
        features = CameraEntityFeature.ON_OFF
        if self._stream_url:
            features |= CameraEntityFeature.STREAM
        self._attr_supported_features = features

    @property
    def is_on(self) -> bool:
        return self.runtime.is_on

    @property
    def is_streaming(self) -> bool:
        return self.runtime.available

    @property
    def frame_interval(self) -> float:
        fps = self.runtime.pipeline.source.stats.fps or 1.0
        return 1.0 / min(max(fps, 0.1), MAX_LIVE_FPS)

    async def stream_source(self) -> str | None:
        if self._stream_url is None or not self.runtime.is_on:
            return None
        config = self.runtime.pipeline.source.config
        return with_credentials(self._stream_url, config.username, config.password)

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        if not self.runtime.is_on:
            return None
        return await self.hass.async_add_executor_job(self.runtime.pipeline.still_jpeg, width)

    async def handle_async_mjpeg_stream(self, request: web.Request) -> web.StreamResponse:
        """Serve frames we already pull: no second connection to the camera."""
        return await async_get_still_stream(
            request, self.async_camera_image, "image/jpeg", self.frame_interval
        )

    @property
    def extra_state_attributes(self) -> dict[str, bool]:
        return {"privacy_mode": self.runtime.flags.privacy_mode}

    async def async_record_clip(self, duration: int) -> ServiceResponse:
        """privacy_cam.record_clip: a manual clip starting now."""
        if not self.runtime.is_on or not self.runtime.available:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="camera_not_streaming",
                translation_placeholders={"entity_id": self.entity_id},
            )
        clip_id = await self.runtime.async_record_clip(duration)
        if clip_id is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="disk_full",
                translation_placeholders={"entity_id": self.entity_id},
            )
        return {"clip_id": clip_id}

    async def async_turn_off(self) -> None:
        """Turning the camera off is privacy mode: no frame is pulled at all."""
        await self.runtime.async_set_flag("privacy_mode", True)

    async def async_turn_on(self) -> None:
        await self.runtime.async_set_flag("privacy_mode", False)
