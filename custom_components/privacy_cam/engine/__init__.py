"""Privacy Cam engine: camera sources, analysis and storage, free of Home Assistant.

Everything here runs in plain Python threads and can be tested and
benchmarked without Home Assistant, a camera or a network.
"""

from .errors import ErrorKind, SourceError
from .factory import create_source, probe
from .source import Source, SourceConfig, SourceState

__all__ = [
    "ErrorKind",
    "Source",
    "SourceConfig",
    "SourceError",
    "SourceState",
    "create_source",
    "probe",
]
