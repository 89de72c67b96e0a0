"""Issue 15 wired: a motion event's crops go to the classifier, its label comes out as
`LabelChanged` and into the clip's index entry. Real sources, recorder, store and worker;
a stand-in only for what the worker loads (a fixed answer) where a test needs one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from custom_components.privacy_cam.engine import SourceConfig, create_source
from custom_components.privacy_cam.engine.classify import (
    Classification,
    ClassifierSettings,
    ClassifierWorker,
    Crop,
    CropPlan,
    Detection,
    Label,
    ModelError,
)
from custom_components.privacy_cam.engine.motion.detector import MotionResult, MotionSettings
from custom_components.privacy_cam.engine.motion.events import Change, MotionEvent
from custom_components.privacy_cam.engine.pipeline import (
    LABELLED_EVENTS,
    CameraPipeline,
    ClipSaved,
    LabelChanged,
    MotionChanged,
    RecordMode,
    RecordPolicy,
)
from custom_components.privacy_cam.engine.recording.clipstore import INDEX_NAME, ClipStore
from custom_components.privacy_cam.engine.sources.demo import DemoScene
from custom_components.privacy_cam.engine.sources.http_sources import SnapshotSource
from custom_components.privacy_cam.engine.sources.jpeg import encode_jpeg
from custom_components.privacy_cam.engine.sources.source import Source

from ..conftest import wait_until
from .test_pipeline import Outputs

VTEST = Path(__file__).parents[1] / "data" / "vtest.avi"
BOX = (0.4, 0.3, 0.6, 0.9)
WAIT = 10.0  # a bound for signals, never what a test waits for when all is well
FAST = CropPlan(max_crops=3, interval=0.01, retry=0.01)
DOG = 16  # COCO index


def _found(label: Label, score: float, *others: tuple[Label, int, float]) -> Classification:
    detections = tuple(Detection(class_id, s, BOX) for _, class_id, s in others)
    return Classification(label, score, detections, 1.0, 1.0, (320, 192))


class FixedClassifier:
    """What the worker loads in these tests: answers in turn (the last one repeats);
    `gate` holds each crop until the test opens it."""

    def __init__(self, *answers: Classification, gate: threading.Event | None = None) -> None:
        self.settings = ClassifierSettings()
        self.answers = list(answers) or [_found(Label.PERSON, 0.8)]
        self.gate = gate
        self.seen: list[Crop] = []

    def classify(self, crop: Crop) -> Classification:
        self.seen.append(crop)
        if self.gate is not None:
            assert self.gate.wait(WAIT)
        answer = self.answers[min(len(self.seen), len(self.answers)) - 1]
        if answer.score < 0:
            raise RuntimeError("model failed")
        return answer


@pytest.fixture
def workers() -> Iterator[list[ClassifierWorker]]:
    started: list[ClassifierWorker] = []
    yield started
    for worker in started:
        worker.stop()


def _worker(
    workers: list[ClassifierWorker], classifier: FixedClassifier, queue_size: int = 2
) -> ClassifierWorker:
    worker = ClassifierWorker(lambda: classifier, queue_size=queue_size)
    worker.start()
    assert worker.wait_ready(WAIT)
    workers.append(worker)
    return worker


def _store(tmp_path: Path) -> ClipStore:
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    return store


def _pipeline(
    tmp_path: Path,
    outputs: Outputs,
    classifier: ClassifierWorker | None,
    *,
    plan: CropPlan | None = FAST,
    threshold: float = 0.5,
    detect_source: Source | None = None,
) -> CameraPipeline:
    return CameraPipeline(
        create_source(SourceConfig(kind="demo")),
        _store(tmp_path),
        "garden",
        MotionSettings(),
        outputs,
        policy=RecordPolicy(RecordMode.MOTION, preroll=1.0, postroll=0.5),
        detect_source=detect_source,
        classifier=classifier,
        label_threshold=threshold,
        crop_plan=plan,
    )


def _event(name: str = "e1") -> MotionEvent:
    now = time.monotonic()
    return MotionEvent(name, start=now - 0.5, last_motion=now, box=BOX)


def _moved(box: tuple[float, float, float, float] = BOX) -> MotionResult:
    return MotionResult(True, 5.0, box)


def _frames(pipeline: CameraPipeline, event: MotionEvent, count: int, *, new: bool = True) -> None:
    """`count` analysed frames of `event` with motion, as the motion thread reports them
    (`new`: the first one starts the event)."""
    for index in range(count):
        change = Change.STARTED if new and index == 0 else Change.UPDATED
        pipeline._on_motion(change, event, _moved())
        time.sleep(0.02)


def _wait_labels(outputs: Outputs, count: int) -> None:
    wait_until(lambda: len(outputs.of(LabelChanged)) == count, WAIT)


@pytest.fixture
def streaming(tmp_path: Path) -> Iterator[list[CameraPipeline]]:
    """Pipelines whose main source streams (their motion thread is driven by hand)."""
    pipelines: list[CameraPipeline] = []
    yield pipelines
    for pipeline in pipelines:
        pipeline.source.stop()
        pipeline.recorder.stop()
        pipeline.close()


def _streaming(pipelines: list[CameraPipeline], pipeline: CameraPipeline) -> CameraPipeline:
    pipelines.append(pipeline)
    pipeline.recorder.start()
    pipeline.source.start()
    pipeline.source.wait_ready(WAIT)
    wait_until(lambda: pipeline.source.still_rgb() is not None, WAIT)
    return pipeline


# Without a classifier ------------------------------------------------------------------


def test_without_a_classifier_nothing_changes(
    tmp_path: Path, streaming: list[CameraPipeline]
) -> None:
    outputs = Outputs()
    pipeline = _streaming(streaming, _pipeline(tmp_path, outputs, None))
    event = _event()
    _frames(pipeline, event, 3)
    pipeline._on_motion(Change.ENDED, event, None)
    assert pipeline.classifier is None
    assert [c.change for c in outputs.of(MotionChanged)] == [Change.STARTED, Change.ENDED]
    assert outputs.of(LabelChanged) == []
    assert pipeline.event_label(event.id) is None
    assert "classify" not in pipeline.stats()


# The real model on real footage ----------------------------------------------------------


@pytest.fixture(scope="module")
def vtest_h264(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vtest.avi's first 20 s as H.264 (its MS-MPEG4 is analysed but never recorded)."""
    path = tmp_path_factory.mktemp("vtest") / "vtest.mp4"
    with av.open(str(VTEST)) as source, av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 768, 576, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "10"}
        for index, frame in enumerate(source.decode(video=0)):
            if index >= 200:
                break
            picture = frame.reformat(format="yuv420p")
            picture.pts, picture.time_base = index, Fraction(1, 10)
            output.mux(stream.encode(picture))
        output.mux(stream.encode(None))
    return path


