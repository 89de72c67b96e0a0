"""The camera pipeline on the real demo camera: one wiring point, typed outputs."""

from __future__ import annotations

import errno
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from custom_components.privacy_cam.engine import SourceConfig, SourceState, create_source
from custom_components.privacy_cam.engine.motion.detector import MotionSettings
from custom_components.privacy_cam.engine.motion.events import Change, MotionEvent
from custom_components.privacy_cam.engine.pipeline import (
    CameraPipeline,
    ClipSaved,
    DetectionStreamChanged,
    DiskRecovered,
    MotionChanged,
    Output,
    RecordMode,
    RecordPolicy,
    StateChanged,
    WriteFailed,
    wall_time,
)
from custom_components.privacy_cam.engine.recording.clipstore import ClipStore, Retention

from ..conftest import wait_until
from ..peers.rtsp import RtspServer, rtsp_server
from ..peers.videos import MAIN_SIZE, SUB_BAR, SUB_SIZE, WALKER_APPEARS, make_two_streams
from ..scenarios import BACKGROUND


class Outputs:
    """Everything a pipeline reported, in order, from its threads."""

    def __init__(self) -> None:
        self.items: list[Output] = []
        self.lock = threading.Lock()

    def __call__(self, output: Output) -> None:
        with self.lock:
            self.items.append(output)

    def of[T](self, kind: type[T]) -> list[T]:
        with self.lock:
            return [item for item in self.items if isinstance(item, kind)]


def _store(tmp_path: Path) -> ClipStore:
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    return store


def test_demo_camera_from_frame_to_clip(tmp_path: Path) -> None:
    """Source → motion → recorder → store: the walker's event becomes a clip, and the
    outputs say so in order."""
    outputs = Outputs()
    store = _store(tmp_path)
    policy = RecordPolicy(RecordMode.MOTION, preroll=1.0, postroll=1.0)
    pipeline = CameraPipeline(
        create_source(SourceConfig(kind="demo")),
        store,
        "garden",
        MotionSettings(),
        outputs,
        policy=policy,
        owner="entry1",
    )
    pipeline.start()
    try:
        # The walker appears 3 s into the demo.
        wait_until(lambda: outputs.of(MotionChanged), 10)
        wait_until(lambda: pipeline.recorder.recording, 5)
        time.sleep(1.0)  # some of the event on disk
    finally:
        pipeline.stop()  # ends the event, then finishes its clip
        pipeline.close()
    states = [item.state for item in outputs.of(StateChanged)]
    assert SourceState.STREAMING in states and states[-1] is SourceState.STOPPED
    changes = outputs.of(MotionChanged)
    assert [c.change for c in changes] == [Change.STARTED, Change.ENDED]
    assert changes[0].event is changes[1].event
    (saved,) = outputs.of(ClipSaved)
    clip = saved.clip
    assert (clip.reason, clip.event_id, clip.owner, clip.camera) == (
        "motion",
        changes[0].event.id,
        "entry1",
        "garden",
    )
    assert clip.box is not None and clip.motion is not None
    assert store.get(clip.id) is not None and (store.root / clip.thumbnail).stat().st_size > 0
    assert set(pipeline.stats()) >= {"frames", "analysis_frames", "dropped_frames", "reconnects"}
    # Once closed, the source feeds nothing to the pipeline's stages.
    pipeline.source.start()
    try:
        pipeline.source.wait_ready(10)
        time.sleep(0.3)
        assert len(pipeline.recorder.buffer) == 0 and len(pipeline.frames) == 0
    finally:
        pipeline.source.stop()


def _event() -> MotionEvent:
    now = time.monotonic()
    return MotionEvent("e1", start=now - 0.5, last_motion=now, box=(0.4, 0.4, 0.6, 0.6))


