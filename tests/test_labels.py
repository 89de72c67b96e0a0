"""What moved, in Home Assistant (issue 15): labels on events, sensors, alarms, clips,
reports and consent, with the real NanoDet model on real footage (vtest.avi over a real
RTSP peer) and on the demo camera; and everything as before without a detector."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
import pytest_socket
from homeassistant.components.media_source import async_browse_media
from homeassistant.const import ATTR_ENTITY_ID, CONF_URL, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.privacy_cam.classifier import DATA_CLASSIFIER, LABEL_DEADLINE
from custom_components.privacy_cam.const import CONF_KIND, DOMAIN
from custom_components.privacy_cam.engine.classify import (
    Classification,
    ClassifierSettings,
    ClassifierWorker,
    Crop,
    Label,
    SharedWorker,
    WorkerState,
)
from custom_components.privacy_cam.media_source import media_content_id

from .conftest import setup_demo, wait_for
from .peers.rtsp import RtspServer, rtsp_server
from .peers.videos import transcode_h264

VTEST = Path(__file__).parent / "data" / "vtest.avi"
DISCLOSURE = {
    "recipient": "Detector Lab",
    "purpose": "Improve false-alarm detection",
    "humans_watch": "yes",
    "retention": "30 days",
    "withdrawal": "Email delete@lab.example",
}


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    """vtest.avi (pedestrians on a street, 768x576) served over RTSP: 30 s, then it ends."""
    pytest_socket.enable_socket()  # module fixtures start before socket_enabled
    video = transcode_h264(VTEST, tmp_path_factory.mktemp("street") / "street.mp4", seconds=30)
    with rtsp_server(video) as server:
        yield server


def _bus(hass: HomeAssistant, *names: str) -> list[Event]:
    """The bus events, in the order they fired (a callback runs on the loop at once)."""
    events: list[Event] = []

    @callback
    def _record(event: Event) -> None:
        events.append(event)

    for name in names:
        hass.bus.async_listen(f"{DOMAIN}_{name}", _record)
    return events


class StandIn:
    """A model for the worker to load where a test needs answers the real one cannot be
    made to give (a failing model, confidences in a given order); the worker, pipeline
    and everything after them are the real ones."""

    def __init__(self, *answers: tuple[Label, float]) -> None:
        self.settings = ClassifierSettings()
        self.answers = list(answers)
        self.calls = 0

    def classify(self, crop: Crop) -> Classification:
        self.calls += 1
        label, score = self.answers[min(self.calls, len(self.answers)) - 1]
        if score < 0:
            raise RuntimeError("the model failed")
        return Classification(label, score, (), 1.0, 1.0, (320, 320))


def _use_model(hass: HomeAssistant, model: StandIn) -> None:
    hass.data[DATA_CLASSIFIER] = SharedWorker(lambda: ClassifierWorker(load=lambda: model))


def _state(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return None if state is None else state.state


async def _arm(hass: HomeAssistant, camera: str) -> None:
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: f"switch.{camera}_armed"}, blocking=True
    )


async def test_a_person_is_labelled_alarms_and_is_never_learned(
    hass: HomeAssistant, street: RtspServer, tmp_path: Path
) -> None:
    """Real pedestrians: the event is labelled person before the person-only alarm
    fires; the person sensor is on; the clip carries the label into list_clips, the
    media browser and a share's consent text; a false-alarm report on it is refused
    until confirmed, and even then teaches nothing."""
    assert await async_setup_component(hass, "media_source", {})
    events = _bus(hass, "motion_started", "motion_labelled", "alarm", "clip_saved")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Street",
        unique_id="street",
        data={CONF_KIND: "rtsp", CONF_URL: street.url()},
        options={"alarm_for": "person", "max_clip_length": 10, "preroll": 1, "postroll": 1},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data.runtime
    assert runtime.labels_available
    await _arm(hass, "street")

    def kinds() -> list[str]:
        return [e.event_type.removeprefix(f"{DOMAIN}_") for e in events]

    await wait_for(lambda: "alarm" in kinds(), 20)
    started = next(e for e in events if e.event_type.endswith("motion_started"))
    assert started.data["label"] is None and started.data["confidence"] is None
    labelled = [e for e in events if e.event_type.endswith("motion_labelled")]
    alarm = next(e for e in events if e.event_type.endswith("alarm"))
    # The alarm waited for the label: it came after the first person label.
    assert kinds().index("alarm") > kinds().index("motion_labelled")
    assert alarm.data["label"] == "person" and alarm.data["confidence"] >= 0.5
    assert labelled[-1].data["event_id"] == started.data["event_id"]
    assert _state(hass, "binary_sensor.street_alarm") == STATE_ON
    assert _state(hass, "binary_sensor.street_person") == STATE_ON
    person = hass.states.get("binary_sensor.street_person")
    assert person is not None and person.attributes["device_class"] == "occupancy"
    # A person often stands by a parked car here; only the event's best label counts.
    assert _state(hass, "binary_sensor.street_vehicle") == STATE_OFF
    assert _state(hass, "binary_sensor.street_animal") == STATE_OFF
    event = hass.states.get("event.street_motion")
    assert event is not None and event.attributes["label"] == "person"

    # The first 10-s part of the event's clip is saved with the label.
    await wait_for(lambda: "clip_saved" in kinds(), 30)
    clip_id = next(e for e in events if e.event_type.endswith("clip_saved")).data["clip_id"]
    clip = runtime.shared.store.get(clip_id)
    assert clip is not None and clip.label == "person" and (clip.confidence or 0) >= 0.5
    listed = await hass.services.async_call(
        DOMAIN, "list_clips", {}, blocking=True, return_response=True
    )
    assert listed is not None
    row = next(c for c in listed["clips"] if c["id"] == clip_id)  # type: ignore[union-attr, index]
    assert row["label"] == "person" and row["confidence"] == clip.confidence
    folder = await async_browse_media(hass, f"media-source://{DOMAIN}/{runtime.camera}")
    day = await async_browse_media(hass, folder.children[0].media_content_id)
    titles = {c.media_content_id: c.title for c in day.children}
    assert "· person" in titles[media_content_id(clip_id)]

    # A false-alarm report on a person clip: refused unless confirmed.
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            DOMAIN, "report_false_alarm", {"clip_id": clip_id}, blocking=True
        )
    assert refused.value.translation_key == "person_report_unconfirmed"
    assert "saw a person" in str(refused.value)
    clip = runtime.shared.store.get(clip_id)
    assert clip is not None and not clip.false_alarm  # nothing changed
    (tmp_path / "handover").mkdir()
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    destination = MockConfigEntry(
        domain=DOMAIN,
        title="Detector Lab",
        unique_id="folder:lab",
        data={
            "kind": "share_destination",
            "destination_kind": "folder",
            "path": str(tmp_path / "handover"),
            **DISCLOSURE,
        },
    )
    destination.add_to_hass(hass)
    assert await hass.config_entries.async_setup(destination.entry_id)
    # The destination's "share a clip" dialog refuses it the same way, then takes it.
    flow = await hass.config_entries.options.async_init(destination.entry_id)
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"], {"next_step_id": "share_clip"}
    )
    option = next(
        o for o in flow["data_schema"].schema["clip"].config["options"] if o["value"] == clip_id
    )
    assert option["label"].endswith("· person")
    shared = {"clip": clip_id, "blur_outside_motion": True, "not_a_person": False}
    flow = await hass.config_entries.options.async_configure(flow["flow_id"], shared)
    assert flow["type"] is FlowResultType.FORM and flow["errors"] == {"base": "share_not_prepared"}
    assert "saw a person" in flow["description_placeholders"]["error"]
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"], {**shared, "not_a_person": True}
    )
    assert flow["type"] is FlowResultType.ABORT and flow["reason"] == "share_prepared"
    sharing_reports = [r for r in (await _reports(hass)) if r.clip_id == clip_id]
    assert len(sharing_reports) == 1
    consent = sharing_reports[0].consent_text
    assert "Consent text version 3." in consent
    assert "as the detector on this box judged: a PERSON" in consent
    # Marked, but nothing learned: local learning never learns to ignore people.
    clip = runtime.shared.store.get(clip_id)
    assert clip is not None and clip.false_alarm
    assert runtime.learning.lessons == []
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_unload(destination.entry_id)


async def _reports(hass: HomeAssistant) -> list[Any]:
    from custom_components.privacy_cam.data import DATA_SHARING

    return list(hass.data[DATA_SHARING].reports.all())


async def test_the_demo_walker_is_no_person_so_a_person_alarm_stays_off(
    hass: HomeAssistant,
) -> None:
    """The demo's walker is a flat drawing: motion is on, it gets a label that is not
    person, and a person-only alarm never fires while an any-motion camera's would."""
    events = _bus(hass, "motion_started", "motion_labelled", "alarm", "motion_ended")
    entry = await setup_demo(hass, {"alarm_for": "person", "cooldown": 1})
    await _arm(hass, "garden")
    await wait_for(lambda: any(e.event_type.endswith("motion_labelled") for e in events), 20)
    await wait_for(lambda: any(e.event_type.endswith("motion_ended") for e in events), 20)
    labels = [e.data["label"] for e in events if e.event_type.endswith("motion_labelled")]
    assert labels and "person" not in labels
    assert not any(e.event_type.endswith("alarm") for e in events)
    assert _state(hass, "binary_sensor.garden_alarm") == STATE_OFF
    assert _state(hass, "binary_sensor.garden_person") == STATE_OFF
    ended = next(e for e in events if e.event_type.endswith("motion_ended"))
    assert ended.data["label"] == labels[-1]
    # The label went off with the event; the sensors stay available.
    assert entry.runtime_data.runtime.label is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_without_a_detector_every_motion_alarms_and_diagnostics_say_why(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """No ncnn (as on a platform without its wheel): the label sensors are unavailable,
    a person-only alarm falls back to any motion, and the diagnostics give the reason."""
    with patch.dict(sys.modules, {"ncnn": None}):  # `import ncnn` raises ImportError
        entry = await setup_demo(hass, {"alarm_for": "person"})
    runtime = entry.runtime_data.runtime
    worker = hass.data[DATA_CLASSIFIER].worker
    assert worker is not None and worker.state is WorkerState.UNAVAILABLE
    assert not runtime.labels_available
    for label in ("person", "vehicle", "animal"):
        assert _state(hass, f"binary_sensor.garden_{label}") == STATE_UNAVAILABLE
    events = _bus(hass, "alarm", "motion_labelled")
    await _arm(hass, "garden")
    await wait_for(lambda: _state(hass, "binary_sensor.garden_alarm") == STATE_ON, 15)
    assert [e.event_type for e in events] == [f"{DOMAIN}_alarm"]
    assert events[0].data["label"] is None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    detector = diagnostics["detector"]
    assert detector["labels_available"] is False and detector["state"] == "unavailable"
    assert "ncnn is not installed" in detector["unavailable_reason"]
    assert detector["alarm_for"] == ["person"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_one_classifier_thread_for_all_cameras_stopped_with_the_last(
    hass: HomeAssistant, street: RtspServer
) -> None:
    """Two cameras share one worker; unloading one keeps it, the last stops it."""
    garden = await setup_demo(hass)
    street_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Street",
        unique_id="street",
        data={CONF_KIND: "rtsp", CONF_URL: street.url()},
    )
    street_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(street_entry.entry_id)
    worker = hass.data[DATA_CLASSIFIER].worker
    assert worker is not None and worker.state is WorkerState.READY
    assert garden.runtime_data.runtime.pipeline.classifier is worker
    assert street_entry.runtime_data.runtime.pipeline.classifier is worker
    await hass.config_entries.async_unload(garden.entry_id)
    assert worker.state is WorkerState.READY
    await hass.config_entries.async_unload(street_entry.entry_id)
    assert worker.state is WorkerState.STOPPED and hass.data[DATA_CLASSIFIER].worker is None


async def test_a_person_only_alarm_still_fires_when_no_label_comes(hass: HomeAssistant) -> None:
    """A model that fails every crop: no label ever comes, so the person-only alarm
    fires anyway `LABEL_DEADLINE` seconds into the event (a stalled detector must not
    hide an intruder); a `none` answer, by contrast, is an answer (previous test)."""
    model = StandIn((Label.NONE, -1.0))
    _use_model(hass, model)
    events = _bus(hass, "motion_started", "alarm", "motion_labelled")
    entry = await setup_demo(hass, {"alarm_for": "person"})
    await _arm(hass, "garden")
    await wait_for(lambda: any(e.event_type.endswith("alarm") for e in events), 20)
    started, alarm = events[0], events[-1]
    assert started.event_type.endswith("motion_started") and alarm.event_type.endswith("alarm")
    assert alarm.data["label"] is None and model.calls >= 1
    delay = (alarm.time_fired - started.time_fired).total_seconds()
    assert LABEL_DEADLINE - 0.5 <= delay <= LABEL_DEADLINE + 2
    assert _state(hass, "binary_sensor.garden_alarm") == STATE_ON
    await hass.config_entries.async_unload(entry.entry_id)


async def test_one_alarm_per_event_even_after_disarming_and_rearming(
    hass: HomeAssistant,
) -> None:
    """The first person crop raises the alarm; disarmed and re-armed before the next
    crop (2 s later), whose higher confidence is a label change, no second alarm."""
    model = StandIn((Label.PERSON, 0.6), (Label.PERSON, 0.7), (Label.PERSON, 0.8))
    _use_model(hass, model)
    events = _bus(hass, "alarm", "motion_labelled")
    entry = await setup_demo(hass, {"alarm_for": "person"})
    await _arm(hass, "garden")
    await wait_for(lambda: _state(hass, "binary_sensor.garden_alarm") == STATE_ON, 20)
    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: "switch.garden_armed"}, blocking=True
    )
    assert _state(hass, "binary_sensor.garden_alarm") == STATE_OFF
    await _arm(hass, "garden")
    await wait_for(lambda: sum(e.event_type.endswith("labelled") for e in events) >= 2, 10)
    labelled = [e.data["confidence"] for e in events if e.event_type.endswith("labelled")]
    assert labelled[:2] == [0.6, 0.7]
    assert [e.event_type for e in events].count(f"{DOMAIN}_alarm") == 1
    assert _state(hass, "binary_sensor.garden_alarm") == STATE_OFF
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_person_below_the_confidence_setting_is_still_never_learned(
    hass: HomeAssistant,
) -> None:
    """At a 95 % confidence setting a person seen at 0.6 is no `person` label, but the
    clip still records the person score: its report needs the confirmation and
    teaches nothing."""
    model = StandIn((Label.PERSON, 0.6))
    _use_model(hass, model)
    saved = _bus(hass, "clip_saved")
    entry = await setup_demo(
        hass, {"label_confidence": 95, "cooldown": 1, "preroll": 1, "postroll": 1}
    )
    await wait_for(lambda: saved, 30)
    assert saved[0].data["label"] == "none" and saved[0].data["confidence"] == 0.0
    runtime = entry.runtime_data.runtime
    clip = runtime.shared.store.get(saved[0].data["clip_id"])
    assert clip is not None and clip.label == "none" and clip.person == 0.6
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            DOMAIN, "report_false_alarm", {"clip_id": clip.id}, blocking=True
        )
    assert refused.value.translation_placeholders["confidence"] == "60"
    await hass.services.async_call(
        DOMAIN, "report_false_alarm", {"clip_id": clip.id, "not_a_person": True}, blocking=True
    )
    clip = runtime.shared.store.get(clip.id)
    assert clip is not None and clip.false_alarm and runtime.learning.lessons == []
    await hass.config_entries.async_unload(entry.entry_id)