def test_the_real_model_labels_pedestrians_person_into_the_clip_index(
    tmp_path: Path, vtest_h264: Path
) -> None:
    outputs = Outputs()
    worker = ClassifierWorker()  # NanoDet-m, as bundled
    worker.start()
    source = create_source(SourceConfig(kind="file", url=str(vtest_h264), realtime=True))
    store = _store(tmp_path)
    pipeline = CameraPipeline(
        source,
        store,
        "street",
        MotionSettings(),
        outputs,
        policy=RecordPolicy(RecordMode.MOTION, preroll=1.0, postroll=0.5),
        classifier=worker,
    )
    pipeline.start()
    try:
        assert worker.wait_ready(WAIT), worker.unavailable_reason
        wait_until(lambda: any(o.label is Label.PERSON for o in outputs.of(LabelChanged)), 20)
        wait_until(lambda: pipeline.recorder.recording, WAIT)
        stats = stats_of(pipeline)
    finally:
        pipeline.stop()
        pipeline.close()
        worker.stop()
    labelled = next(o for o in outputs.of(LabelChanged) if o.label is Label.PERSON)
    assert labelled.confidence >= 0.5
    assert pipeline.event_label(labelled.event.id) == (Label.PERSON, labelled.confidence)
    saved = [s.clip for s in outputs.of(ClipSaved) if s.clip.event_id == labelled.event.id]
    assert saved and all(clip.label == "person" for clip in saved)
    stored = store.get(saved[0].id)
    assert stored is not None and stored.label == "person"
    assert stored.confidence == pytest.approx(labelled.confidence, abs=1e-3)
    assert isinstance(submitted := stats["crops_submitted"], int) and submitted >= 1
    assert stats["events_labelled"] == 1 and stats["unavailable_reason"] is None


