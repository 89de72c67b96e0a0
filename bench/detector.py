"""Person/vehicle/animal classifier benchmark (issue 15): NanoDet-m through ncnn, one thread.

- ms per crop: real crops (vtest.avi's moving blobs and its event crops), wall and CPU;
- crops per event: the crop plan (at most 3) on vtest and the generated object scenes;
- CPU per camera-hour at 20 events an hour;
- RSS of the model, measured in a fresh process (import ncnn, load, classify);
- the always-on path: the motion loop's own thread, with and without crops handed to the
  worker (the model runs on the worker thread; the loop pays for the colour frame and the copy);
- the always-on path through `CameraPipeline`: a real RTSP camera (a still 1280x720@15 scene)
  without a classifier (A) and with the started, loaded one (B), interleaved rounds, process
  CPU per camera-second and crops submitted (none without motion); then vtest through the same
  pipeline for the per-event cost (crops, ms per crop, the motion thread's colour picture).
  PRIVACY_CAM_DETECTOR_SECONDS (default 10) and PRIVACY_CAM_DETECTOR_ROUNDS (default 4) set the
  still scene's runs, PRIVACY_CAM_DETECTOR_MOTION_SECONDS (default 25) vtest's.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from itertools import islice
from pathlib import Path
from typing import Any

import av
import numpy as np

from custom_components.privacy_cam.engine import SourceConfig, create_source
from custom_components.privacy_cam.engine.classify.events import CropPlan, EventLabel
from custom_components.privacy_cam.engine.classify.nanodet import (
    ClassifierSettings,
    NanoDet,
    crop_region,
)
from custom_components.privacy_cam.engine.classify.worker import ClassifierWorker, CropResult
from custom_components.privacy_cam.engine.motion.detector import MotionSettings
from custom_components.privacy_cam.engine.motion.events import Change, EventTracker
from custom_components.privacy_cam.engine.pipeline import (
    CLASSIFY_WIDTH,
    CameraPipeline,
    MotionChanged,
    Output,
)
from custom_components.privacy_cam.engine.recording.clipstore import ClipStore
from tests.engine.classify.pipeline import analysed_frames, blob_crops, classify_events, rgb
from tests.engine.classify.scenes import CAR, DOG
from tests.peers.rtsp import rtsp_server
from tests.peers.videos import _pad, transcode_h264
from tests.scenarios import OBJECT_SCENARIOS, render_video

from . import cameras

ROOT = Path(__file__).resolve().parent.parent
VTEST = ROOT / "tests" / "data" / "vtest.avi"
EVENTS_PER_HOUR = 20

RSS_PROBE = """
import json, sys
def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0
import numpy as np
# The integration's package (and Home Assistant with it) is already there in a real HA.
from custom_components.privacy_cam.engine.classify.nanodet import NanoDet, crop_region
out = {"baseline": kib("VmRSS")}
import ncnn
out["import_ncnn"] = kib("VmRSS")
model = NanoDet.load()
out["loaded"] = kib("VmRSS")
frame = np.random.default_rng(1).integers(0, 255, (576, 768, 3), dtype=np.uint8)
for box in [(0.1, 0.1, 0.2, 0.4), (0.0, 0.0, 1.0, 1.0), (0.3, 0.5, 0.7, 0.7)] * 4:
    model.classify(crop_region(frame, box, model.settings))
out["after_12_crops"] = kib("VmRSS")
out["peak"] = kib("VmHWM")
print(json.dumps(out))
"""


def crop_speed(model: NanoDet) -> dict[str, Any]:
    """ms per crop on vtest's real crops: every moving blob every 2 s, and event crops."""
    crops = [crop for _, crop in blob_crops(VTEST, 2.0, model.settings)]
    wall, cpu, sizes = [], [], []
    for crop in crops * 2:
        result = model.classify(crop)
        wall.append(result.ms)
        cpu.append(result.cpu_ms)
        sizes.append(result.input_size[0] * result.input_size[1])
    first = next(frame for _, frame, _ in analysed_frames(VTEST, MotionSettings()))
    full = np.ascontiguousarray(rgb(first))
    full_cpu = []
    for _ in range(20):
        started = time.thread_time()
        model.detect(full)
        full_cpu.append(1000 * (time.thread_time() - started))
    return {
        "crops": len(crops),
        "cpu_median": statistics.median(cpu),
        "cpu_p90": float(np.percentile(cpu, 90)),
        "wall_median": statistics.median(wall),
        "input_px_median": statistics.median(sizes),
        "full_frame_cpu_median": statistics.median(full_cpu),
    }


