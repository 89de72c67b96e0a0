"""Privacy Cam engine: camera sources, analysis and storage, free of Home Assistant.

Everything here runs in plain Python threads and can be tested and
benchmarked without Home Assistant, a camera or a network. The folders follow
the path a frame takes:

- `sources/`: camera connections, packets, frames for stills and analysis;
- `motion/`: detection, zones and masks, events, local learning;
- `recording/`: pre-roll, clip writers, recorder, clip store;
- `pipeline.py`: `CameraPipeline`, the one place that wires a camera's stages;
- `classify/`: what moved (person, vehicle, animal), on the few frames with motion;
- `sharing/`: consent-gated reports, redacted packages, audit log;
- `__main__.py`: the `detect` command line.

Nothing under `engine/` imports `homeassistant` (tests/engine/test_layout.py).
"""

from .sources.errors import ErrorKind, SourceError
from .sources.factory import create_source, probe
from .sources.source import Source, SourceConfig, SourceState

__all__ = [
    "ErrorKind",
    "Source",
    "SourceConfig",
    "SourceError",
    "SourceState",
    "create_source",
    "probe",
]