# The demo camera end to end ---------------------------------------------------------------


def test_the_demo_walker_is_labelled_and_the_label_reaches_the_clip(
    tmp_path: Path, workers: list[ClassifierWorker]
) -> None:
    outputs = Outputs()
    classifier = FixedClassifier(_found(Label.PERSON, 0.7))
    pipeline = _pipeline(tmp_path, outputs, _worker(workers, classifier), plan=None)
    pipeline.start()
    try:
        wait_until(lambda: outputs.of(LabelChanged), 15)
        wait_until(lambda: pipeline.recorder.recording, WAIT)
    finally:
        pipeline.stop()
        pipeline.close()
    started = outputs.of(MotionChanged)[0]
    (label,) = outputs.of(LabelChanged)  # the same answer again changes nothing
    assert (label.event, label.label, label.confidence) == (started.event, Label.PERSON, 0.7)
    assert outputs.items.index(started) < outputs.items.index(label)
    # The crop is of the demo's colour picture, around the walker.
    crop = classifier.seen[0]
    assert crop.image.ndim == 3 and crop.image.shape[2] == 3 and crop.image.std() > 0
    (saved,) = outputs.of(ClipSaved)
    assert (saved.clip.label, saved.clip.confidence) == ("person", 0.7)
    stored = pipeline.store.get(saved.clip.id)
    assert stored is not None and (stored.label, stored.confidence) == ("person", 0.7)


# Labels, threshold and priority -------------------------------------------------------


def test_a_label_under_the_threshold_is_none(
    tmp_path: Path, workers: list[ClassifierWorker], streaming: list[CameraPipeline]
) -> None:
    outputs = Outputs()
    worker = _worker(workers, FixedClassifier(_found(Label.PERSON, 0.3)))
    pipeline = _streaming(streaming, _pipeline(tmp_path, outputs, worker))
    event = _event()
    _frames(pipeline, event, 1)
    wait_until(lambda: outputs.of(LabelChanged), WAIT)
    (label,) = outputs.of(LabelChanged)
    assert (label.label, label.confidence) == (Label.NONE, 0.0)
    assert pipeline.event_label(event.id) == (Label.NONE, 0.0)
    active = pipeline.recorder._active[0]
    assert (active.label, active.confidence) == ("none", 0.0)
    # A lower threshold counts for the next crops.
    pipeline.set_label_threshold(0.25)
    _frames(pipeline, event, 1, new=False)
    _wait_labels(outputs, 2)
    assert pipeline.event_label(event.id) == (Label.PERSON, 0.3)


def test_person_wins_over_a_surer_vehicle_and_a_dog_behind_a_weak_person_counts(
    tmp_path: Path, workers: list[ClassifierWorker], streaming: list[CameraPipeline]
) -> None:
    outputs = Outputs()
    answers = (
        _found(Label.PERSON, 0.4, (Label.ANIMAL, DOG, 0.8)),  # person too weak: the dog
        _found(Label.VEHICLE, 0.9),  # vehicle before animal
        _found(Label.PERSON, 0.6),  # person before anything
    )
    classifier = FixedClassifier(*answers)
    pipeline = _streaming(streaming, _pipeline(tmp_path, outputs, _worker(workers, classifier)))
    event = _event()
    for count in (1, 2, 3):
        _frames(pipeline, event, 1, new=count == 1)
        _wait_labels(outputs, count)
    assert [(o.label, o.confidence) for o in outputs.of(LabelChanged)] == [
        (Label.ANIMAL, 0.8),
        (Label.VEHICLE, 0.9),
        (Label.PERSON, 0.6),
    ]
    assert all(o.event is event for o in outputs.of(LabelChanged))


