"""Which frames of an event to classify, and what the event is once its crops are back.

Issue 15: classify motion, not frames. A crop is taken when an event starts and then
every `interval` seconds while it lasts, at most `max_crops` per event. A crop the
worker skips (busy) is retried after `retry` seconds without counting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .labels import Label, strongest
from .nanodet import Classification


@dataclass(frozen=True, slots=True)
class CropPlan:
    max_crops: int = 3
    interval: float = 2.0  # seconds between crops of one event
    retry: float = 0.5  # seconds before trying again after a skipped crop

    def __post_init__(self) -> None:
        if self.max_crops < 1 or self.interval <= 0 or self.retry <= 0:
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
        return self.crops < self.plan.max_crops and (self._next is None or now >= self._next)

    def submitted(self, now: float, accepted: bool) -> None:
        if accepted:
            self.crops += 1
            self._next = now + self.plan.interval
        else:
            self.skipped += 1
            self._next = now + self.plan.retry

    def add(self, result: Classification) -> None:
        self.results.append(result)

    @property
    def scores(self) -> dict[Label, float]:
        """Best score of each label any crop showed (`NONE` when a crop showed nothing)."""
        best: dict[Label, float] = {}
        for result in self.results:
            best[result.label] = max(best.get(result.label, 0.0), result.score)
        return best

    @property
    def label(self) -> Label | None:
        """The event's label (`PRIORITY` across crops); None while no crop was classified,
        which is also what an event gets with no detector."""
        if not self.results:
            return None
        return strongest(self.scores)[0]
