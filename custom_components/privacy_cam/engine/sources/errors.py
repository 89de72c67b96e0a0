"""Errors a camera source can report, classified so the UI can explain them."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a source could not deliver video; values double as config-flow error keys."""

    CANNOT_CONNECT = "cannot_connect"
    INVALID_AUTH = "invalid_auth"
    INVALID_URL = "invalid_url"
    NO_VIDEO = "no_video"


class SourceError(Exception):
    """A classified failure. The message must never contain credentials."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}"