def test_at_most_the_plans_crops_per_event_and_state_stays_bounded(
    tmp_path: Path, workers: list[ClassifierWorker], streaming: list[CameraPipeline]
) -> None:
    outputs = Outputs()
    classifier = FixedClassifier()
    plan = CropPlan(max_crops=2, interval=0.01, retry=0.01)
    pipeline = _streaming(
        streaming, _pipeline(tmp_path, outputs, _worker(workers, classifier), plan=plan)
    )
    event = _event()
    _frames(pipeline, event, 10)
    pipeline._on_motion(Change.UPDATED, event, MotionResult(True, 0.0, None))  # no box
    wait_until(lambda: len(classifier.seen) == 2, WAIT)
    time.sleep(0.1)
    assert len(classifier.seen) == 2
    stats = pipeline.stats()["classify"]
    assert isinstance(stats, dict)
    assert (stats["crops_submitted"], stats["crops_skipped"]) == (2, 0)
    # Later events each keep their own crops; only the recent ones are remembered.
    for index in range(LABELLED_EVENTS + 4):
        pipeline._on_motion(Change.ENDED, event, None)
        event = _event(f"e{index + 2}")
        _frames(pipeline, event, 1)
    wait_until(lambda: stats_of(pipeline)["events_labelled"] == LABELLED_EVENTS + 5, WAIT)
    assert len(pipeline._labels) == LABELLED_EVENTS
    assert pipeline.event_label("e1") is None
    assert pipeline.event_label(event.id) == (Label.PERSON, 0.8)


def stats_of(pipeline: CameraPipeline) -> dict[str, object]:
    stats = pipeline.stats()["classify"]
    assert isinstance(stats, dict)
    return stats


# A busy, failing or missing classifier ------------------------------------------------


def test_a_busy_classifier_skips_crops_and_motion_and_recording_go_on(
    tmp_path: Path, workers: list[ClassifierWorker], streaming: list[CameraPipeline]
) -> None:
    outputs = Outputs()
    gate = threading.Event()
    classifier = FixedClassifier(gate=gate)
    worker = _worker(workers, classifier, queue_size=1)
    pipeline = _streaming(streaming, _pipeline(tmp_path, outputs, worker))
    event = _event()
    _frames(pipeline, event, 1)  # taken by the worker, held at the gate
    wait_until(lambda: len(classifier.seen) == 1, WAIT)
    _frames(pipeline, event, 6, new=False)  # one waits in the queue, the others are skipped
    stats = stats_of(pipeline)
    assert stats["crops_submitted"] == 2
    assert isinstance(skipped := stats["crops_skipped"], int) and skipped >= 1
    assert pipeline.recorder.recording  # the clip goes on regardless
    assert [c.change for c in outputs.of(MotionChanged)] == [Change.STARTED]
    gate.set()
    wait_until(lambda: len(classifier.seen) == 2, WAIT)
    _frames(pipeline, event, 3, new=False)  # room again: the skipped crop is retried
    wait_until(lambda: len(classifier.seen) == 3, WAIT)
    assert stats_of(pipeline)["crops_submitted"] == 3  # the plan's three
    wait_until(lambda: outputs.of(LabelChanged), WAIT)
    assert pipeline.event_label(event.id) == (Label.PERSON, 0.8)


