"""Command line: `python -m custom_components.privacy_cam.engine detect VIDEO`.

`--learn CLIPS_JSON` replays false-alarm reports first: the file holds one clip or a
list of clips, each `{"id": ..., "path": ..., "motion": [first, last]}` (the clip
store's fields; `path` relative to the JSON file), learned once each, in order.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .motion.analyse import analyse_video
from .motion.detector import HAVE_OPENCV, MotionSettings
from .motion.learning import NuisanceMemory, observe_clip
from .motion.zones import PolygonError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.privacy_cam.engine",
        description="Privacy Cam engine tools (no Home Assistant needed).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    detect = commands.add_parser("detect", help="run motion detection over a video file")
    detect.add_argument("video", type=Path)
    detect.add_argument("--settings", type=Path, help="JSON file with detector settings")
    detect.add_argument("--json", action="store_true", help="print one JSON document")
    detect.add_argument("--numpy", action="store_true", help="do not use OpenCV even if present")
    detect.add_argument(
        "--learn",
        type=Path,
        metavar="CLIPS_JSON",
        help="report these clips as false alarms first (one clip or a list)",
    )
    args = parser.parse_args(argv)

    try:
        raw = json.loads(args.settings.read_text()) if args.settings else {}
        settings = MotionSettings.from_dict(raw)
    except (OSError, ValueError, TypeError, PolygonError) as err:
        print(f"error: bad settings: {err}", file=sys.stderr)
        return 2
    if not args.video.is_file():
        print(f"error: no such video: {args.video}", file=sys.stderr)
        return 2
    memory = NuisanceMemory()
    try:
        clips = _clips(args.learn) if args.learn else []
    except (OSError, ValueError, TypeError, KeyError) as err:
        print(f"error: bad clips file: {err}", file=sys.stderr)
        return 2
    try:
        for clip_id, clip_path, window in clips:
            seen = observe_clip(clip_path, settings, window, use_opencv=not args.numpy)
            memory.learn(clip_id, seen)
        analysis = analyse_video(
            args.video,
            settings,
            use_opencv=not args.numpy,
            learned=memory.learned_grid(),
            learned_area=memory.max_area,
        )
    except Exception as err:  # noqa: BLE001 - report any decoder failure plainly
        print(f"error: cannot analyse {args.video}: {err}", file=sys.stderr)
        return 1
    report = analysis.as_dict()
    if args.learn:
        report["learning"] = {"share": round(memory.share, 4), **memory.as_dict()}
    if args.json:
        print(json.dumps(report))
        return 0
    path = "OpenCV" if HAVE_OPENCV and not args.numpy else "NumPy"
    if args.learn:
        for lesson in memory.lessons:
            what = f"{lesson.cells} cells, {lesson.kind}" if lesson.cells else "nothing in place"
            print(f"learned from {lesson.clip_id}: {what}")
        print(f"learned cells cover {100 * memory.share:.1f}% of the picture")
    print(f"{args.video}: {report['frames']} frames at {report['fps']:g} fps ({path} path)")
    for index, event in enumerate(report["events"], 1):
        box = ", ".join(f"{v:.2f}" for v in event["box"])
        print(
            f"  event {index}: {event['start']:7.2f}s - {event['end']:7.2f}s  "
            f"peak {event['peak_score']:.2f}%  box [{box}]"
        )
    if not report["events"]:
        print("  no motion events")
    cost = report["ms_per_frame"]
    print(f"  cost: decode {cost['decode']:.2f} ms/frame, detect {cost['detect']:.3f} ms/frame")
    return 0


def _clips(path: Path) -> list[tuple[str, Path, tuple[float, float] | None]]:
    raw: Any = json.loads(path.read_text())
    items = raw if isinstance(raw, list) else [raw]
    clips = []
    for item in items:
        motion = item.get("motion")
        window = (float(motion[0]), float(motion[1])) if motion else None
        clips.append((str(item["id"]), path.parent / str(item["path"]), window))
    return clips


if __name__ == "__main__":
    sys.exit(main())
