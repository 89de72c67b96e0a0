"""Clips in Home Assistant: services, media source, the clip view, entities, events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from homeassistant.components.media_source import (
    URI_SCHEME,
    Unresolvable,
    async_browse_media,
    async_resolve_media,
)
from homeassistant.const import ATTR_ENTITY_ID, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.privacy_cam.const import DOMAIN
from custom_components.privacy_cam.engine.recording.clipstore import ClipStore

from .conftest import setup_demo, wait_for

CAMERA = "camera.garden"


async def _manual_clip(hass: HomeAssistant, saved: list[Event], duration: int = 2) -> str:
    before = len(saved)
    response = await hass.services.async_call(
        DOMAIN,
        "record_clip",
        {ATTR_ENTITY_ID: CAMERA, "duration": duration},
        blocking=True,
        return_response=True,
    )
    clip_id = response[CAMERA]["clip_id"]  # type: ignore[index]
    await wait_for(lambda: len(saved) > before, duration + 6)
    return str(clip_id)


async def _keyframe_buffered(runtime: Any) -> None:
    """Until the pre-roll buffer holds a keyframe (it starts at one): a clip asked for
    now starts from the keyframe before the call."""
    await wait_for(lambda: len(runtime.pipeline.recorder.buffer) > 0, 10)


async def _more_frames(runtime: Any, count: int) -> None:
    """Until the camera has sent `count` more frames (the demo's 10 fps: count / 10 s of
    video), however slowly a busy machine runs them through."""
    seen = 0

    def on_packet(_packet: Any) -> None:
        nonlocal seen
        seen += 1

    remove = runtime.pipeline.source.add_packet_callback(on_packet)  # after the recorder's
    try:
        await wait_for(lambda: seen >= count, 20)
    finally:
        remove()


async def test_manual_clip_everywhere(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry = await setup_demo(hass)
    await wait_for(lambda: entry.runtime_data.runtime.available, 5)
    image_entity = hass.data["image"].get_entity("image.garden_last_motion")
    assert await image_entity.async_image() is None  # no clip yet
    await _keyframe_buffered(entry.runtime_data.runtime)
    clip_id = await _manual_clip(hass, saved)
    await hass.async_block_till_done()
    event = saved[-1].data
    assert event["clip_id"] == clip_id and event["entity_id"] == CAMERA
    assert event["media_content_id"] == f"{URI_SCHEME}{DOMAIN}/clip/{clip_id}"

    # The file: under the media folder, H.264 MP4 of the right length.
    media = Path(hass.config.media_dirs["local"]) / "privacy_cam" / "garden"
    files = await hass.async_add_executor_job(lambda: list(media.glob(f"*/[!.]*_{clip_id}.mp4")))
    assert len(files) == 1
    with av.open(str(files[0])) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        # 2 s from the call, from the keyframe before it (the demo's GOP is 2 s).
        assert 2.0 <= float(container.duration or 0) / 1e6 <= 4.1

    # Entities.
    last = hass.states.get("sensor.garden_last_clip")
    assert last is not None and last.attributes["clip_id"] == clip_id
    assert last.attributes["media_content_id"] == event["media_content_id"]
    storage = hass.states.get("sensor.garden_storage_used")
    assert storage is not None and float(storage.state) > 0
    client = await hass_client()
    image = hass.states.get("image.garden_last_motion")
    assert image is not None
    response = await client.get("/api/image_proxy/image.garden_last_motion")
    assert response.status == 200 and (await response.read())[:2] == b"\xff\xd8"

    # list_clips.
    listing = await hass.services.async_call(
        DOMAIN, "list_clips", {"camera": CAMERA, "limit": 5}, blocking=True, return_response=True
    )
    clips = listing["clips"]  # type: ignore[index]
    assert [c["id"] for c in clips] == [clip_id]  # type: ignore[index,union-attr]
    first = clips[0]  # type: ignore[index]
    assert first["reason"] == "manual" and first["kept"] is False  # type: ignore[index]
    assert first["thumbnail_url"] == f"/api/privacy_cam/clip/{clip_id}.jpg"  # type: ignore[index]
    assert set(first) >= {"start", "end", "duration", "camera", "media_content_id", "false_alarm"}  # type: ignore[arg-type]

    # Media source: cameras -> days -> clips, and resolving.
    root = await async_browse_media(hass, f"{URI_SCHEME}{DOMAIN}")
    assert [c.title for c in root.children] == ["Garden"]
    camera = await async_browse_media(hass, root.children[0].media_content_id)
    day = await async_browse_media(hass, camera.children[0].media_content_id)
    assert len(day.children) == 1
    item = day.children[0]
    assert item.can_play and " s · manual" in item.title
    assert item.thumbnail == f"/api/privacy_cam/clip/{clip_id}.jpg"
    played = await async_resolve_media(hass, item.media_content_id, None)
    assert played.url == f"/api/privacy_cam/clip/{clip_id}.mp4" and played.mime_type == "video/mp4"
    single = await async_browse_media(hass, item.media_content_id)
    assert single.can_play

    # The view: authenticated, Range for seeking, nothing outside the store.
    response = await client.get(played.url)
    body = await response.read()
    assert response.status == 200 and response.content_type == "video/mp4"
    response = await client.get(played.url, headers={"Range": "bytes=100-199"})
    assert response.status == 206 and len(await response.read()) == 100
    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(played.url)).status == 401
    for bad, status in (
        ("/api/privacy_cam/clip/ffffffffffff.mp4", 404),
        ("/api/privacy_cam/clip/..%2F..%2Fsecrets.mp4", 400),
        ("/api/privacy_cam/clip/%2e%2e.mp4", 400),
        (f"/api/privacy_cam/clip/{clip_id}.txt", 400),
    ):
        assert (await client.get(bad)).status == status, bad
    assert len(body) == files[0].stat().st_size

    # keep_clip / delete_clip.
    await hass.services.async_call(DOMAIN, "keep_clip", {"clip_id": clip_id}, blocking=True)
    assert entry.runtime_data.runtime.shared.store.get(clip_id).kept  # type: ignore[union-attr]
    await hass.services.async_call(DOMAIN, "delete_clip", {"clip_id": clip_id}, blocking=True)
    assert not files[0].exists()
    assert await image_entity.async_image() is None  # its thumbnail went with it
    assert (await client.get(played.url)).status == 404
    with pytest.raises(Unresolvable):
        await async_resolve_media(hass, item.media_content_id, None)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_service_errors_are_translated(hass: HomeAssistant) -> None:
    entry = await setup_demo(hass)
    for service, data, key in (
        ("delete_clip", {"clip_id": "ffffffffffff"}, "clip_not_found"),
        ("keep_clip", {"clip_id": "../../etc"}, "clip_not_found"),
        ("list_clips", {"camera": "camera.nope"}, "unknown_camera"),
        ("reset_learning", {ATTR_ENTITY_ID: "camera.nope"}, "unknown_camera"),
        (
            "list_clips",
            {"start": "2026-11-20T10:00:00", "end": "2026-11-20T09:00:00"},
            "end_before_start",
        ),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                service,
                data,
                blocking=True,
                return_response=service == "list_clips",
            )
        assert err.value.translation_key == key, service
    listing = await hass.services.async_call(
        DOMAIN,
        "list_clips",
        {"start": "2026-11-20T10:00:00+00:00", "end": "2030-01-01T00:00:00"},
        blocking=True,
        return_response=True,
    )
    assert listing == {"clips": []}
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: "switch.garden_privacy_mode"}, blocking=True
    )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "record_clip", {ATTR_ENTITY_ID: CAMERA}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "camera_not_streaming"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_media_source_rejects_unknown_ids(hass: HomeAssistant) -> None:
    entry = await setup_demo(hass)
    for identifier in ("clip/zzz", "clip/ffffffffffff", "../x", "garden/2026-01-01/0", "a/b/c/d"):
        with pytest.raises(Unresolvable):
            await async_browse_media(hass, f"{URI_SCHEME}{DOMAIN}/{identifier}")
    with pytest.raises(Unresolvable):
        await async_resolve_media(hass, f"{URI_SCHEME}{DOMAIN}/garden", None)
    empty = await async_browse_media(hass, f"{URI_SCHEME}{DOMAIN}/garden/2026-01-01")
    assert empty.children == []
    await hass.config_entries.async_unload(entry.entry_id)


async def test_motion_clip_from_the_demo_walker(hass: HomeAssistant) -> None:
    """The walker (3-10 s) makes a motion clip with pre-roll, ended by the post-roll."""
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry = await setup_demo(hass, {"cooldown": 1, "preroll": 2, "postroll": 1})
    await wait_for(lambda: saved, 20)
    clip = entry.runtime_data.runtime.shared.store.get(saved[0].data["clip_id"])
    assert clip is not None and clip.reason == "motion"
    assert clip.event_id == saved[0].data["event_id"]
    # Walker visible ~7 s, + pre-roll (2 s, from a keyframe) + post-roll (1 s).
    assert 7.0 <= clip.duration <= 13.0
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("options", "switch_off"),
    [({"record_mode": "off"}, None), ({"record_mode": "alarms"}, None), ({}, "recording")],
)
async def test_no_clip_when_not_wanted(
    hass: HomeAssistant, options: dict[str, Any], switch_off: str | None
) -> None:
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry = await setup_demo(hass, {"cooldown": 1, "postroll": 1, **options})
    if switch_off:
        await hass.services.async_call(
            "switch", "turn_off", {ATTR_ENTITY_ID: f"switch.garden_{switch_off}"}, blocking=True
        )
    await wait_for(lambda: hass.states.get("binary_sensor.garden_motion").state == "on", 10)  # type: ignore[union-attr]
    await wait_for(lambda: hass.states.get("binary_sensor.garden_motion").state == "off", 12)  # type: ignore[union-attr]
    # Nothing is to happen: give a clip the time it would take (post-roll 1 s) to show.
    await asyncio.sleep(1.5)
    assert saved == []
    await hass.config_entries.async_unload(entry.entry_id)


async def test_interrupted_clips_are_salvaged_at_start(
    hass: HomeAssistant, videos: dict[str, Path]
) -> None:
    """After a power cut: a clip with complete fragments is listed as "interrupted" (and
    plays), a file with none is removed."""
    folder = Path(hass.config.media_dirs["local"]) / "privacy_cam" / "garden" / "2026-11-20"
    torn = folder / ".10-00-00_aaaaaaaaaaaa.part.mp4"
    video = next(iter(videos.values()))

    def crash() -> Path:
        folder.mkdir(parents=True)
        torn.write_bytes(b"cut short by a crash")
        return _abandoned_clip(video, folder / "10-05-00_bbbbbbbbbbbb.mp4")

    salvageable = await hass.async_add_executor_job(crash)
    entry = await setup_demo(hass)
    store = entry.runtime_data.runtime.shared.store
    assert not await hass.async_add_executor_job(torn.exists)
    assert not await hass.async_add_executor_job(salvageable.exists)
    clip = store.get("bbbbbbbbbbbb")
    assert clip is not None and clip.reason == "interrupted" and clip.duration >= 1.0
    assert await hass.async_add_executor_job(_count_frames, store.root / clip.path) >= 10
    await hass.config_entries.async_unload(entry.entry_id)


def _abandoned_clip(video: Path, path: Path) -> Path:
    """A clip whose writer died mid-event; returns its temporary file."""
    import os

    from custom_components.privacy_cam.engine.recording.clipwriter import RemuxWriter

    from .peers.videos import read_packets

    packets, info = read_packets(video, 40)
    writer = RemuxWriter(path, info)
    for packet in packets:
        writer.write(packet)
    os.close(writer._lock_fd or -1)  # what the kernel does when the process dies
    return writer.tmp


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 400 kB file system (tmpfs), to fill up."""
    import os
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    disk = tmp_path / "tiny"
    disk.mkdir()
    subprocess.run(
        ["/usr/bin/mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(disk)], check=True
    )
    yield disk
    subprocess.run(["/usr/bin/umount", str(disk)], check=False)


async def test_full_disk_stops_recording_and_resumes(hass: HomeAssistant, tiny_disk: Path) -> None:
    """A full disk: repair issue, no partial file left, then recovery once there is room."""
    from homeassistant.helpers import issue_registry as ir

    hass.config.media_dirs = {"local": str(tiny_disk)}
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry = await setup_demo(hass, {"record_mode": "off"})
    runtime = entry.runtime_data.runtime
    runtime.shared.retention.min_free_bytes = 100_000  # resume once 50 kB are free
    await wait_for(lambda: runtime.available, 5)
    await _keyframe_buffered(runtime)
    await hass.services.async_call(
        DOMAIN,
        "record_clip",
        {ATTR_ENTITY_ID: CAMERA, "duration": 12},
        blocking=True,
        return_response=True,
    )
    issue_id = f"disk_full_{entry.entry_id}"
    await wait_for(lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None, 20)
    assert saved == []
    # The failed write left nothing behind.
    assert not await hass.async_add_executor_job(lambda: list(tiny_disk.rglob("*.part.*")))
    # The index is intact and there is room again: a short clip works, the issue goes.
    clip_id = await _manual_clip(hass, saved, duration=1)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert runtime.shared.store.get(clip_id) is not None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_report_false_alarm_learns_locally(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """A walker's clip reported (even three times) marks the clip, teaches once and learns
    nothing that could hide a person; stored across reloads, visible, resettable."""
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry = await setup_demo(hass, {"cooldown": 1, "preroll": 1, "postroll": 1})
    await wait_for(lambda: saved, 20)  # the demo walker makes a motion clip
    store = entry.runtime_data.runtime.shared.store
    clip = store.get(saved[0].data["clip_id"])
    assert clip is not None and clip.box is not None
    for _ in range(3):
        await hass.services.async_call(
            DOMAIN, "report_false_alarm", {"clip_id": clip.id}, blocking=True
        )
    assert store.get(clip.id).false_alarm  # type: ignore[union-attr]
    motion = hass.states.get("binary_sensor.garden_motion")
    assert motion is not None
    assert motion.attributes["false_alarm_reports"] == 1  # one clip, however often
    assert motion.attributes["learned_nuisance_regions"] == 0  # a walker is no nuisance
    runtime = entry.runtime_data.runtime
    assert runtime.learning.taught(clip.id)
    assert runtime.pipeline.watcher.detector.learned is None

    # Sharing is not possible without a destination: refused, nothing changes.
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "report_false_alarm",
            {"clip_id": clip.id, "share_with": "installer"},
            blocking=True,
        )
    assert err.value.translation_key == "share_destination_not_found"

    # Survives a reload; shows in diagnostics; reset_learning forgets it.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data.runtime
    assert runtime.learning.taught(clip.id)
    # (An unavailable entity has no attributes: wait until the camera streams again.)
    await wait_for(lambda: runtime.available, 5)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["learning"]["lessons"][0]["clip_id"] == clip.id
    await hass.services.async_call(
        DOMAIN, "reset_learning", {ATTR_ENTITY_ID: CAMERA}, blocking=True
    )
    assert runtime.learning.lessons == [] and runtime.pipeline.watcher.detector.learned is None
    motion = hass.states.get("binary_sensor.garden_motion")
    assert motion is not None and motion.attributes["learned_nuisance_regions"] == 0

    # A clip whose camera is gone is still marked.
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.services.async_call(
        DOMAIN, "report_false_alarm", {"clip_id": clip.id}, blocking=True
    )
    assert store.get(clip.id).false_alarm  # type: ignore[union-attr]


async def test_graceful_stop_keeps_the_open_clip(hass: HomeAssistant) -> None:
    """HA stops (SIGTERM) while motion goes on: before the stop stage ends, the open clip
    (pre-roll + event so far) is on disk and in the index."""
    entry = await setup_demo(hass, {"cooldown": 30, "preroll": 2, "postroll": 5})
    runtime = entry.runtime_data.runtime
    await wait_for(lambda: runtime.pipeline.recorder.recording, 20)
    await _more_frames(runtime, 15)  # 1.5 s of the event after its pre-roll
    # What HA's stop does in its "stop integrations" stage, then waits for.
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not runtime.pipeline.recorder.recording
    store = runtime.shared.store
    reloaded = ClipStore(store.root)
    await hass.async_add_executor_job(reloaded.load)
    clips = reloaded.clips(camera=runtime.camera)
    assert len(clips) == 1 and clips[0].reason == "motion"
    assert clips[0].motion is not None and clips[0].motion[0] >= 1.5  # the pre-roll
    path = store.root / clips[0].path
    frames = await hass.async_add_executor_job(_count_frames, path)
    assert frames >= 25  # 10 fps: pre-roll and event so far
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reload_finishes_the_open_clip(hass: HomeAssistant) -> None:
    """An options change (reload) during an event keeps what was recorded so far."""
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry = await setup_demo(hass, {"cooldown": 30, "preroll": 1, "postroll": 5})
    runtime = entry.runtime_data.runtime
    await wait_for(lambda: runtime.pipeline.recorder.recording, 20)
    await _more_frames(runtime, 10)  # 1 s of the event after its 1 s pre-roll
    hass.config_entries.async_update_entry(entry, options={**entry.options, "preroll": 2})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert len(saved) == 1
    clip = runtime.shared.store.get(saved[0].data["clip_id"])
    assert clip is not None and clip.reason == "motion" and clip.duration >= 1.5
    await hass.config_entries.async_unload(entry.entry_id)


async def test_manual_clip_is_as_long_as_asked_soon_after_start(hass: HomeAssistant) -> None:
    """record_clip right after set-up, while the walker's motion clip starts and ends."""
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry = await setup_demo(hass, {"cooldown": 1, "preroll": 1, "postroll": 1})
    await wait_for(lambda: entry.runtime_data.runtime.available, 5)  # (entities need it)
    response = await hass.services.async_call(
        DOMAIN,
        "record_clip",
        {ATTR_ENTITY_ID: CAMERA, "duration": 10},
        blocking=True,
        return_response=True,
    )
    clip_id = response[CAMERA]["clip_id"]  # type: ignore[index]
    store = entry.runtime_data.runtime.shared.store
    await wait_for(lambda: store.get(clip_id) is not None, 20)
    clip = store.get(clip_id)
    assert clip is not None and clip.reason == "manual"
    assert 10.0 <= clip.duration <= 12.1  # from the keyframe before the call
    await hass.config_entries.async_unload(entry.entry_id)


def _count_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _garden(hass: HomeAssistant, unique_id: str) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN, title="Garden", unique_id=unique_id, data={"kind": "demo"}
    )
    entry.add_to_hass(hass)
    return entry