def test_a_late_label_updates_the_saved_clip(
    tmp_path: Path, workers: list[ClassifierWorker], streaming: list[CameraPipeline]
) -> None:
    """The event ended and its clip was saved before the classifier answered: the label
    still goes out, and into the stored index entry."""
    outputs = Outputs()
    gate = threading.Event()
    worker = _worker(workers, FixedClassifier(gate=gate))
    pipeline = _streaming(streaming, _pipeline(tmp_path, outputs, worker))
    wait_until(lambda: any(item.is_keyframe for item in pipeline.recorder.buffer.since(0.0)), WAIT)
    event = _event()
    _frames(pipeline, event, 1)
    time.sleep(0.3)
    pipeline._on_motion(Change.ENDED, event, None)
    pipeline.recorder.stop()  # the clip is finished and saved, unlabelled
    (saved,) = outputs.of(ClipSaved)
    assert saved.clip.label is None
    gate.set()
    wait_until(lambda: outputs.of(LabelChanged), WAIT)
    assert outputs.items[-1] == LabelChanged(event, Label.PERSON, 0.8)  # after ENDED
    stored = pipeline.store.get(saved.clip.id)
    assert stored is not None and (stored.label, stored.confidence) == ("person", 0.8)
    reloaded = _store(tmp_path).get(saved.clip.id)
    assert reloaded is not None and reloaded.label == "person"


def test_failed_crops_are_counted_and_label_nothing(
    tmp_path: Path, workers: list[ClassifierWorker], streaming: list[CameraPipeline]
) -> None:
    outputs = Outputs()
    classifier = FixedClassifier(_found(Label.PERSON, -1.0))  # the model raises
    pipeline = _streaming(streaming, _pipeline(tmp_path, outputs, _worker(workers, classifier)))
    _frames(pipeline, _event(), 1)
    wait_until(lambda: stats_of(pipeline)["crops_failed"] == 1, WAIT)
    assert outputs.of(LabelChanged) == []
    assert pipeline.event_label("e1") is None


def test_an_unavailable_classifier_takes_no_pictures(
    tmp_path: Path, streaming: list[CameraPipeline]
) -> None:
    def missing() -> FixedClassifier:
        raise ModelError("ncnn is not installed")

    worker = ClassifierWorker(missing)
    worker.start()
    assert not worker.wait_ready(WAIT)
    outputs = Outputs()
    pipeline = _streaming(streaming, _pipeline(tmp_path, outputs, worker))
    _frames(pipeline, _event(), 3)
    stats = stats_of(pipeline)
    assert stats["unavailable_reason"] == "ncnn is not installed"
    assert (stats["crops_submitted"], stats["crops_skipped"], stats["no_picture"]) == (0, 0, 0)
    assert pipeline.recorder.recording and outputs.of(LabelChanged) == []
    worker.stop()


# Which picture: the detection stream's, through its letterbox ----------------------------


def test_crops_come_from_the_detection_stream_mapped_through_its_letterbox(
    tmp_path: Path, workers: list[ClassifierWorker]
) -> None:
    outputs = Outputs()
    classifier = FixedClassifier()
    detect = create_source(SourceConfig(kind="demo"))
    pipeline = _pipeline(
        tmp_path, outputs, _worker(workers, classifier), detect_source=detect
    )  # the main stream never starts: its picture would be None
    detect.start()
    try:
        detect.wait_ready(WAIT)
        wait_until(lambda: detect.still_rgb() is not None, WAIT)
        pipeline._content = (0.0, 0.125, 1.0, 0.875)  # bars top and bottom
        _frames(pipeline, _event("bars"), 1)
        wait_until(lambda: len(classifier.seen) == 1, WAIT)
        assert classifier.seen[0].motion == pytest.approx((0.4, 0.35, 0.6, 0.8))
        pipeline._content = None  # not measured yet: the whole picture
        _frames(pipeline, _event("whole"), 1)
        wait_until(lambda: len(classifier.seen) == 2, WAIT)
        assert classifier.seen[1].motion == pytest.approx(BOX)
        # In fallback the main stream's picture is used: there is none yet.
        pipeline._fallback = True
        _frames(pipeline, _event("fallback"), 1)
        assert stats_of(pipeline)["no_picture"] == 1
        assert len(classifier.seen) == 2
    finally:
        detect.stop()
        pipeline.close()


# Colour pictures from every kind of source -------------------------------------------


