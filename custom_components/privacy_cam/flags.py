"""A camera's switches and learned nuisance cells, kept across restarts.

One store per config entry (`privacy_cam.<entry_id>`). It also remembers the
camera's clip folder (see `storage.async_camera_folder`), so a save keeps it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN
from .engine.motion.learning import NuisanceMemory, observe_clip
from .engine.pipeline import CameraPipeline
from .engine.recording.clipstore import Clip, ClipStore

_LOGGER = logging.getLogger(__name__)

STATE_VERSION = 1
LEARNED_KEY = "learned_regions"
FOLDER_KEY = "folder"  # the camera's clip folder, chosen once


@dataclass(slots=True)
class CameraFlags:
    """User switches that must survive restarts (privacy mode before any frame)."""

    motion_detection: bool = True
    armed: bool = False
    privacy_mode: bool = False
    recording: bool = True


FLAG_NAMES = tuple(field.name for field in fields(CameraFlags))


def state_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The camera's switches, learning and clip folder, kept per config entry."""
    return Store(hass, STATE_VERSION, f"{DOMAIN}.{entry_id}")


class CameraState:
    """Flags and learned cells of one camera; `folder` is saved beside them."""

    def __init__(self, hass: HomeAssistant, entry_id: str, folder: str) -> None:
        self.flags = CameraFlags()
        self.learning = NuisanceMemory()
        self.folder = folder
        self.hass = hass
        self._store = state_store(hass, entry_id)

    async def async_load(self) -> None:
        if stored := await self._store.async_load():
            self.flags = CameraFlags(
                **{name: bool(value) for name, value in stored.items() if name in FLAG_NAMES}
            )
            self.learning = NuisanceMemory.from_dict(stored.get(LEARNED_KEY))

    async def async_save(self) -> None:
        data: dict[str, Any] = {name: getattr(self.flags, name) for name in FLAG_NAMES}
        data[LEARNED_KEY] = self.learning.as_dict()
        data[FOLDER_KEY] = self.folder
        await self._store.async_save(data)

    # Local learning ------------------------------------------------------------------

    async def async_learn_from(
        self, clip: Clip, store: ClipStore, pipeline: CameraPipeline
    ) -> bool:
        """Learn what moved in place in a reported clip; True when it taught something.

        The clip is analysed again (in an executor) for the cells where motion stayed
        in place. A clip teaches once: reporting it again teaches nothing.
        """
        if self.learning.taught(clip.id):
            return False
        path = await self.hass.async_add_executor_job(store.file_for, clip.id)
        if path is None:
            return False  # the file is gone: nothing to learn from
        motion = clip.motion
        window = (motion[0], motion[1]) if motion is not None and len(motion) == 2 else None
        try:
            seen = await self.hass.async_add_executor_job(
                observe_clip, path, pipeline.settings, window
            )
        except Exception:  # noqa: BLE001 - a broken clip must not break the report
            _LOGGER.warning("Could not analyse clip %s to learn from it", clip.id)
            return False
        if self.learning.learn(clip.id, seen) is None:
            return False  # the same clip was reported twice at once: it taught already
        await self.async_apply_learning(pipeline)
        await self.async_save()
        return True

    async def async_reset_learning(self, pipeline: CameraPipeline) -> None:
        self.learning.reset()
        await self.async_apply_learning(pipeline)
        await self.async_save()

    async def async_apply_learning(self, pipeline: CameraPipeline) -> None:
        """Hand the learned cells to the detector, between two frames (the watcher's lock)."""
        grid, area = self.learning.learned_grid(), self.learning.max_area
        await self.hass.async_add_executor_job(pipeline.watcher.set_learned, grid, area)


async def async_remove_state(hass: HomeAssistant, entry_id: str) -> None:
    """Forget a removed camera's switches and learning (its clips stay)."""
    await state_store(hass, entry_id).async_remove()
