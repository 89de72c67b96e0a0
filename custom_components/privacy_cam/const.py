"""Constants for Privacy Cam."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "privacy_cam"

CONF_KIND: Final = "kind"
CONF_ENTITY_ID: Final = "entity_id"
CONF_RTSP_TRANSPORT: Final = "rtsp_transport"
CONF_SNAPSHOT_INTERVAL: Final = "snapshot_interval"
# An RTSP camera's substream, for detection (entry data; the main stream's credentials
# unless it has its own), and which of its frames are decoded (options).
CONF_DETECT_URL: Final = "detect_url"
CONF_DETECT_USERNAME: Final = "detect_username"
CONF_DETECT_PASSWORD: Final = "detect_password"  # noqa: S105 - a config key
CONF_DETECT_FRAMES: Final = "detect_frames"
DETECT_EVERY_FRAME: Final = "every_frame"
DETECT_KEYFRAMES: Final = "keyframes"
DETECT_FRAMES: Final = (DETECT_EVERY_FRAME, DETECT_KEYFRAMES)
DEFAULT_DETECT_FRAMES: Final = DETECT_EVERY_FRAME

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

# Motion detection options (the engine's MotionSettings fields).
CONF_SENSITIVITY: Final = "sensitivity"
CONF_MIN_SIZE: Final = "min_size"
CONF_DETECT_FPS: Final = "detect_fps"
CONF_ZONES: Final = "zones"
CONF_MASKS: Final = "masks"
CONF_COOLDOWN: Final = "cooldown"
CONF_MIN_FRAMES: Final = "min_frames"
MOTION_OPTIONS: Final = (
    CONF_SENSITIVITY,
    CONF_MIN_SIZE,
    CONF_DETECT_FPS,
    CONF_ZONES,
    CONF_MASKS,
    CONF_COOLDOWN,
    CONF_MIN_FRAMES,
)

# Event types: entity event types and, prefixed with the domain, bus events.
EVENT_MOTION_STARTED: Final = "motion_started"
EVENT_MOTION_ENDED: Final = "motion_ended"
EVENT_ALARM: Final = "alarm"
EVENT_MOTION_LABELLED: Final = "motion_labelled"  # the open event's label changed

# What moved (the on-box detector, options): which labels raise the alarm, and the
# confidence (percent) a label needs to count.
CONF_ALARM_FOR: Final = "alarm_for"
ALARM_FOR_ANY: Final = "any"
ALARM_FOR_PERSON: Final = "person"
ALARM_FOR_PERSON_VEHICLE: Final = "person_vehicle"
ALARM_FOR_PERSON_ANIMAL: Final = "person_animal"
ALARM_FOR_LABELLED: Final = "person_vehicle_animal"
ALARM_FOR: Final = (
    ALARM_FOR_ANY,
    ALARM_FOR_PERSON,
    ALARM_FOR_PERSON_VEHICLE,
    ALARM_FOR_PERSON_ANIMAL,
    ALARM_FOR_LABELLED,
)
DEFAULT_ALARM_FOR: Final = ALARM_FOR_ANY  # until the user opts in
CONF_LABEL_CONFIDENCE: Final = "label_confidence"
# How a clip's label reads in titles (the others read as they are).
LABEL_TITLES: Final = {"none": "nothing recognised"}
DEFAULT_LABEL_CONFIDENCE: Final = 50.0

# Recording options.
CONF_RECORD_MODE: Final = "record_mode"
CONF_PREROLL: Final = "preroll"
CONF_POSTROLL: Final = "postroll"
CONF_MAX_CLIP: Final = "max_clip_length"
CONF_RETENTION_DAYS: Final = "retention_days"
RECORD_MOTION: Final = "motion"
RECORD_ALARMS: Final = "alarms"
RECORD_OFF: Final = "off"
RECORD_MODES: Final = (RECORD_MOTION, RECORD_ALARMS, RECORD_OFF)
DEFAULT_RECORD_MODE: Final = RECORD_MOTION
DEFAULT_PREROLL: Final = 5.0
DEFAULT_POSTROLL: Final = 5.0
DEFAULT_MAX_CLIP: Final = 120.0
DEFAULT_RETENTION_DAYS: Final = 14.0
MAX_TOTAL_BYTES: Final = 10 * 1024**3
MIN_FREE_BYTES: Final = 1024**3
EVENT_CLIP_SAVED: Final = "clip_saved"
MEDIA_FOLDER: Final = "privacy_cam"

# Share destinations: config entries of their own, beside the cameras.
KIND_DESTINATION: Final = "share_destination"
CONF_DESTINATION_KIND: Final = "destination_kind"
CONF_PATH: Final = "path"
CONF_RECIPIENT: Final = "recipient"
CONF_PURPOSE: Final = "purpose"
CONF_HUMANS_WATCH: Final = "humans_watch"
CONF_RECIPIENT_RETENTION: Final = "retention"
CONF_WITHDRAWAL: Final = "withdrawal"
HUMANS_WATCH_YES: Final = "yes"
HUMANS_WATCH_NO: Final = "no"

# Per camera: a private/indoor camera never shares unless unlocked.
CONF_SENSITIVE: Final = "sensitive"
CONF_SHARING_UNLOCKED: Final = "sharing_unlocked"

REPORT_EXPIRY: Final = 3600  # seconds between preparing a report and consent
AUDIT_FOLDER: Final = "privacy_cam"  # in the HA config folder
