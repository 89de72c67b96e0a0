"""Pick the source class for a camera kind, and probe a camera before it is added."""

from __future__ import annotations

from .av_source import AvSource
from .demo import DemoSource
from .errors import ErrorKind, SourceError
from .frames import StreamInfo
from .http_sources import MjpegSource, SnapshotSource
from .source import Source, SourceConfig
from .urls import validate_url

KIND_RTSP = "rtsp"
KIND_MJPEG = "mjpeg"
KIND_SNAPSHOT = "snapshot"
KIND_CAMERA_ENTITY = "camera_entity"
KIND_DEMO = "demo"
KIND_FILE = "file"

URL_SCHEMES = {
    KIND_RTSP: frozenset({"rtsp", "rtsps"}),
    KIND_MJPEG: frozenset({"http", "https"}),
    KIND_SNAPSHOT: frozenset({"http", "https"}),
}
PROBE_TIMEOUT = 10.0


def create_source(config: SourceConfig) -> Source:
    """Build (not start) the source for a config; validates URLs first."""
    if config.kind in URL_SCHEMES:
        validate_url(config.url, URL_SCHEMES[config.kind])
    match config.kind:
        case "rtsp" | "file":
            return AvSource(config)
        case "mjpeg":
            return MjpegSource(config)
        case "snapshot":
            return SnapshotSource(config)
        case "camera_entity":
            # A wrapped HA camera: FFmpeg for its stream URL, else polled stills.
            return AvSource(config) if config.url else SnapshotSource(config)
        case "demo":
            return DemoSource(config)
    raise SourceError(ErrorKind.INVALID_URL, f"unknown camera kind {config.kind!r}")


def probe(config: SourceConfig, timeout: float = PROBE_TIMEOUT) -> StreamInfo:
    """Open the camera, wait for one frame, close it. Raises SourceError."""
    source = create_source(config)
    source.start()
    try:
        return source.wait_ready(timeout)
    finally:
        source.stop()