async def _record_on(hass: HomeAssistant, entry: Any) -> str:
    saved: list[Event] = []
    unsubscribe = hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    runtime = entry.runtime_data.runtime
    await wait_for(lambda: runtime.available, 10)
    clip_id = await runtime.async_record_clip(1)
    assert clip_id is not None
    await wait_for(lambda: any(e.data["clip_id"] == clip_id for e in saved), 10)
    unsubscribe()
    return str(clip_id)


async def _clips_of(hass: HomeAssistant, entry: Any) -> list[str]:
    listing = await hass.services.async_call(
        DOMAIN,
        "list_clips",
        {"camera": entry.runtime_data.runtime.camera_entity_id},
        blocking=True,
        return_response=True,
    )
    return [c["id"] for c in listing["clips"]]  # type: ignore[index,union-attr]


async def _restart(hass: HomeAssistant, *entries: Any) -> None:
    """Unload, forget everything in memory (as a restart does), set up in this order."""
    from custom_components.privacy_cam.storage import DATA_STORE

    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)
    hass.data.pop(DATA_STORE, None)
    for entry in entries:
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_two_cameras_of_one_name_keep_their_own_clips(hass: HomeAssistant) -> None:
    """Issue 10: two channels of one recorder, both named "Garden", set up in another
    order after each restart: each keeps its folder and its own clips."""
    assert await async_setup_component(hass, "media_source", {})
    first, second = _garden(hass, "channel1"), _garden(hass, "channel2")
    assert await hass.config_entries.async_setup(first.entry_id)  # sets up both
    await hass.async_block_till_done()
    folders = {e.entry_id: e.runtime_data.runtime.camera for e in (first, second)}
    assert len(set(folders.values())) == 2
    one, two = await _record_on(hass, first), await _record_on(hass, second)
    for order in ((second, first), (first, second), (second, first)):
        await _restart(hass, *order)
        for entry, clip_id in ((first, one), (second, two)):
            runtime = entry.runtime_data.runtime
            assert runtime.camera == folders[entry.entry_id]
            assert runtime.last_clip is not None and runtime.last_clip.id == clip_id
            assert await _clips_of(hass, entry) == [clip_id]
        # The media browser: each camera node lists its own clip.
        root = await async_browse_media(hass, f"{URI_SCHEME}{DOMAIN}")
        assert [c.title for c in root.children] == ["Garden", "Garden"]
        for node in root.children:
            camera = await async_browse_media(hass, node.media_content_id)
            day = await async_browse_media(hass, camera.children[0].media_content_id)
            assert len(day.children) == 1
    # A third "Garden" while the second is not set up: the second keeps its folder.
    third = _garden(hass, "channel3")
    await hass.config_entries.async_unload(second.entry_id)
    await _restart(hass, first, third)
    assert third.runtime_data.runtime.camera not in folders.values()
    assert third.runtime_data.runtime.last_clip is None
    for entry in (first, third):
        await hass.config_entries.async_unload(entry.entry_id)


