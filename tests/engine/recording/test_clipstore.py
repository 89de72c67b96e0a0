"""The clip store: index across restarts, reconciling with the folder, retention."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from custom_components.privacy_cam.engine.recording.clipstore import (
    Clip,
    ClipStore,
    Retention,
    camera_slug,
)

from ...peers.videos import make_h264

DAY = 86400.0


@pytest.fixture(scope="module")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_h264(tmp_path_factory.mktemp("sample") / "s.mp4", seconds=2.0)


def _add(
    store: ClipStore, sample: Path, clip_id: str, start: float, camera: str = "garden"
) -> Clip:
    video, thumb = store.new_paths(camera, start, clip_id)
    shutil.copy(sample, video)
    thumb.write_bytes(b"\xff\xd8thumb")
    clip = Clip(
        clip_id,
        camera,
        start,
        2.0,
        "motion",
        video.relative_to(store.root).as_posix(),
        video.stat().st_size,
    )
    store.add(clip)
    return clip


def test_layout_and_index_survive_restart(tmp_path: Path, sample_mp4: Path) -> None:
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    start = time.mktime((2026, 11, 20, 14, 32, 5, 0, 0, -1))
    clip = _add(store, sample_mp4, "0123456789ab", start)
    assert clip.path == "garden/2026-11-20/14-32-05_0123456789ab.mp4"
    assert clip.thumbnail.endswith("14-32-05_0123456789ab.jpg")
    store.update(clip.id, kept=True)
    again = ClipStore(tmp_path / "privacy_cam")
    again.load()
    loaded = again.get(clip.id)
    assert loaded is not None and loaded.kept and loaded.duration == 2.0
    assert json.loads((tmp_path / "privacy_cam" / "index.json").read_text())["version"] == 1
    assert again.file_for(clip.id) == (tmp_path / "privacy_cam" / clip.path).resolve()
    assert again.file_for(clip.id, thumbnail=True) is not None
    assert again.update("ffffffffffff", kept=True) is None


def test_reconcile_drops_adopts_and_cleans(tmp_path: Path, sample_mp4: Path) -> None:
    root = tmp_path / "privacy_cam"
    store = ClipStore(root)
    store.load()
    now = time.time()
    gone = _add(store, sample_mp4, "aaaaaaaaaaaa", now - 100)
    kept = _add(store, sample_mp4, "bbbbbbbbbbbb", now - 50)
    (root / gone.path).unlink()  # deleted by hand
    folder = (root / kept.path).parent
    shutil.copy(sample_mp4, folder / "10-00-00_cccccccccccc.mp4")  # a stray clip
    (folder / "11-00-00_dddddddddddd.mp4").write_bytes(b"not a video")  # unplayable
    (folder / ".12-00-00_eeeeeeeeeeee.part.mp4").write_bytes(b"half")  # crash mid-write
    (folder / "notes.txt").write_text("left alone")
    restarted = ClipStore(root)
    restarted.load()
    ids = {c.id for c in restarted.clips()}
    assert ids == {"bbbbbbbbbbbb", "cccccccccccc"}
    adopted = restarted.get("cccccccccccc")
    assert adopted is not None and adopted.reason == "adopted" and adopted.duration > 1.5
    assert not (folder / ".12-00-00_eeeeeeeeeeee.part.mp4").exists()
    assert not (folder / "11-00-00_dddddddddddd.mp4").exists()
    assert (folder / "notes.txt").exists()


def test_corrupt_index_is_rebuilt(tmp_path: Path, sample_mp4: Path) -> None:
    root = tmp_path / "privacy_cam"
    store = ClipStore(root)
    store.load()
    _add(store, sample_mp4, "aaaaaaaaaaaa", time.time())
    (root / "index.json").write_text("{broken")
    again = ClipStore(root)
    again.load()
    assert [c.id for c in again.clips()] == ["aaaaaaaaaaaa"]


def test_retention_by_age_size_and_free_disk(tmp_path: Path, sample_mp4: Path) -> None:
    root = tmp_path / "privacy_cam"
    store = ClipStore(root)
    store.load()
    now = time.time()
    old = _add(store, sample_mp4, "000000000001", now - 20 * DAY)
    old_kept = _add(store, sample_mp4, "000000000002", now - 30 * DAY)
    store.update(old_kept.id, kept=True)
    short = _add(store, sample_mp4, "000000000003", now - 3 * DAY, camera="door")
    recent = [_add(store, sample_mp4, f"00000000001{i}", now - i * 60) for i in range(4)]
    deleted = store.enforce(Retention(max_age_days={"door": 2.0}), now)
    assert set(deleted) == {old.id, short.id}
    assert not (root / old.path).exists() and not (root / old.thumbnail).exists()
    size = recent[0].size
    # Size cap: the oldest unprotected go first, kept clips stay.
    deleted = store.enforce(Retention(max_total_bytes=size * 3), now)
    assert deleted == [recent[3].id, recent[2].id]
    assert store.get(old_kept.id) is not None
    # Free-disk floor that cannot be met: everything unprotected goes, nothing crashes.
    deleted = store.enforce(Retention(min_free_bytes=store.free_bytes() * 10), now)
    assert {c.id for c in store.clips()} == {old_kept.id}
    assert not store.disk_ok(Retention(min_free_bytes=store.free_bytes() * 10))
    assert store.disk_ok(Retention())


def test_queries_and_paths(tmp_path: Path, sample_mp4: Path) -> None:
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    base = time.mktime((2026, 11, 20, 23, 0, 0, 0, 0, -1))
    a = _add(store, sample_mp4, "aaaaaaaaaaaa", base)
    b = _add(store, sample_mp4, "bbbbbbbbbbbb", base + 7200, camera="door")
    assert [c.id for c in store.clips()] == [b.id, a.id]
    assert [c.id for c in store.clips(camera="door")] == [b.id]
    assert [c.id for c in store.clips(since=base + 3600)] == [b.id]
    assert [c.id for c in store.clips(until=base + 10)] == [a.id]
    assert store.days(store.clips()) == ["2026-11-21", "2026-11-20"]
    # The owner's time zone decides the day, not the process's.
    from zoneinfo import ZoneInfo

    tokyo = ClipStore(tmp_path / "privacy_cam", ZoneInfo("Asia/Tokyo"))
    assert tokyo.day(a) != store.day(a) or time.timezone == -9 * 3600
    assert tokyo.local(a.start).utcoffset() is not None
    assert store.used_bytes("door") == b.size and store.used_bytes() == a.size + b.size
    for bad in ("../../etc/passwd", "AAAAAAAAAAAA", "short", "ffffffffffff"):
        assert store.file_for(bad) is None
    with pytest.raises(ValueError):
        store.new_paths("../x", base, "aaaaaaaaaaaa")
    assert store.delete(a.id) and not store.delete(a.id)
    assert camera_slug("Front Door (cam 1)") == "front_door_cam_1"
    assert camera_slug("!!!") == "camera"


def test_an_index_entry_never_reaches_outside_the_store(tmp_path: Path) -> None:
    """Someone who can write the media share edits index.json to point a clip at another
    file: retention and delete_clip must not delete it."""
    import json as _json

    victim = tmp_path / "config" / "secrets.yaml"
    victim.parent.mkdir()
    victim.write_text("api_key: x\n")
    root = tmp_path / "media" / "privacy_cam"
    root.mkdir(parents=True)
    old = time.time() - 90 * 86400
    entries = [
        {
            "id": "aaaaaaaaaaaa",
            "camera": "garden",
            "start": old,
            "duration": 1.0,
            "reason": "motion",
            "path": "../../config/secrets.yaml",
            "size": 10,
        },
        {
            "id": "bbbbbbbbbbbb",
            "camera": "garden",
            "start": old,
            "duration": 1.0,
            "reason": "motion",
            "path": "garden/2026-01-01/../../../config/secrets.yaml",
            "size": 10,
        },
    ]
    (root / "index.json").write_text(_json.dumps({"version": 1, "clips": entries}))
    store = ClipStore(root)
    store.load()
    assert store.clips() == []
    store.enforce(Retention(max_age_days={"garden": 1.0}))
    store.delete("aaaaaaaaaaaa")
    assert victim.exists()


def test_owners_survive_restarts_and_are_never_taken(tmp_path: Path, sample_mp4: Path) -> None:
    """A clip records who made it; claiming gives only clips without an owner away."""
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    now = time.time()
    mine = _add(store, sample_mp4, "0123456789aa", now - 30)
    legacy = _add(store, sample_mp4, "0123456789ab", now - 20)
    theirs = _add(store, sample_mp4, "0123456789ac", now - 10)
    with store._lock:
        store._clips[mine.id].owner = "entry-a"
        store._clips[theirs.id].owner = "entry-b"
        store._save()
    assert store.folder_owners("garden") == {"entry-a", "entry-b", None}
    assert store.folder_owners("porch") == set()
    assert store.claim("porch", "entry-a") == 0
    assert store.claim("garden", "entry-a") == 1  # only the clip without an owner
    assert store.claim("garden", "entry-c") == 0
    again = ClipStore(tmp_path / "privacy_cam")
    again.load()
    owners = {c.id: c.owner for c in again.clips()}
    assert owners == {mine.id: "entry-a", legacy.id: "entry-a", theirs.id: "entry-b"}
    assert [c.id for c in again.clips(owner="entry-a")] == [legacy.id, mine.id]
    assert [c.id for c in again.clips(camera="garden", owner="entry-b")] == [theirs.id]
    assert again.clips(owner="entry-c") == []
    assert again.used_bytes(owner="entry-b") == theirs.size
    assert again.used_bytes(owner="entry-a") == mine.size + legacy.size
    # An index from before owners were kept still loads: its clips have no owner.
    index = tmp_path / "privacy_cam" / "index.json"
    data = json.loads(index.read_text())
    for item in data["clips"]:
        del item["owner"]
    index.write_text(json.dumps(data))
    old = ClipStore(tmp_path / "privacy_cam")
    old.load()
    assert {c.owner for c in old.clips()} == {None}