@pytest.mark.parametrize(
    ("mode", "recording", "armed", "reason"),
    [
        (RecordMode.MOTION, True, False, "motion"),
        (RecordMode.MOTION, True, True, "alarm"),
        (RecordMode.ALARMS, True, True, "alarm"),
        (RecordMode.ALARMS, True, False, None),
        (RecordMode.MOTION, False, True, None),  # the user's recording switch is off
        (RecordMode.OFF, True, True, None),
    ],
)
def test_record_on_motion_policy(
    tmp_path: Path, mode: RecordMode, recording: bool, armed: bool, reason: str | None
) -> None:
    outputs = Outputs()
    source = create_source(SourceConfig(kind="demo"))
    pipeline = CameraPipeline(
        source, _store(tmp_path), "garden", MotionSettings(), outputs, policy=RecordPolicy(mode)
    )
    pipeline.recording, pipeline.armed = recording, armed
    source.start()  # the camera streams (its stages are not started: called by hand)
    try:
        source.wait_ready(10)
        event = _event()
        pipeline._on_motion(Change.STARTED, event, None)
        active = list(pipeline.recorder._active)
        assert [a.reason for a in active] == ([reason] if reason else [])
        if reason:
            # From the pre-roll before the event's first motion.
            since = wall_time(event.start) - pipeline.recorder.preroll
            assert active[0].since == pytest.approx(since)
        pipeline._on_motion(Change.ENDED, event, None)
    finally:
        source.stop()
        pipeline.close()
    assert [type(item) for item in outputs.of(MotionChanged)] == [MotionChanged, MotionChanged]


def test_no_clip_of_old_footage_while_the_main_stream_is_down(tmp_path: Path) -> None:
    """An outage drops the pre-roll, and motion seen meanwhile (on a substream) opens no
    clip: a clip never passes footage from before the outage off as the event."""
    source = create_source(SourceConfig(kind="demo"))
    pipeline = CameraPipeline(source, _store(tmp_path), "garden", MotionSettings(), Outputs())
    pipeline.recorder.start()
    source.start()
    try:
        source.wait_ready(10)
        wait_until(lambda: len(pipeline.recorder.buffer) > 0, 10)
    finally:
        source.stop()  # the main stream goes down (stopped or failed alike)
    assert len(pipeline.recorder.buffer) == 0
    pipeline._on_motion(Change.STARTED, _event(), None)
    assert not pipeline.recorder.recording
    pipeline.recorder.stop()
    pipeline.close()


def test_disk_full_latch(tmp_path: Path) -> None:
    """A full disk stops new clips (manual and motion) until there is room again."""
    outputs = Outputs()
    retention = Retention(min_free_bytes=1 << 62)  # no disk has that much room
    pipeline = CameraPipeline(
        create_source(SourceConfig(kind="demo")),
        _store(tmp_path),
        "garden",
        MotionSettings(),
        outputs,
        retention=retention,
    )
    pipeline._on_write_error(OSError(errno.EACCES, "Permission denied"))
    assert not pipeline.disk_full  # only a full disk pauses recording
    pipeline._on_write_error(OSError(errno.ENOSPC, "No space left on device"))
    assert pipeline.disk_full
    assert [item.disk_full for item in outputs.of(WriteFailed)] == [False, True]
    assert pipeline.record_clip(5.0) is None
    pipeline._on_motion(Change.STARTED, _event(), None)
    assert not pipeline.recorder.recording
    retention.min_free_bytes = 0  # room again
    assert pipeline.record_clip(5.0) is not None
    assert not pipeline.disk_full and len(outputs.of(DiskRecovered)) == 1
    pipeline.close()