async def test_clips_from_before_owners_are_claimed_by_their_camera_only(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Migration: clips recorded before owners were kept (no owner) go to the camera
    that was set up then (stored switches, no stored folder), in the folder named as
    before; a camera added later with the same name never gets them."""
    old = _garden(hass, "old")
    assert await hass.config_entries.async_setup(old.entry_id)
    clip_id = await _record_on(hass, old)
    store = old.runtime_data.runtime.shared.store
    await hass.config_entries.async_unload(old.entry_id)

    def _as_before() -> None:
        with store._lock:
            store._clips[clip_id].owner = None
            store._save()

    await hass.async_add_executor_job(_as_before)
    state = hass_storage[f"{DOMAIN}.{old.entry_id}"]["data"]
    assert state.pop("folder") == "garden"
    new = _garden(hass, "new")
    await _restart(hass, new, old)  # the new one first: it must not take the old folder
    assert new.runtime_data.runtime.camera != "garden"
    assert new.runtime_data.runtime.last_clip is None
    assert await _clips_of(hass, new) == []
    runtime = old.runtime_data.runtime
    assert runtime.camera == "garden"
    assert runtime.last_clip is not None and runtime.last_clip.id == clip_id
    assert runtime.last_clip.owner == old.entry_id
    assert await _clips_of(hass, old) == [clip_id]
    for entry in (new, old):
        await hass.config_entries.async_unload(entry.entry_id)
