"""Person/vehicle/animal classifier benchmark (issue 15): NanoDet-m through ncnn, one thread.

- ms per crop: real crops (vtest.avi's moving blobs and its event crops), wall and CPU;
- crops per event: the crop plan (at most 3) on vtest and the generated object scenes;
- CPU per camera-hour at 20 events an hour;
- RSS of the model, measured in a fresh process (import ncnn, load, classify);
- the always-on path: the motion loop's own thread, with and without crops handed to the
  worker (the model runs on the worker thread; the loop pays for the colour frame and the copy).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from custom_components.privacy_cam.engine.classify.events import CropPlan, EventLabel
from custom_components.privacy_cam.engine.classify.nanodet import (
    ClassifierSettings,
    NanoDet,
    crop_region,
)
from custom_components.privacy_cam.engine.classify.worker import ClassifierWorker, CropResult
from custom_components.privacy_cam.engine.motion.detector import MotionSettings
from custom_components.privacy_cam.engine.motion.events import Change, EventTracker
from tests.engine.classify.pipeline import analysed_frames, blob_crops, classify_events, rgb
from tests.engine.classify.scenes import CAR, DOG
from tests.scenarios import OBJECT_SCENARIOS, render_video

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