def test_a_failing_consumer_does_not_stop_the_camera(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(output: Output) -> None:
        raise RuntimeError("consumer bug")

    source = create_source(SourceConfig(kind="demo"))
    pipeline = CameraPipeline(source, _store(tmp_path), "garden", MotionSettings(), broken)
    pipeline.start()
    try:
        source.wait_ready(10)
        wait_until(lambda: pipeline.watcher.frames_analysed > 3, 10)
        assert pipeline.source.running
    finally:
        pipeline.stop()
        pipeline.close()
    assert "Camera output handler failed on StateChanged" in caplog.text


# Two streams: detect on the substream, record the main one ---------------------------


@pytest.fixture(scope="module")
def two_streams(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_two_streams(tmp_path_factory.mktemp("streams"))


@pytest.fixture(scope="module")
def two_streams_h265(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An H.265 main stream and an H.264 substream, as many cameras send by default."""
    return make_two_streams(tmp_path_factory.mktemp("streams_h265"), main_encoder="libx265")


def _two_stream_pipeline(
    main_url: str, sub_url: str, store: ClipStore, outputs: Outputs
) -> CameraPipeline:
    main = create_source(SourceConfig(kind="rtsp", url=main_url, decode=False))
    sub = create_source(SourceConfig(kind="rtsp", url=sub_url, backoff_min=0.2, backoff_max=1.0))
    policy = RecordPolicy(RecordMode.MOTION, preroll=1.0, postroll=1.0)
    return CameraPipeline(
        main, store, "garden", MotionSettings(), outputs, policy=policy, detect_source=sub
    )


@pytest.mark.parametrize("main_codec", ["h264", "hevc"])
def test_detects_on_the_substream_and_records_the_main_stream(
    tmp_path: Path, main_codec: str, request: pytest.FixtureRequest
) -> None:
    streams = "two_streams" if main_codec == "h264" else "two_streams_h265"
    main_video, sub_video = request.getfixturevalue(streams)
    outputs = Outputs()
    store = _store(tmp_path)
    with rtsp_server(main_video, f"/sub={sub_video}") as server:
        pipeline = _two_stream_pipeline(server.url(), server.url("/sub"), store, outputs)
        pipeline.start()
        try:
            wait_until(lambda: outputs.of(MotionChanged), 15)
            wait_until(lambda: pipeline.recorder.recording, 5)
            time.sleep(2.0)  # some of the event on disk
            # A still of the main stream: its latest keyframe, decoded on demand.
            still = pipeline.source.still_jpeg()
        finally:
            pipeline.stop()
            pipeline.close()
    assert still is not None and still.startswith(b"\xff\xd8")
    assert pipeline.source.stats.decoded_frames == 0  # the main stream was never decoded
    assert pipeline.detect_source is not None and pipeline.detect_source.stats.decoded_frames > 0
    bars = SUB_BAR / SUB_SIZE[1]
    assert pipeline._content == pytest.approx((0.0, bars, 1.0, 1 - bars), abs=0.01)
    event = outputs.of(MotionChanged)[0].event
    x0, y0, _x1, y1 = event.box
    # Fractions of the main picture: the walker is in its right half, not on the bars.
    assert x0 >= 0.5 and 0.3 <= y0 < y1 <= 1.0
    (saved,) = outputs.of(ClipSaved)
    with av.open(str(store.root / saved.clip.path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == MAIN_SIZE  # recorded at full resolution
        assert stream.codec_context.name == main_codec  # as the camera sent it
        # H.265 as 'hvc1', the sample entry Apple's players need.
        assert stream.codec_tag == {"h264": "avc1", "hevc": "hvc1"}[main_codec]
        frames = len(list(container.decode(stream)))  # every frame decodes
    assert frames >= saved.clip.duration * 10 - 2  # (10 fps)
    thumbnail = av.open(str(store.root / saved.clip.thumbnail))
    with thumbnail:
        picture = next(thumbnail.decode(video=0))
    # The thumbnail is the main picture (no bars), and the walker is in its right half.
    assert picture.width / picture.height == pytest.approx(16 / 9, abs=0.02)
    gray = picture.to_ndarray(format="gray").astype(np.int16)
    still = av.VideoFrame.from_ndarray(BACKGROUND.astype(np.uint8), "rgb24")
    empty = still.reformat(picture.width, picture.height).to_ndarray(format="gray")
    walker = np.argwhere(np.abs(gray - empty.astype(np.int16)) > 60)
    assert walker.size and walker[:, 1].min() >= picture.width * 0.5


def test_a_single_h265_stream_is_watched_and_recorded(
    tmp_path: Path, two_streams_h265: tuple[Path, Path]
) -> None:
    """A camera with only an H.265 stream: decoded for detection, remuxed for the clip."""
    main_video, _sub_video = two_streams_h265
    outputs = Outputs()
    store = _store(tmp_path)
    with rtsp_server(main_video) as server:
        source = create_source(SourceConfig(kind="rtsp", url=server.url()))
        policy = RecordPolicy(RecordMode.MOTION, preroll=1.0, postroll=1.0)
        pipeline = CameraPipeline(source, store, "porch", MotionSettings(), outputs, policy=policy)
        pipeline.start()
        try:
            wait_until(lambda: outputs.of(MotionChanged), 15)
            wait_until(lambda: pipeline.recorder.recording, 5)
            time.sleep(2.0)
        finally:
            pipeline.stop()
            pipeline.close()
    assert source.stats.codec == "hevc" and source.stats.decoded_frames > 0
    assert outputs.of(MotionChanged)[0].event.box[0] >= 0.5  # the walker's right half
    (saved,) = outputs.of(ClipSaved)
    assert saved.clip.duration >= 2.0
    with av.open(str(store.root / saved.clip.path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "hevc" and stream.codec_tag == "hvc1"
        assert (stream.width, stream.height) == MAIN_SIZE
        assert len(list(container.decode(stream))) >= saved.clip.duration * 10 - 2


def test_detection_falls_back_to_the_main_stream_and_back(
    tmp_path: Path, two_streams: tuple[Path, Path]
) -> None:
    main_video, sub_video = two_streams
    outputs = Outputs()
    with rtsp_server(main_video) as main_server:
        sub_server = RtspServer(sub_video)
        port = sub_server.port
        pipeline = _two_stream_pipeline(
            main_server.url(), sub_server.url(), _store(tmp_path), outputs
        )
        pipeline.start()
        try:
            wait_until(lambda: pipeline.watcher.frames_analysed > 5, 15)
            sub_server.stop()  # the substream dies: the main stream is decoded instead
            wait_until(lambda: pipeline.stats()["detection_stream"]["in_fallback"], 15)
            decoded = pipeline.source.stats.decoded_frames
            wait_until(lambda: pipeline.source.stats.decoded_frames > decoded + 5, 15)
            sub_server = RtspServer(sub_video, port=port)  # and comes back
            wait_until(lambda: not pipeline.stats()["detection_stream"]["in_fallback"], 20)
            decoded = pipeline.source.stats.decoded_frames
            analysed = pipeline.watcher.frames_analysed
            wait_until(lambda: pipeline.watcher.frames_analysed > analysed + 5, 15)
            assert pipeline.source.stats.decoded_frames <= decoded + 1  # main decoding stopped
        finally:
            pipeline.stop()
            pipeline.close()
            sub_server.stop()
    assert pipeline.fallbacks == 1
    # Told once each way, with why it failed (for the repair issue).
    failed, back = outputs.of(DetectionStreamChanged)
    assert failed.failed and failed.error is not None and failed.error.message
    assert not back.failed and back.error is None
    # The camera stayed available: only the main stream's state is the camera's.
    assert all(item.state is not SourceState.FAILED for item in outputs.of(StateChanged))


def test_keyframes_only_detection_dates_the_walker_within_one_keyframe_interval(
    tmp_path: Path,
) -> None:
    """Only the substream's keyframes (every second) are decoded, until one shows something
    new: the rest of its group is decoded to confirm it. The event is dated at the first
    keyframe that shows the walker, so at most one interval after they came in, and
    declared before the next keyframe."""
    main_video, sub_video = make_two_streams(tmp_path, sub_gop=1.0)
    outputs = Outputs()
    keyframes: list[float] = []  # the times of the analysed keyframes
    bursts: list[float] = []  # and of the frames between them, decoded to confirm

    with rtsp_server(main_video, f"/sub={sub_video}") as server:
        main = create_source(SourceConfig(kind="rtsp", url=server.url(), decode=False))
        sub = create_source(SourceConfig(kind="rtsp", url=server.url("/sub"), keyframes_only=True))
        sub.add_frame_callback(lambda f: (bursts if f.burst else keyframes).append(f.time))
        pipeline = CameraPipeline(
            main, _store(tmp_path), "garden", MotionSettings(), outputs, detect_source=sub
        )
        pipeline.start()
        try:
            wait_until(lambda: outputs.of(MotionChanged), 15)
            time.sleep(1.5)  # the next keyframe
        finally:
            pipeline.stop()
            pipeline.close()
    interval = sub.stats.keyframe_interval
    assert interval == pytest.approx(1.0, abs=0.1)
    # Keyframes only: one decoded frame per interval, none of the others until the walker.
    assert sub.stats.decoded_frames <= sub.stats.frames / 5
    assert 1 <= sub.stats.bursts <= 2 and sub.stats.burst_frames <= 2 * 10  # 10 fps
    event = outputs.of(MotionChanged)[0].event
    # The event starts at an analysed frame: the k-th keyframe, k intervals into the video.
    keyframe = keyframes.index(event.start)
    assert WALKER_APPEARS <= keyframe * interval <= WALKER_APPEARS + interval
    # Declared on the frames after that keyframe, before the next one.
    assert event.confirmed in bursts
    assert event.start < event.confirmed < keyframes[keyframe + 1]
    assert pipeline.stats()["bursts_confirmed"] == 1
    # Bursts come only once there is something to confirm: none before the walker.
    assert min(bursts) > keyframes[keyframe - 1]
    assert event.box[0] >= 0.5
