"""Which frames of an event to classify, and what the event is once its crops are back.

Issue 15: classify motion, not frames. A crop is taken when an event starts and then
every `interval` seconds while it lasts, at most `max_crops` per event. A crop the
worker skips (busy) is retried after `retry` seconds without counting.

Not thread-safe: the camera's pipeline guards each `EventLabel` with its own lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .labels import Label, strongest
from .nanodet import Classification


@dataclass(frozen=True, slots=True)
class CropPlan:
    """`max_crops` crops `interval` apart from the event's start; then, while the event
    lasts and no crop showed a person yet, one every `revisit` seconds (None: never): a
    long event (a tree in the wind, a cat) must not hide a person who comes later."""

    max_crops: int = 3
    interval: float = 2.0  # seconds between crops of one event
    retry: float = 0.5  # seconds before trying again after a skipped crop
    revisit: float | None = 10.0

    def __post_init__(self) -> None:
        if self.max_crops < 1 or self.interval <= 0 or self.retry <= 0:
            raise ValueError(f"invalid crop plan: {self!r}")
        if self.revisit is not None and self.revisit <= 0:
            raise ValueError(f"invalid crop plan: {self!r}")


@dataclass(slots=True)
class EventLabel:
    """One event's crops: when the next is due, and the label so far.

    Call `due(now)` on each analysed frame of the event; when it is True, submit a crop
    and report the outcome with `submitted(now, accepted)`; pass results to `add`.
    """

    plan: CropPlan = field(default_factory=CropPlan)
    crops: int = 0  # accepted by the worker
    skipped: int = 0
    results: list[Classification] = field(default_factory=list)
    _next: float | None = None

    def due(self, now: float) -> bool:
        if self._next is not None and now < self._next:
            return False
        if self.crops < self.plan.max_crops:
            return True
        # Revisits: nothing outranks a person, so once one was seen there is no need.
        return self.plan.revisit is not None and self.person is None

    def submitted(self, now: float, accepted: bool) -> None:
        if accepted:
            self.crops += 1
            revisit = self.plan.revisit
            wait = revisit if revisit is not None and self.crops >= self.plan.max_crops else None
            self._next = now + (self.plan.interval if wait is None else wait)
        else:
            self.skipped += 1
            self._next = now + self.plan.retry

    def add(self, result: Classification) -> None:
        self.results.append(result)

    @property
    def person(self) -> float | None:
        """The best score any crop gave a person (its pick or one of its detections),
        whatever the user's threshold; None when none showed one."""
        scores = [
            score
            for result in self.results
            for label, score in (
                (result.label, result.score),
                *((d.label, d.score) for d in result.detections),
            )
            if label is Label.PERSON
        ]
        return max(scores, default=None)

    @property
    def scores(self) -> dict[Label, float]:
        """Best score of each label any crop showed (`NONE` when a crop showed nothing)."""
        best: dict[Label, float] = {}
        for result in self.results:
            best[result.label] = max(best.get(result.label, 0.0), result.score)
        return best

    def best(self, min_score: float = 0.0) -> tuple[Label, float] | None:
        """The event's label and its confidence, counting only labels seen with a score of
        at least `min_score` (the user's threshold); None while no crop was classified.

        A label's score is the best any crop gave it, as its pick or as one of its counted
        detections (a crop picked as person at 0.4 that also showed a dog at 0.8 is still
        an animal at a 0.5 threshold). Among the labels that qualify `PRIORITY` wins; when
        none does, the event is `NONE` with confidence 0.0 (the detector ran: nothing it
        found was sure enough).
        """
        if not self.results:
            return None
        best: dict[Label, float] = {}
        for result in self.results:
            found = [(result.label, result.score), *((d.label, d.score) for d in result.detections)]
            for label, score in found:
                if label is not Label.NONE and score >= min_score:
                    best[label] = max(best.get(label, 0.0), score)
        return strongest(best)

    @property
    def label(self) -> Label | None:
        """The event's label (`PRIORITY` across crops); None while no crop was classified,
        which is also what an event gets with no detector."""
        if not self.results:
            return None
        return strongest(self.scores)[0]
