"""A cheap check between reconnects: does the camera's TCP port accept a connection?

Reconnecting backs off (up to a minute) so a broken camera is not hammered, but a
camera that was merely off should stream again within seconds of coming back. While
backing off, the source knocks on the camera's port about once a second; a port that
was closed (or silent) and now accepts ends the wait at once.
"""

from __future__ import annotations

import socket
from enum import StrEnum
from urllib.parse import urlsplit

from .urls import DEFAULT_PORTS


class Reach(StrEnum):
    OPEN = "open"
    REFUSED = "refused"
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"


def probe_target(url: str) -> tuple[str, int] | None:
    """(host, port) of a network camera URL, or None (files, wrapped HA cameras)."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.hostname, port


def knock(host: str, port: int, timeout: float) -> Reach:
    """Open and close a TCP connection; sends nothing."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return Reach.OPEN
    except ConnectionRefusedError:
        return Reach.REFUSED
    except TimeoutError:
        return Reach.NO_ANSWER
    except OSError:  # no route, unknown name, network down
        return Reach.UNREACHABLE
