"""Keyframes only: the frames between two keyframes confirm what one of them showed.

A keyframe a couple of seconds after the last one cannot tell a walker from a leaf by
itself: the detector needs three sightings going one way, which is two keyframe
intervals after the first. When a keyframe shows something new that could count, the
source decodes the rest of that keyframe's group of pictures (`Source.request_burst`)
and those frames go to a detector at the camera rate that starts from what the keyframe
detector knows of the scene (background, noise, flickering and learned cells). If it
counts the object, the event is declared then, dated at the keyframe. The keyframe
detector goes on as before: a burst can only declare an event sooner, never end one.

Only a scene with something new in it costs a burst: a still yard stays a keyframe at a
time, and so does an open event.
"""

from __future__ import annotations

import math

from ..sources.frames import GrayImage
from .detector import MotionDetector, MotionResult, MotionSettings
from .events import Change, EventTracker, MotionEvent


def candidate_age(result: MotionResult, settings: MotionSettings) -> int:
    """Keyframes its candidate was seen in (0: the keyframe shows nothing new that may
    count). A candidate moved since the last keyframe, is big enough and not learned."""
    if result.motion or result.recalibrated:
        return 0
    return max(
        (
            blob.age
            for blob in result.blobs
            if blob.moving and not blob.learned and blob.area >= settings.min_size
        ),
        default=0,
    )


class KeyframeConfirm:
    """One burst at a time: `begin` at a candidate keyframe, `feed` its group's frames."""

    def __init__(self) -> None:
        self._detector: MotionDetector | None = None
        self._tracker: EventTracker | None = None
        self._keyframe = 0.0
        self.age = 0  # keyframes the candidate was seen in: its event is dated back to them
        self.bursts = 0  # bursts begun (a diagnostic: each cost a group's decoding)
        self.confirmed = 0  # events they declared

    @property
    def active(self) -> bool:
        return self._detector is not None

    def begin(
        self,
        detector: MotionDetector,
        settings: MotionSettings,
        keyframe: float,
        result: MotionResult,
    ) -> bool:
        """Start confirming when the keyframe at `keyframe` (`detector` just gave `result`
        for it) shows a candidate; False if it does not, or the keyframe detector does
        not know the scene yet. `settings` are the user's (at the camera rate)."""
        self.end()
        age = candidate_age(result, settings)
        if not age:
            return False
        fork = detector.fork(settings)
        if fork is None:
            return False
        fork.travel_only = True
        self._detector = fork
        # Never a cooldown: a burst only ever starts an event.
        self._tracker = EventTracker(settings.min_frames, math.inf)
        self._keyframe = keyframe
        self.age = age
        self.bursts += 1
        return True

    def feed(self, time: float, gray: GrayImage) -> tuple[MotionEvent, MotionResult] | None:
        """A frame of the burst; the event (dated at the keyframe) and the frame's result
        when it confirms. Frames of an earlier group are ignored."""
        detector, tracker = self._detector, self._tracker
        if detector is None or tracker is None or time <= self._keyframe:
            return None
        result = detector.detect(gray)
        change = tracker.update(time, result, gray)
        if change is None or change[0] is not Change.STARTED:
            return None
        self.end()
        self.confirmed += 1
        event = change[1]
        event.start = min(event.start, self._keyframe)
        return event, result

    def end(self) -> None:
        self._detector = None
        self._tracker = None
