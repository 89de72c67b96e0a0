"""Start the gst-rtsp-server peer (rtsp_server.py) for tests and benchmarks."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av

from .http_camera import _free_port

RTSP_PYTHON = "/usr/bin/python3"  # Debian's, which has GObject introspection
SCRIPT = Path(__file__).parent / "rtsp_server.py"


class RtspServer:
    def __init__(self, video: Path, *extra: str, port: int | None = None) -> None:
        """`port`: serve on this one (a camera coming back after an outage)."""
        if not Path(RTSP_PYTHON).exists():
            raise RuntimeError("Debian's python3 is missing: run scripts/setup as root")
        self.port = port or _free_port()
        mounts = [_mount(spec) for spec in (f"/cam={video}", *extra)]
        self.process = subprocess.Popen(
            [RTSP_PYTHON, str(SCRIPT), str(self.port), *mounts],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "READY":
            self.stop()
            raise RuntimeError("the RTSP test server did not start (run scripts/setup as root)")

    def url(self, mount: str = "/cam") -> str:
        return f"rtsp://127.0.0.1:{self.port}{mount}"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(5)


def _mount(spec: str) -> str:
    """`MOUNT=FILE` as the server wants it: H.265 files are marked (`MOUNT=h265:FILE`)."""
    mount, sep, path = spec.partition("=")
    if not sep or not Path(path).is_file():
        return spec  # options (--auth USER:PASS), or a file that is not there (yet)
    with av.open(path) as container:
        if container.streams.video and container.streams.video[0].codec_context.name == "hevc":
            return f"{mount}=h265:{path}"
    return spec


@contextmanager
def rtsp_server(video: Path, *extra: str) -> Iterator[RtspServer]:
    server = RtspServer(video, *extra)
    try:
        yield server
    finally:
        server.stop()
