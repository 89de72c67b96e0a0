"""Run detection over a recorded video: the engine of the `detect` CLI and the benches."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import av

from ..sources.frames import to_analysis_gray
from .confirm import KeyframeConfirm
from .detector import MotionDetector, MotionResult, MotionSettings
from .events import Change, EventTracker, MotionEvent
from .zones import BoolImage

ANALYSIS_HEIGHT = 120


@dataclass(slots=True)
class Analysis:
    frames: int = 0
    fps: float = 0.0
    duration: float = 0.0
    analysed: int = 0
    events: list[MotionEvent] = field(default_factory=list)
    decode_s: float = 0.0
    detect_s: float = 0.0
    bursts: int = 0  # keyframes-only: group bursts begun, and the events they declared
    bursts_confirmed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "fps": round(self.fps, 3),
            "events": [
                {
                    "start": round(e.start, 2),
                    "confirmed": round(e.confirmed, 2),  # when it was declared
                    "end": round(e.end if e.end is not None else e.last_motion, 2),
                    "peak_score": round(e.peak_score, 3),
                    "box": [round(v, 4) for v in e.box],
                }
                for e in self.events
            ],
            "ms_per_frame": {
                "decode": round(1000 * self.decode_s / max(1, self.frames), 3),
                "detect": round(1000 * self.detect_s / max(1, self.analysed), 3),
            },
        }


def analyse_video(
    path: str | Path,
    settings: MotionSettings | None = None,
    *,
    use_opencv: bool = True,
    analysis_height: int = ANALYSIS_HEIGHT,
    learned: BoolImage | None = None,
    learned_area: float = 0.0,
    observer: Callable[[float, MotionResult], None] | None = None,
    keyframes: float | None = None,
    confirm: bool = True,
) -> Analysis:
    """Decode every frame (as a camera would), detect at settings.detect_fps.

    `learned` (cells, see `learning`) is applied to the detector; `observer` sees
    every analysed frame's result, with the cells that moved in place.

    `keyframes`: seconds between keyframes, analysed one at a time as with keyframes-only
    detection (at that rate), with bursts between them confirming candidates (`confirm`)
    at settings.detect_fps, as a camera's source decodes them.
    """
    settings = settings or MotionSettings()
    user_settings = settings
    if keyframes is not None:
        settings = replace(settings, detect_fps=min(settings.detect_fps, 1.0 / keyframes))
    detector = MotionDetector(settings, use_opencv=use_opencv)
    detector.set_learned(learned, learned_area)
    detector.collect = observer is not None
    tracker = EventTracker(settings.min_frames, settings.cooldown)
    result = Analysis()
    interval = 1.0 / settings.detect_fps
    next_time = 0.0
    last_time = 0.0
    bursting = KeyframeConfirm()
    burst_interval = 1.0 / user_settings.detect_fps
    next_burst = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        result.fps = float(rate) if rate else 0.0
        frames = container.decode(stream)
        while True:
            started = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            result.frames += 1
            t = float(frame.time) if frame.time is not None else result.frames / (result.fps or 1)
            last_time = t
            if t + 1e-6 < next_time:
                if bursting.active and t + 1e-6 >= next_burst:
                    next_burst = max(next_burst + burst_interval, t + burst_interval * 0.5)
                    confirmed = bursting.feed(t, to_analysis_gray(frame, analysis_height))
                    if confirmed is not None:
                        tracker.adopt(confirmed[0], bursting.age)
                        result.bursts_confirmed += 1
                result.decode_s += time.perf_counter() - started
                continue
            next_time = max(next_time + interval, t + interval * 0.5)
            gray = to_analysis_gray(frame, analysis_height)
            decoded = time.perf_counter()
            result.decode_s += decoded - started
            motion = detector.detect(gray)
            change = tracker.update(t, motion, gray)
            result.detect_s += time.perf_counter() - decoded
            bursting.end(miss=tracker.current is None)
            if (
                keyframes is not None
                and confirm
                and tracker.current is None
                and bursting.begin(detector, user_settings, t, motion)
            ):
                result.bursts += 1
                next_burst = t + burst_interval
            if observer is not None:
                observer(t, motion)
            result.analysed += 1
            if change is not None and change[0] is Change.ENDED:
                result.events.append(change[1])
    if (event := tracker.close(last_time)) is not None:
        result.events.append(event)
    result.duration = last_time
    return result
