"""Keyframes only: the frames between two keyframes confirm what one of them showed.

A keyframe a couple of seconds after the last one cannot tell a walker from a leaf by
itself: the detector needs three sightings going one way, which is two keyframe
intervals after the first. When a keyframe shows something new that could count, the
source decodes the rest of that keyframe's group of pictures (`Source.request_burst`)
and those frames go to a detector at the camera rate that starts from what the keyframe
detector knows of the scene (background, noise, flickering and learned cells). Only an
object that travels, seen in (nearly) every frame, counts there. If it does, the event
is declared then, dated at the keyframe that first showed it. The keyframe detector goes
on as before: a burst can only declare an event sooner, never end one.

Only a scene with something new in it costs a burst: a still yard stays a keyframe at a
time, and so does an open event. A restless one (a tree in the wind) shows candidates at
most keyframes: after bursts that confirmed nothing, bursts pause for a few keyframes.
"""

from __future__ import annotations

import math

from ..sources.frames import Box, GrayImage
from .detector import REACH_SPEED, Blob, MotionDetector, MotionResult, MotionSettings
from .events import Change, EventTracker, MotionEvent

CONFIRM_SECONDS = 0.6  # of travel seen in the group's frames (3 frames at 5 fps)
# Bursts in a row that confirm nothing before bursts pause for candidates where those were;
# each further one doubles the pause, up to MAX_PAUSE candidate keyframes. Something new
# elsewhere still gets a burst; the keyframes alone still declare events meanwhile; and
# PAUSE_MEMORY seconds without a burst in vain forget the misses (the wind dropped).
MISSES_BEFORE_PAUSE = 2
MAX_PAUSE = 8
PAUSE_MEMORY = 30.0
MAX_FAILED = 16  # candidate boxes of the bursts in vain that are remembered


def candidates(result: MotionResult, settings: MotionSettings) -> list[Blob]:
    """What a keyframe shows that may count: blobs that moved since the last keyframe,
    big enough and not learned (none once the keyframes count it themselves)."""
    if result.motion or result.recalibrated:
        return []
    return [
        blob
        for blob in result.blobs
        if blob.moving and not blob.learned and blob.area >= settings.min_size
    ]


class KeyframeConfirm:
    """One burst at a time: `begin` at a candidate keyframe, `feed` its group's frames."""

    def __init__(self) -> None:
        self._detector: MotionDetector | None = None
        self._tracker: EventTracker | None = None
        self._keyframe = 0.0
        self._candidates: list[Blob] = []
        self._misses = 0  # bursts in a row that confirmed nothing
        self._pause = 0  # candidate keyframes left without bursts
        self._last_miss = -math.inf  # the keyframe of the last burst in vain
        self._failed: list[Box] = []  # where the candidates of those bursts were
        self.age = 0  # keyframes the confirmed object was seen in: its event dates back
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
        for it) shows a candidate; False if it does not, bursts pause, or the keyframe
        detector does not know the scene yet. `settings` are the user's (camera rate)."""
        self.end()
        found = candidates(result, settings)
        if not found:
            return False
        if keyframe - self._last_miss > PAUSE_MEMORY:
            self._misses, self._pause, self._failed = 0, 0, []
        if self._pause and all(
            any(_overlap(blob.box, box) for box in self._failed) for blob in found
        ):
            self._pause -= 1
            return False
        fork = detector.fork(settings)
        if fork is None:
            return False
        fork.travel_only = True
        self._detector = fork
        # Travel kept up over CONFIRM_SECONDS: a gust pushes leaves one way for a moment,
        # then back. Never a cooldown: a burst only ever starts an event.
        frames = max(settings.min_frames, math.ceil(CONFIRM_SECONDS * settings.detect_fps - 1e-9))
        self._tracker = EventTracker(frames, math.inf)
        self._keyframe = keyframe
        self._candidates = found
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
        event = change[1]
        event.start = min(event.start, self._keyframe)
        # Dated back to where the keyframes first saw *this* object: the candidate nearest
        # to it among those it could have come from since the keyframe.
        reach = REACH_SPEED * (time - self._keyframe)
        near = [b for b in self._candidates if _overlap(_grown(b.box, reach), event.box)]
        self.age = min(near, key=lambda b: _distance(b.box, event.box)).age if near else 1
        self._detector = self._tracker = None
        self._misses, self._pause, self._failed = 0, 0, []
        self.confirmed += 1
        return event, result

    def end(self, *, miss: bool = True) -> None:
        """The group is over (`miss`: without a confirmation, for nothing), or the scene
        changed (detection off, learned anew: not a miss)."""
        if self._detector is not None and miss:
            self._misses += 1
            self._last_miss = self._keyframe
            self._failed = [*self._failed, *(blob.box for blob in self._candidates)][-MAX_FAILED:]
            if self._misses >= MISSES_BEFORE_PAUSE:
                self._pause = min(MAX_PAUSE, 2 ** (self._misses - MISSES_BEFORE_PAUSE))
        self._detector = None
        self._tracker = None


def _overlap(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _grown(box: Box, by: float) -> Box:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def _distance(a: Box, b: Box) -> float:
    """Between the boxes' centres (shares of the frame)."""
    return math.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2)
