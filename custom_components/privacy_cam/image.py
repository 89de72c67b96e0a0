"""Image entity: the thumbnail of the latest clip (the frame of peak motion)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import PrivacyCamConfigEntry
from .entity import PrivacyCamEntity, PrivacyCamEntityDescription

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PrivacyCamImageEntityDescription(ImageEntityDescription, PrivacyCamEntityDescription):
    """Stored data: usable while the camera is down."""

    follows_camera: bool = False


LAST_MOTION_IMAGE = PrivacyCamImageEntityDescription(
    key="last_motion_image", translation_key="last_motion"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([LastMotionImage(hass, entry)])


class LastMotionImage(PrivacyCamEntity, ImageEntity):
    entity_description: PrivacyCamImageEntityDescription
    _attr_content_type = "image/jpeg"

    def __init__(self, hass: HomeAssistant, entry: PrivacyCamConfigEntry) -> None:
        PrivacyCamEntity.__init__(self, entry, LAST_MOTION_IMAGE)
        ImageEntity.__init__(self, hass)
        self._clip_id: str | None = None
        self._async_update_from_runtime()

    @callback
    def _async_update_from_runtime(self) -> None:
        """A new clip is a new image: its start is when the image changed."""
        clip = self.runtime.last_clip
        if clip is not None and clip.id != self._clip_id:
            self._clip_id = clip.id
            self._attr_image_last_updated = datetime.fromtimestamp(clip.start, UTC)

    async def async_image(self) -> bytes | None:
        if self._clip_id is None:
            return None
        return await self.hass.async_add_executor_job(self._read_thumbnail, self._clip_id)

    def _read_thumbnail(self, clip_id: str) -> bytes | None:
        """Disk work, in an executor: the store checks the path before it is read."""
        path = self.runtime.shared.store.file_for(clip_id, thumbnail=True)
        return None if path is None else path.read_bytes()
