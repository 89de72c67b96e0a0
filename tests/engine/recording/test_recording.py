"""Clips: pre-roll really holds earlier frames, remux without re-encoding, MP4 checks."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av
import pytest

from custom_components.privacy_cam.engine import SourceConfig, create_source
from custom_components.privacy_cam.engine.motion.detector import MotionSettings
from custom_components.privacy_cam.engine.pipeline import (
    CameraPipeline,
    ClipSaved,
    Output,
    RecordMode,
    RecordPolicy,
    WriteFailed,
)
from custom_components.privacy_cam.engine.recording.clipstore import Clip, ClipStore
from custom_components.privacy_cam.engine.recording.clipwriter import encode_jpegs, remux_packets
from custom_components.privacy_cam.engine.recording.preroll import PrerollBuffer
from custom_components.privacy_cam.engine.recording.recorder import ClipRecorder
from custom_components.privacy_cam.engine.sources.frames import EncodedPacket, JpegFrame, StreamInfo
from custom_components.privacy_cam.engine.sources.source import Source

from ...peers.http_camera import HttpCamera
from ...peers.videos import make_numbered, read_number, read_packets

FPS = 10


def check_mp4(path: Path) -> tuple[list[int], float]:
    """Assert a browser-playable clip; return the frame numbers and the duration."""
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "moov must come first (faststart)"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert not container.streams.audio
        duration = float(container.duration or 0) / 1_000_000
        frames = list(container.decode(stream))
    assert frames and frames[0].key_frame
    return [read_number(f) for f in frames], duration


@pytest.fixture(scope="module")
def numbered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_numbered(tmp_path_factory.mktemp("numbered") / "numbered.mp4", seconds=30)


def test_preroll_buffer_keeps_a_keyframe_start() -> None:
    buffer: PrerollBuffer[JpegFrame | EncodedPacket] = PrerollBuffer(2.0)
    packets = [
        EncodedPacket(
            b"x" * 100, i, i, __import__("fractions").Fraction(1, 10), i % 10 == 0, i / 10
        )
        for i in range(1, 80)
    ]
    for packet in packets:
        buffer.add(packet)
    items = buffer.since(0.0)
    # Starts at the keyframe at or before now - 2 s; never more than pre-roll + one GOP.
    assert items[0].is_keyframe
    assert 2.0 <= items[-1].wall - items[0].wall <= 3.0
    assert buffer.size_bytes == 100 * len(buffer)
    since = buffer.since(7.25)
    assert since[0].wall == 7.0 and since[0].is_keyframe
    buffer.clear()
    assert len(buffer) == 0 and buffer.since(0) == []


def _recorder(
    source: Source, store: ClipStore, **policy: float
) -> tuple[CameraPipeline, ClipRecorder, list[Clip], threading.Event]:
    """A camera that records only when told to: motion runs, record mode off."""
    clips: list[Clip] = []
    done = threading.Event()

    def on_output(output: Output) -> None:
        if isinstance(output, ClipSaved):
            clips.append(output.clip)
            done.set()

    pipeline = CameraPipeline(
        source,
        store,
        "garden",
        MotionSettings(),
        on_output,
        policy=RecordPolicy(RecordMode.OFF, **policy),
    )
    return pipeline, pipeline.recorder, clips, done


def test_motion_clip_has_preroll_and_postroll(tmp_path: Path, numbered: Path) -> None:
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    source = create_source(SourceConfig(kind="file", url=str(numbered), realtime=True))
    pipeline, recorder, clips, done = _recorder(source, store, preroll=2.0, postroll=1.0)
    pipeline.start()
    try:
        time.sleep(4.0)
        motion_at = time.time()
        clip_id = recorder.begin("motion", "event1", since=motion_at - 2.0)
        assert recorder.recording
        assert recorder.begin("motion", "event1", since=time.time()) == clip_id  # same event
        time.sleep(1.5)
        ended_at = time.time()
        recorder.end("event1", ended_at)
        assert done.wait(5)
    finally:
        pipeline.stop()
        pipeline.close()
    clip = clips[0]
    numbers, duration = check_mp4(store.root / clip.path)
    # Frame numbers are consecutive: nothing dropped, nothing re-ordered.
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    # Pre-roll: the clip starts at the keyframe at or before motion - 2 s.
    frame_at_motion = numbers[0] + round((motion_at - clip.start) * FPS)
    assert numbers[0] % 10 == 0
    assert 20 <= frame_at_motion - numbers[0] <= 20 + 10 + 2
    # Post-roll: it runs about one second past the end of the event.
    expected = (ended_at + 1.0) - clip.start
    assert abs(duration - expected) <= 0.5
    assert abs(clip.duration - duration) <= 0.5
    assert (clip.reason, clip.event_id, clip.part, clip.camera) == ("motion", "event1", 1, "garden")
    assert (store.root / clip.thumbnail).read_bytes()[:2] == b"\xff\xd8"
    assert store.get(clip.id) is not None


def test_manual_clip_duration_and_long_events_split(tmp_path: Path, numbered: Path) -> None:
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    source = create_source(SourceConfig(kind="file", url=str(numbered), realtime=True))
    pipeline, recorder, clips, _ = _recorder(source, store, preroll=0.0, max_length=2.0)
    pipeline.start()
    try:
        time.sleep(1.2)
        recorder.begin("manual", None, since=time.time(), duration=1.5)
        time.sleep(2.5)
        assert len(clips) == 1 and not recorder.recording
        # A 5 s event with 2 s parts: split at keyframes, linked by the event id.
        recorder.begin("motion", "long", since=time.time())
        time.sleep(5.2)
        recorder.end("long", time.time() - 1.0)
        time.sleep(1.0)
    finally:
        pipeline.stop()
        pipeline.close()
    manual = clips[0]
    _, duration = check_mp4(store.root / manual.path)
    assert abs(duration - 1.5) <= 0.5
    parts = [c for c in clips if c.event_id == "long"]
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))
    assert len(parts) >= 2
    for part in parts:
        numbers, part_duration = check_mp4(store.root / part.path)
        assert numbers[0] % 10 == 0 and part_duration <= 2.0 + 0.5


def test_mjpeg_clip_is_encoded(tmp_path: Path, http_camera: HttpCamera) -> None:
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    source = create_source(SourceConfig(kind="mjpeg", url=http_camera.url("/mjpeg")))
    pipeline, recorder, clips, done = _recorder(source, store, preroll=1.0, postroll=0.5)
    pipeline.start()
    try:
        time.sleep(1.5)
        recorder.begin("alarm", "e", since=time.time() - 1.0)
        time.sleep(1.0)
        recorder.end("e", time.time())
        assert done.wait(5)
    finally:
        pipeline.stop()
        pipeline.close()
    data = (store.root / clips[0].path).read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    with av.open(str(store.root / clips[0].path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (stream.width, stream.height) == (320, 240)
        assert abs(float(container.duration or 0) / 1e6 - 2.5) <= 0.6


def test_writers_refuse_bad_input(tmp_path: Path) -> None:
    info = StreamInfo("h264", 320, 240)
    from fractions import Fraction

    not_key = EncodedPacket(b"\x00", 0, 0, Fraction(1, 10), False, 0.0)
    with pytest.raises(ValueError, match="keyframe"):
        remux_packets([not_key], info, tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="no frames"):
        encode_jpegs([], tmp_path / "b.mp4")
    assert not list(tmp_path.iterdir())


def test_encoder_skips_bad_stills_and_repeated_times(tmp_path: Path) -> None:
    from ...peers.videos import jpeg_frames

    images = jpeg_frames(10)
    stills = [JpegFrame(data, 100.0 + i * 0.2) for i, data in enumerate(images)]
    stills.insert(3, JpegFrame(b"\xff\xd8 broken", 100.5))  # a torn still mid-clip
    stills.insert(6, JpegFrame(images[0], stills[5].wall))  # same arrival time twice
    duration = encode_jpegs(stills, tmp_path / "clip.mp4")
    with av.open(str(tmp_path / "clip.mp4")) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 10
    assert abs(duration - 2.0) <= 0.3


def test_remux_times_packets_without_time(tmp_path: Path, numbered: Path) -> None:
    """FFmpeg's RTSP client hands on a session's first keyframe without a time: it is
    kept (one frame before the next), as is any other untimed packet."""
    packets, info = read_packets(numbered, 30)
    from dataclasses import replace

    untimed = [replace(packets[0], pts=None, dts=None), *packets[1:20]]
    broken = [*untimed, replace(packets[20], pts=None, dts=None), *packets[21:30]]
    duration = remux_packets(broken, info, tmp_path / "clip.mp4")
    numbers, _ = check_mp4(tmp_path / "clip.mp4")
    assert numbers == list(range(30)) and abs(duration - 3.0) <= 0.15


def test_recorder_reports_write_errors_and_switches_events(
    tmp_path: Path, numbered: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "privacy_cam"
    store = ClipStore(root)
    store.load()
    (root / "garden").write_text("a file where the camera folder should be")
    errors: list[OSError] = []
    source = create_source(SourceConfig(kind="file", url=str(numbered), realtime=True))
    pipeline, recorder, clips, _ = _recorder(source, store, preroll=1.0)

    def on_output(output: Output) -> None:
        if isinstance(output, WriteFailed):
            errors.append(output.error)
        elif isinstance(output, ClipSaved):
            clips.append(output.clip)

    pipeline.on_output = on_output
    pipeline.start()
    try:
        time.sleep(1.5)
        first = recorder.begin("motion", "one", since=time.time() - 1)
        time.sleep(0.5)
        second = recorder.begin("motion", "two", since=time.time())  # a new event ends the old
        assert second != first
        time.sleep(0.3)
    finally:
        pipeline.stop()
        pipeline.close()
    assert len(errors) == 2 and isinstance(errors[0], OSError)
    assert clips == []
    assert "Could not write a clip for garden" in caplog.text


def test_unreadable_clip_is_logged_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Stills that cannot be decoded at all: the writer logs and carries on."""
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    source = create_source(SourceConfig(kind="snapshot", url="http://127.0.0.1:9/x.jpg"))
    clips: list[Clip] = []
    recorder = ClipRecorder(source, store, "garden", clips.append, preroll=1.0)
    recorder.start()
    now = time.time()
    for index in range(5):
        recorder.add(JpegFrame(b"\xff\xd8 not really a jpeg", now + index * 0.1))
    recorder.begin("manual", None, since=now, duration=0.25)
    recorder.add(JpegFrame(b"\xff\xd8 still not", now + 0.6))
    recorder.stop()
    assert clips == []
    assert "Could not write a clip for garden" in caplog.text


def test_preroll_is_capped_when_a_camera_sends_no_second_keyframe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One keyframe, then only deltas: the buffer never holds more than its byte cap."""
    from dataclasses import dataclass

    from custom_components.privacy_cam.engine.recording import preroll

    @dataclass
    class Item:
        wall: float
        is_keyframe: bool
        data: bytes

    buffer: PrerollBuffer[Item] = PrerollBuffer(5.0)
    chunk = b"\0" * (1 << 20)
    buffer.add(Item(0.0, True, chunk))
    for index in range(1, 200):
        buffer.add(Item(index * 0.1, False, chunk))
        assert buffer.size_bytes <= preroll.MAX_BUFFER_BYTES
    assert buffer.overflows >= 1
    assert caplog.text.count("without a second keyframe") == 1
    buffer.add(Item(30.0, True, chunk))  # the next keyframe starts it again
    assert len(buffer) == 1