def crops_per_event(model: NanoDet, folder: Path) -> dict[str, Any]:
    scenes = [*OBJECT_SCENARIOS, CAR, DOG]
    videos = {"vtest (real)": VTEST} | {
        s.name: render_video(s, folder / f"{s.name}.mp4") for s in scenes
    }
    rows = {}
    for name, path in videos.items():
        events = classify_events(path, model.classify)
        rows[name] = {
            "events": len(events),
            "crops": sum(e.label.crops for e in events),
            "labels": ", ".join(str(e.label.label) for e in events),
            "seconds": sum(e.end - e.start for e in events),
        }
    return rows


def model_rss() -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", RSS_PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    values: dict[str, int] = json.loads(done.stdout)
    return values


def always_on(worker: ClassifierWorker) -> dict[str, float]:
    """The motion loop's own CPU on vtest: alone, and handing crops to the worker."""
    results: list[CropResult] = []
    arrived = threading.Semaphore(0)

    def collect(result: CropResult) -> None:
        results.append(result)
        arrived.release()

    def loop(with_crops: bool) -> tuple[float, int]:
        settings = MotionSettings()
        tracker = EventTracker(settings.min_frames, settings.cooldown)
        label: EventLabel | None = None
        submitted = 0
        started = time.thread_time()
        for t, frame, result in analysed_frames(VTEST, settings):
            change = tracker.update(t, result)
            if change is not None and change[0] is Change.STARTED:
                label = EventLabel(CropPlan())
            if change is not None and change[0] is Change.ENDED:
                label = None
            if with_crops and label is not None and result.box is not None and label.due(t):
                accepted = worker.submit(rgb(frame), result.box, collect, key="vtest")
                label.submitted(t, accepted)
                submitted += accepted
        return 1000 * (time.thread_time() - started), submitted

    alone, with_crops, submitted = [], [], 0
    for _ in range(3):  # alternated, the least of each: this machine is shared
        alone.append(loop(False)[0])
        cpu, submitted = loop(True)
        with_crops.append(cpu)
        for _ in range(submitted):
            arrived.acquire(timeout=30)
    # What the loop's thread pays per crop, measured alone: a colour frame and the copy.
    frames = [frame for _, frame, _ in islice(analysed_frames(VTEST, MotionSettings()), 20)]
    started = time.thread_time()
    for frame in frames:
        crop_region(rgb(frame), (0.4, 0.3, 0.5, 0.7), worker.settings)
    per_crop = 1000 * (time.thread_time() - started) / len(frames)
    return {
        "alone_ms": min(alone),
        "with_crops_ms": min(with_crops),
        "crops": submitted,
        "per_crop_ms": per_crop,
    }


# The always-on path through `CameraPipeline` ----------------------------------------
# A real RTSP camera (the gst-rtsp-server peer) through the whole pipeline, without a
# classifier (A) and with the started, loaded one (B): process CPU per camera-second.

STILL_SIZE = (1280, 720)
STILL_FPS = 15
PIPELINE_WARMUP = 3.0  # connected, the detector calibrated, past the start-up burst


def pipeline_seconds() -> float:
    """Measured seconds per run of the still scene (PRIVACY_CAM_DETECTOR_SECONDS)."""
    return float(os.environ.get("PRIVACY_CAM_DETECTOR_SECONDS", "10"))


def pipeline_rounds() -> int:
    """A/B rounds of the still scene (PRIVACY_CAM_DETECTOR_ROUNDS)."""
    return int(os.environ.get("PRIVACY_CAM_DETECTOR_ROUNDS", "4"))


def motion_seconds() -> float:
    """Measured seconds per run of vtest (PRIVACY_CAM_DETECTOR_MOTION_SECONDS, at most 70)."""
    return min(70.0, float(os.environ.get("PRIVACY_CAM_DETECTOR_MOTION_SECONDS", "25")))


