"""Sharing benchmark: what preparing a report costs (only ever on demand, never always-on).

A 20 s 1080p@15 clip with a 10 s event; the package is the event at 640 px wide. Measured
with and without the face finder, and against simply decoding the clip.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import av

from custom_components.privacy_cam.engine.sharing.faces import load_face_finder
from custom_components.privacy_cam.engine.sharing.package import Redaction, build_package
from tests.peers.videos import make_h264


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure(action: Any) -> tuple[float, float, Any]:
    cpu0, wall0 = _cpu(), time.perf_counter()
    result = action()
    return _cpu() - cpu0, time.perf_counter() - wall0, result


def _decode(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def run() -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = make_h264(folder / "clip.mp4", width=1920, height=1080, fps=15, seconds=20.0)
        cpu, wall, _ = _measure(lambda: _decode(clip))
        rows.append({"variant": "decode the whole clip", "cpu_s": cpu, "wall_s": wall, "size": 0})
        redaction = Redaction(masks=(((0, 0), (0.3, 0), (0.3, 0.3)),), box=(0.2, 0.3, 0.8, 0.6))
        finder = load_face_finder()
        variants = [("package, no face finder", None)]
        if finder is not None:
            variants.append(("package + face finder", finder))
        for name, faces in variants:
            out = folder / f"{len(rows)}.mp4"
            cpu, wall, package = _measure(
                lambda out=out, faces=faces: build_package(clip, out, (5.0, 15.0), redaction, faces)
            )
            rows.append({"variant": name, "cpu_s": cpu, "wall_s": wall, "size": package.size})
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\nSharing: prepare a report from a 20 s 1080p@15 clip (10 s event -> 640 px)")
    print("| variant | CPU s | wall s | package kB |")
    print("|---|---|---|---|")
    for row in rows:
        size = f"{row['size'] / 1024:.0f}" if row["size"] else "-"
        print(f"| {row['variant']} | {row['cpu_s']:.2f} | {row['wall_s']:.2f} | {size} |")
    print(f"peak RSS of the bench process: {peak:.0f} MiB")
