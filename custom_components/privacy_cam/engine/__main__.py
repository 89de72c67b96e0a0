"""Command line: `python -m custom_components.privacy_cam.engine detect VIDEO`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .motion.analyse import analyse_video
from .motion.detector import HAVE_OPENCV, MotionSettings
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
    try:
        analysis = analyse_video(args.video, settings, use_opencv=not args.numpy)
    except Exception as err:  # noqa: BLE001 - report any decoder failure plainly
        print(f"error: cannot analyse {args.video}: {err}", file=sys.stderr)
        return 1
    report = analysis.as_dict()
    if args.json:
        print(json.dumps(report))
        return 0
    path = "OpenCV" if HAVE_OPENCV and not args.numpy else "NumPy"
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


if __name__ == "__main__":
    sys.exit(main())