def _still_segment(path: Path) -> None:
    """cameras.SEGMENT seconds of a still textured yard with sensor noise, 1280x720@15."""
    rng = np.random.default_rng(21)
    width, height = STILL_SIZE
    tile = rng.integers(30, 220, (height // 8, width // 8), dtype=np.uint8)
    background = tile.repeat(8, 0).repeat(8, 1).astype(np.int16)
    noise = [rng.integers(-3, 4, (height, width), dtype=np.int16) for _ in range(5)]
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=Fraction(STILL_FPS, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 2 * STILL_FPS
        stream.options = {
            "preset": "veryfast",
            "crf": "23",
            "bframes": "0",
            "keyint_min": str(2 * STILL_FPS),
            "sc_threshold": "0",
        }
        for index in range(int(cameras.SEGMENT * STILL_FPS)):
            luma = np.clip(background + noise[index % len(noise)], 0, 255).astype(np.uint8)
            frame = av.VideoFrame(width, height, "yuv420p")
            frame.planes[0].update(_pad(luma, frame.planes[0].line_size))
            for plane in frame.planes[1:]:
                plane.update(bytes([128]) * plane.buffer_size)
            frame.pts = index
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)


def still_scene(duration: float) -> Path:
    """The still scene, at least `duration` seconds long (cached between runs)."""
    cameras.CACHE.mkdir(exist_ok=True)
    segment = cameras.CACHE / "still_720p_segment.mp4"
    if not segment.exists():
        _still_segment(segment)
    times = int(duration // cameras.SEGMENT) + 1
    path = cameras.CACHE / f"still_720p_{times}.mp4"
    if not path.exists():
        cameras._repeat(segment, path, times)
    return path


@dataclass
class PipelineRun:
    classifier: bool
    wall: float = 0.0
    process_cpu: float = 0.0  # seconds, the whole process but the bench's own thread
    motion_cpu: float = 0.0  # the motion thread
    worker_cpu: float = 0.0  # the classifier thread
    analysed: int = 0
    events: int = 0
    classify: dict[str, Any] = field(default_factory=dict)  # pipeline.stats()["classify"]
    classified: int = 0  # by the worker, during the run
    worker_ms: float = 0.0  # wall, per crop
    worker_cpu_ms: float = 0.0  # CPU, per crop
    hand_off_ms: list[float] = field(default_factory=list)  # motion thread, per crop due
    still_rgb_ms: list[float] = field(default_factory=list)  # motion thread, per picture

    def ms_per_second(self, seconds: float) -> float:
        return 1000 * seconds / self.wall


def _timed(calls: list[float], function: Any) -> Any:
    """`function`, its thread CPU ms per call appended to `calls`."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            calls.append(1000 * (time.thread_time() - started))

    return timed


def run_camera(
    url: str, worker: ClassifierWorker | None, warmup: float, duration: float
) -> PipelineRun:
    """One camera through `CameraPipeline` (default record policy), measured `duration` s."""
    folder = Path(tempfile.mkdtemp(prefix="privacy_cam_detector_"))
    store = ClipStore(folder / "privacy_cam")
    store.load()
    outputs: list[Output] = []
    source = create_source(SourceConfig(kind="rtsp", url=url))
    pipeline = CameraPipeline(
        source, store, "bench", MotionSettings(), outputs.append, classifier=worker
    )
    result = PipelineRun(worker is not None)
    # Instrumented on the instances (the motion thread calls them): per-crop costs.
    source.still_rgb = _timed(result.still_rgb_ms, source.still_rgb)  # type: ignore[method-assign]
    pipeline._classify = _timed(result.hand_off_ms, pipeline._classify)  # type: ignore[method-assign]
    try:
        pipeline.start()
        if not source.wait_ready(15):
            raise RuntimeError(f"the RTSP peer did not stream: {source.state}")
        time.sleep(warmup)
        motion = cameras.ThreadClock(cameras._threads("privacy_cam_motion")[0])
        classifier_threads = cameras._threads("privacy_cam_classifier")
        classifier = cameras.ThreadClock(classifier_threads[0]) if classifier_threads else None
        me = cameras.ThreadClock(threading.current_thread())
        stats0 = replace(worker.stats) if worker is not None else None
        analysed0 = pipeline.watcher.frames_analysed
        result.hand_off_ms.clear()
        result.still_rgb_ms.clear()
        outputs.clear()
        cpu0, wall0 = cameras._process_cpu(), time.monotonic()
        time.sleep(duration)
        result.wall = time.monotonic() - wall0
        result.process_cpu = cameras._process_cpu() - cpu0 - me.seconds()
        result.motion_cpu = motion.seconds()
        result.worker_cpu = classifier.seconds() if classifier is not None else 0.0
        result.analysed = pipeline.watcher.frames_analysed - analysed0
        result.events = sum(
            isinstance(o, MotionChanged) and o.change is Change.STARTED for o in outputs
        )
        if worker is not None and stats0 is not None:
            stats = worker.stats
            result.classified = stats.classified - stats0.classified
            if result.classified:
                result.worker_ms = 1000 * (stats.busy_s - stats0.busy_s) / result.classified
                result.worker_cpu_ms = 1000 * (stats.cpu_s - stats0.cpu_s) / result.classified
        classify = pipeline.stats().get("classify")
        result.classify = dict(classify) if isinstance(classify, dict) else {}
    finally:
        pipeline.stop()
        pipeline.close()
        shutil.rmtree(folder, ignore_errors=True)
    return result


def always_on_pipeline(worker: ClassifierWorker, folder: Path) -> dict[str, Any]:
    """A/B rounds on a still 1280x720@15 scene (order swapped every round), then vtest."""
    duration, rounds = pipeline_seconds(), pipeline_rounds()
    still = still_scene(PIPELINE_WARMUP + duration + 10)
    if not worker.wait_ready(30):
        raise RuntimeError(f"the classifier is not ready: {worker.unavailable_reason}")
    runs: list[tuple[PipelineRun, PipelineRun]] = []
    with rtsp_server(still) as server:
        for index in range(rounds):
            order: list[ClassifierWorker | None] = [None, worker]
            if index % 2:
                order.reverse()
            done = [run_camera(server.url(), w, PIPELINE_WARMUP, duration) for w in order]
            a, b = sorted(done, key=lambda r: r.classifier)
            runs.append((a, b))
    moving = motion_seconds()
    video = transcode_h264(VTEST, folder / "vtest.mp4", seconds=moving + 8)
    with rtsp_server(video) as server:
        motion = [run_camera(server.url(), w, 2.0, moving) for w in (None, worker)]
    return {
        "seconds": duration,
        "rounds": runs,
        "motion": motion,
        "worker_state": worker.state.value,
    }


def _spread(values: list[float], digits: int = 1) -> str:
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def print_pipeline(report: dict[str, Any]) -> None:
    runs: list[tuple[PipelineRun, PipelineRun]] = report["rounds"]
    width, height = STILL_SIZE
    print(
        f"\n## Always-on path through CameraPipeline: a still {width}x{height}@{STILL_FPS} "
        f"RTSP camera, {len(runs)} rounds of {report['seconds']:.0f} s per profile "
        f"(A/B order swapped every round); the classifier {report['worker_state']}"
    )
    print(
        "| profile | process CPU ms per camera-second, median (min-max) | motion thread "
        "| classifier thread | analysed fps | events | crops submitted |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for column, name in ((0, "A: no classifier"), (1, "B: classifier loaded, READY")):
        side = [pair[column] for pair in runs]
        crops = (
            "-"
            if column == 0
            else str(sum(int(r.classify.get("crops_submitted", 0)) for r in side))
        )
        print(
            f"| {name} | {_spread([r.ms_per_second(r.process_cpu) for r in side])} | "
            f"{_spread([r.ms_per_second(r.motion_cpu) for r in side], 2)} | "
            f"{_spread([r.ms_per_second(r.worker_cpu) for r in side], 3)} | "
            f"{statistics.median(r.analysed / r.wall for r in side):.1f} | "
            f"{sum(r.events for r in side)} | {crops} |"
        )
    ratios = [b.process_cpu / b.wall / (a.process_cpu / a.wall) for a, b in runs]
    print(
        f"\nB / A per round: {', '.join(f'{r:.3f}' for r in ratios)}; median "
        f"{statistics.median(ratios):.3f} (target <= 1.01), spread "
        f"{min(ratios):.3f}-{max(ratios):.3f}"
    )
    error = statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1 else 0.0
    pooled = sum(b.process_cpu for _, b in runs) / sum(a.process_cpu for a, _ in runs)
    idle = sum(b.worker_cpu for _, b in runs)
    print(
        f"Mean {statistics.fmean(ratios):.3f} +- {error:.3f} (standard error: the "
        f"machine's noise), pooled {pooled:.3f}. The classifier thread itself, loaded and "
        f"idle: {1000 * idle:.3f} ms CPU in {sum(b.wall for _, b in runs):.0f} s."
    )
    print(
        "Process CPU: every thread but the bench's (the RTSP source and FFmpeg's decoder "
        "threads, motion, the clip writer, the classifier's); the RTSP peer is another process."
    )
    a, b = report["motion"]
    classify = b.classify
    print(
        f"\n## With motion: vtest (768x576@10, real people) through the same pipeline, "
        f"{b.wall:.0f} s per profile"
    )
    print(
        "| profile | process CPU ms per camera-second | motion thread | classifier thread "
        "| events | crops submitted / skipped | worker ms per crop (wall / CPU) "
        "| motion thread ms per crop: hand-off (all) / still_rgb median (range) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in (a, b):
        name = "B: classifier" if r.classifier else "A: no classifier"
        if r.classifier:
            crops = f"{classify.get('crops_submitted', 0)} / {classify.get('crops_skipped', 0)}"
            worker_ms = f"{r.worker_ms:.1f} / {r.worker_cpu_ms:.1f} ({r.classified} crops)"
            tried = len(r.still_rgb_ms)
            hand_off = f"{sum(r.hand_off_ms) / tried:.2f}" if tried else "-"
            still_rgb = _spread(r.still_rgb_ms, 2) if tried else "-"
            per_crop = f"{hand_off} / {still_rgb}"
        else:
            crops = worker_ms = per_crop = "-"
        print(
            f"| {name} | {r.ms_per_second(r.process_cpu):.1f} | "
            f"{r.ms_per_second(r.motion_cpu):.2f} | {r.ms_per_second(r.worker_cpu):.2f} | "
            f"{r.events} | {crops} | {worker_ms} | {per_crop} |"
        )
    if b.events:
        print(
            f"\nPer event: {b.classified / b.events:.1f} crops, "
            f"{b.classified * b.worker_cpu_ms / b.events:.0f} ms of classifier CPU; "
            f"the motion thread's hand-off (`_classify`: {len(b.hand_off_ms)} calls, the "
            f"{len(b.still_rgb_ms)} with a crop due paying for the colour picture, at most "
            f"{CLASSIFY_WIDTH} px wide, the crop copy and submit) totals "
            f"{sum(b.hand_off_ms):.0f} ms."
        )


def run() -> dict[str, Any]:
    model = NanoDet.load(settings=ClassifierSettings(threads=1))
    worker = ClassifierWorker()
    worker.start()
    worker.wait_ready(30)
    try:
        with tempfile.TemporaryDirectory() as folder:
            report = {
                "speed": crop_speed(model),
                "events": crops_per_event(model, Path(folder)),
                "rss": model_rss(),
                "always_on": always_on(worker),
                "pipeline": always_on_pipeline(worker, Path(folder)),
                "ncnn": model.version,
            }
    finally:
        worker.stop()
    return report


def print_table(report: dict[str, Any]) -> None:
    speed = report["speed"]
    print(f"\n## Classifier: NanoDet-m 320, ncnn {report['ncnn']}, one thread")
    print("| crops (vtest, real) | CPU ms/crop median | p90 | wall ms median | input px median |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| {speed['crops']} | {speed['cpu_median']:.1f} | {speed['cpu_p90']:.1f} | "
        f"{speed['wall_median']:.1f} | {speed['input_px_median']:.0f} |"
    )
    full = speed["full_frame_cpu_median"]
    print(f"\nFull 768x576 frame letterboxed to 320x256: {full:.1f} ms CPU")
    print("\n| video | events | crops | crops/event | event labels |")
    print("| --- | --- | --- | --- | --- |")
    events = report["events"]
    total_events = sum(r["events"] for r in events.values())
    total_crops = sum(r["crops"] for r in events.values())
    for name, r in events.items():
        per = r["crops"] / r["events"] if r["events"] else 0.0
        print(f"| {name} | {r['events']} | {r['crops']} | {per:.1f} | {r['labels']} |")
    per_event = total_crops / max(1, total_events)
    cpu_hour = EVENTS_PER_HOUR * per_event * speed["cpu_median"] / 1000
    print(
        f"\nCPU per camera-hour at {EVENTS_PER_HOUR} events/hour: {EVENTS_PER_HOUR} x "
        f"{per_event:.1f} crops x {speed['cpu_median']:.1f} ms = {cpu_hour:.2f} s "
        f"({100 * cpu_hour / 3600:.3f}% of one core)"
    )
    rss = report["rss"]
    print(
        "\n| RSS (MiB, fresh process) | HA + integration imported | +import ncnn | +model loaded "
        "| +12 crops | peak |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    mib = {k: v / 1024 for k, v in rss.items()}
    print(
        f"| absolute | {mib['baseline']:.1f} | {mib['import_ncnn']:.1f} | "
        f"{mib['loaded']:.1f} | {mib['after_12_crops']:.1f} | {mib['peak']:.1f} |"
    )
    print(
        f"| model's share | | {mib['import_ncnn'] - mib['baseline']:.1f} | "
        f"{mib['loaded'] - mib['import_ncnn']:.1f} | "
        f"{mib['after_12_crops'] - mib['loaded']:.1f} | "
        f"{mib['peak'] - mib['baseline']:.1f} |"
    )
    on = report["always_on"]
    print(
        f"\nAlways-on path (motion loop thread, vtest 79.5 s): {on['alone_ms']:.0f} ms CPU alone, "
        f"{on['with_crops_ms']:.0f} ms handing {on['crops']} crops to the worker "
        f"(least of 3 runs each). Per crop on the loop's thread: {on['per_crop_ms']:.1f} ms "
        "(the colour frame and the copy); the model runs on the worker thread."
    )
    print_pipeline(report["pipeline"])
