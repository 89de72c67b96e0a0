"""Constants for Privacy Cam."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "privacy_cam"

CONF_KIND: Final = "kind"
CONF_ENTITY_ID: Final = "entity_id"
CONF_RTSP_TRANSPORT: Final = "rtsp_transport"
CONF_SNAPSHOT_INTERVAL: Final = "snapshot_interval"

KIND_RTSP: Final = "rtsp"
KIND_MJPEG: Final = "mjpeg"
KIND_SNAPSHOT: Final = "snapshot"
KIND_CAMERA_ENTITY: Final = "camera_entity"
KIND_DEMO: Final = "demo"
KINDS: Final = (KIND_RTSP, KIND_MJPEG, KIND_SNAPSHOT, KIND_CAMERA_ENTITY, KIND_DEMO)
URL_KINDS: Final = (KIND_RTSP, KIND_MJPEG, KIND_SNAPSHOT)

DEFAULT_RTSP_TRANSPORT: Final = "tcp"
RTSP_TRANSPORTS: Final = ("tcp", "udp")
DEFAULT_SNAPSHOT_INTERVAL: Final = 1.0
DEMO_UNIQUE_ID: Final = "demo"

# A camera down this long gets a repair issue; short blips only get a log line.
UNREACHABLE_ISSUE_DELAY: Final = 300
