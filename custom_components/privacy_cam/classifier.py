"""What moved: the instance's one classifier thread, and the label options of a camera.

One `ClassifierWorker` runs for every camera of the instance (`SharedWorker`): the
first camera set up starts it, the last one unloaded stops it, and Home Assistant's
stop stops it too (the harness and the supervisor wait for threads). Without ncnn, or
with a model that fails its checksum, the worker is unavailable, says why in the
diagnostics, and every camera alarms and records as it would without a detector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import (
    ALARM_FOR_ANY,
    ALARM_FOR_LABELLED,
    ALARM_FOR_PERSON,
    ALARM_FOR_PERSON_ANIMAL,
    ALARM_FOR_PERSON_VEHICLE,
    CONF_ALARM_FOR,
    CONF_LABEL_CONFIDENCE,
    DEFAULT_ALARM_FOR,
    DEFAULT_LABEL_CONFIDENCE,
    DOMAIN,
)
from .engine.classify import ClassifierWorker, Label, SharedWorker, WorkerState
from .engine.recording.clipstore import Clip

DATA_CLASSIFIER: HassKey[SharedWorker] = HassKey(f"{DOMAIN}_classifier")
# An armed camera that alarms only for some labels still alarms on an event that got no
# label at all this long after its start (crops failed, the detector stalled or died):
# a missed intruder costs more than a false alarm. A label of `none` is an answer.
LABEL_DEADLINE = 5.0
# The model loads on the worker thread (about a second on a Pi): the first camera's
# set-up waits for it, so its entities know from the start whether labels exist.
LOAD_TIMEOUT = 30.0

ALARM_LABELS: dict[str, frozenset[Label] | None] = {
    ALARM_FOR_ANY: None,
    ALARM_FOR_PERSON: frozenset({Label.PERSON}),
    ALARM_FOR_PERSON_VEHICLE: frozenset({Label.PERSON, Label.VEHICLE}),
    ALARM_FOR_PERSON_ANIMAL: frozenset({Label.PERSON, Label.ANIMAL}),
    ALARM_FOR_LABELLED: frozenset({Label.PERSON, Label.VEHICLE, Label.ANIMAL}),
}


@dataclass(frozen=True, slots=True)
class LabelOptions:
    """`alarm_for`: the labels that raise the alarm (None: any motion);
    `threshold`: the confidence (0-1) a label needs."""

    alarm_for: frozenset[Label] | None = None
    threshold: float = DEFAULT_LABEL_CONFIDENCE / 100


def label_options(options: Mapping[str, Any]) -> LabelOptions:
    return LabelOptions(
        alarm_for=ALARM_LABELS[options.get(CONF_ALARM_FOR, DEFAULT_ALARM_FOR)],
        threshold=float(options.get(CONF_LABEL_CONFIDENCE, DEFAULT_LABEL_CONFIDENCE)) / 100,
    )


def person_score(clip: Clip) -> float | None:
    """How sure the detector was that the clip shows a person (None: it saw none): its
    label, or any crop's person at the detector's own threshold, whatever the user's
    confidence setting. Reports check this: learning never learns to ignore people."""
    scores = [clip.person] + ([clip.confidence] if clip.label == Label.PERSON else [])
    found = [score for score in scores if score is not None]
    if clip.label == Label.PERSON and not found:
        return 0.0
    return max(found, default=None)


def labels_available(worker: ClassifierWorker | None) -> bool:
    """Whether labels can come (a worker still loading counts: its labels will)."""
    return worker is not None and worker.state in (WorkerState.LOADING, WorkerState.READY)


def _shared(hass: HomeAssistant) -> SharedWorker:
    if (shared := hass.data.get(DATA_CLASSIFIER)) is None:
        shared = hass.data[DATA_CLASSIFIER] = SharedWorker()

        async def _async_stop(_event: Event) -> None:
            if (worker := shared.worker) is not None:
                await hass.async_add_executor_job(worker.stop)

        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop)
    return shared


async def async_acquire_classifier(hass: HomeAssistant) -> ClassifierWorker:
    """The instance's worker, started by the first caller; returns once it loaded (or
    failed to: see `unavailable_reason`)."""
    worker = _shared(hass).acquire()  # starting a thread does not block
    await hass.async_add_executor_job(worker.wait_ready, LOAD_TIMEOUT)
    return worker


async def async_release_classifier(hass: HomeAssistant) -> None:
    """One camera less; the last one stops the worker (joins its thread: executor)."""
    if (shared := hass.data.get(DATA_CLASSIFIER)) is not None:
        await hass.async_add_executor_job(shared.release)