def test_a_demuxing_stream_gives_its_latest_keyframe_in_colour(vtest_h264: Path) -> None:
    source = create_source(SourceConfig(kind="file", url=str(vtest_h264), decode=False))
    assert source.still_rgb() is None  # nothing yet
    source.start()
    try:
        source.wait_ready(WAIT)
        wait_until(lambda: source.still_rgb() is not None, WAIT)
        still = source.still_rgb()
        assert still is not None and still.shape == (576, 768, 3) and still.dtype == np.uint8
        small = source.still_rgb(320)
        assert small is not None and small.shape == (240, 320, 3)
        assert source.stats.decoded_frames == 0  # decoded on demand, not streamed
    finally:
        source.stop()


def test_a_snapshot_camera_decodes_its_jpeg_again_for_colour() -> None:
    """Its analysis decode is 1/8 size; colour comes from the camera's JPEG, decoded at
    the smallest reduced size still wide enough."""
    picture = av.VideoFrame.from_ndarray(DemoScene(1920, 1080).render(5.0), format="rgb24")
    jpeg = encode_jpeg(picture)
    config = SourceConfig(kind="snapshot", fetch=lambda: jpeg, snapshot_interval=0.05)
    source = SnapshotSource(config)
    source.start()
    try:
        source.wait_ready(WAIT)
        # The first picture is decoded whole (to learn its size), the next ones reduced.
        wait_until(lambda: source.stats.decoded_frames >= 2, WAIT)
        assert source._latest_frame is not None and source._latest_frame.width == 240
        sizes = {width: source.still_rgb(width) for width in (1280, 800, 100)}
    finally:
        source.stop()
    shapes = {width: None if rgb is None else rgb.shape for width, rgb in sizes.items()}
    assert shapes == {1280: (720, 1280, 3), 800: (450, 800, 3), 100: (56, 100, 3)}
    colour = sizes[1280]
    assert colour is not None and colour[:50].mean(axis=(0, 1))[2] > 200  # the blue sky


# Old clip indexes ----------------------------------------------------------------------


def test_an_index_from_before_labels_still_loads(tmp_path: Path) -> None:
    root = tmp_path / "privacy_cam"
    video = root / "garden" / "2026-01-02" / "10-00-00_0123456789ab.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"\0" * 16)
    path = "garden/2026-01-02/10-00-00_0123456789ab.mp4"
    old: dict[str, object] = {
        "id": "0123456789ab",
        "camera": "garden",
        "start": 1767348000.0,
        "duration": 5.0,
        "reason": "motion",
        "path": path,
        "size": 16,
        "event_id": "e1",
    }
    newer = {
        **old,
        "id": "ba9876543210",
        "path": path.replace("0123456789ab", "ba9876543210"),
    }
    (root / path.replace("0123456789ab", "ba9876543210")).write_bytes(b"\0" * 16)
    newer |= {"a_later_field": [1, 2]}
    labels = {
        "ba9876543210": {"label": "vehicle", "confidence": 0.61, "person": 0.42},
        # Hand-edited entries are dropped, never shown or trusted.
        "0123456789ab": {"label": "per\nson", "confidence": "x"},
    }
    index = {"version": 1, "clips": [old, newer], "labels": labels}
    (root / INDEX_NAME).write_text(json.dumps(index))
    store = ClipStore(root)
    store.load()
    clip = store.get("0123456789ab")
    assert clip is not None and (clip.label, clip.confidence) == (None, None)
    clip = store.get("ba9876543210")
    assert clip is not None and (clip.label, clip.confidence, clip.person) == (
        "vehicle",
        0.61,
        0.42,
    )
    updated = store.update("0123456789ab", label="person", confidence=0.9)
    assert updated is not None and updated.label == "person"
    # Labels live beside the clip entries: a version from before labels reads every entry
    # as it wrote it (an unknown key there made it rebuild the index, losing kept clips).
    saved = json.loads((root / INDEX_NAME).read_text())
    assert all(
        set(entry)
        <= set(old) | {"id", "part", "kept", "false_alarm", "protected", "box", "motion", "owner"}
        for entry in saved["clips"]
    )
    assert saved["labels"]["0123456789ab"] == {"label": "person", "confidence": 0.9, "person": None}
