"""The NanoDet-m wrapper: shipped files and their hashes, crop and letterbox geometry,
decoding and NMS on known outputs, and the real model on real footage."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from custom_components.privacy_cam.engine.classify import nanodet
from custom_components.privacy_cam.engine.classify.labels import Label
from custom_components.privacy_cam.engine.classify.nanodet import (
    BIN_FILE,
    MODEL_DIR,
    MODEL_SHA256,
    OUTPUT_BLOBS,
    PARAM_FILE,
    ClassifierSettings,
    Detection,
    ModelError,
    NanoDet,
    crop_region,
    decode,
    letterbox_size,
    nms,
    overlap,
    pick_label,
    verify_model,
)

VTEST = Path(__file__).parents[2] / "data" / "vtest.avi"
SETTINGS = ClassifierSettings()


@pytest.fixture(scope="module")
def model() -> NanoDet:
    return NanoDet.load()


@pytest.fixture(scope="module")
def vtest_frame() -> np.ndarray:
    """Frame 200 of vtest.avi (768x576): eight pedestrians, a parked van and car."""
    with av.open(str(VTEST)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index == 200:
                image: np.ndarray = frame.to_ndarray(format="rgb24")
                return image
    raise AssertionError("vtest.avi is too short")


# The shipped model -------------------------------------------------------------------


def test_the_shipped_files_match_their_hashes_provenance_and_licence() -> None:
    verify_model()
    sums = {}
    for line in (MODEL_DIR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name] = digest
    assert sums == MODEL_SHA256
    provenance = (MODEL_DIR / "PROVENANCE.md").read_text()
    assert all(digest in provenance for digest in MODEL_SHA256.values())
    licence = (MODEL_DIR / "LICENSE").read_text()
    assert "Apache License" in licence
    assert "Version 2.0, January 2004" in licence
    assert "Copyright 2020-2021 RangiLyu" in licence
    assert 1_800_000 < (MODEL_DIR / BIN_FILE).stat().st_size < 2_100_000


def _copy_model(folder: Path) -> Path:
    for name in (PARAM_FILE, BIN_FILE):
        shutil.copyfile(MODEL_DIR / name, folder / name)
    return folder


def test_a_corrupted_model_fails_its_hash_before_ncnn_sees_it(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    data = bytearray((folder / BIN_FILE).read_bytes())
    data[1000] ^= 0xFF
    (folder / BIN_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"nanodet_m\.bin fails its sha256 check"):
        verify_model(folder)
    with pytest.raises(ModelError, match="fails its sha256 check"):
        NanoDet.load(folder)


def test_a_missing_model_file_says_so(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    (folder / PARAM_FILE).unlink()
    with pytest.raises(ModelError, match=r"nanodet_m\.param cannot be read"):
        NanoDet.load(folder)


def test_without_ncnn_the_reason_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ncnn", None)  # import ncnn raises ImportError
    with pytest.raises(ModelError, match="ncnn is not installed"):
        NanoDet.load()


def _pretend_hashes(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    for name in (PARAM_FILE, BIN_FILE):
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        monkeypatch.setitem(MODEL_SHA256, name, digest)


def test_files_ncnn_cannot_parse_make_the_model_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / PARAM_FILE).write_text("not a param file\n")
    (tmp_path / BIN_FILE).write_bytes(b"\0" * 64)
    _pretend_hashes(monkeypatch, tmp_path)
    with pytest.raises(ModelError, match="could not parse"):
        NanoDet.load(tmp_path)


def test_weights_ncnn_cannot_load_make_the_model_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(MODEL_DIR / PARAM_FILE, tmp_path / PARAM_FILE)
    (tmp_path / BIN_FILE).write_bytes(b"\0" * 64)  # far too short
    _pretend_hashes(monkeypatch, tmp_path)
    with pytest.raises(ModelError, match="could not load"):
        NanoDet.load(tmp_path)


# Geometry ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"score_threshold": 0.0},
        {"nms_iou": 1.5},
        {"input_size": 300},
        {"margin": -0.1},
        {"max_aspect": 0.5},
        {"min_overlap": 2.0},
        {"threads": 0},
    ],
)
def test_settings_are_validated(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="out of range"):
        ClassifierSettings(**values)


def test_a_crop_adds_context_and_keeps_its_place() -> None:
    frame = np.zeros((400, 800, 3), np.uint8)
    frame[100:300, 300:400] = 255  # the object: 100x200 px
    crop = crop_region(frame, (0.375, 0.25, 0.5, 0.75), SETTINGS)
    # 25% of the box on each side: 150x300 px around the same centre.
    assert crop.image.shape == (300, 150, 3)
    assert crop.region == (275 / 800, 50 / 400, 425 / 800, 350 / 400)
    assert crop.motion == (0.375, 0.25, 0.5, 0.75)
    assert crop.image.flags.c_contiguous
    frame[:] = 7  # the caller may reuse its frame
    assert crop.image.max() == 255


def test_a_thin_crop_is_widened_and_an_edge_crop_shifted_into_the_frame() -> None:
    frame = np.zeros((400, 800, 3), np.uint8)
    tall = crop_region(frame, (0.5, 0.0, 0.51, 1.0), SETTINGS)
    height, width = tall.image.shape[:2]
    assert height == 400  # clamped to the frame
    assert height / width <= 2.0  # a 2%-wide box still gets a crop at most 2:1
    corner = crop_region(frame, (0.95, 0.9, 1.2, 1.0), SETTINGS)  # sticks out: clamped
    x0, y0, x1, y1 = corner.region
    assert (x1, y1) == (1.0, 1.0)
    assert 0.0 <= x0 < 0.95
    assert 0.0 <= y0 < 0.9
    assert corner.image.shape[:2] == (round((y1 - y0) * 400), round((x1 - x0) * 800))
    tiny = crop_region(frame, (0.5, 0.5, 0.5001, 0.5001), SETTINGS)
    assert min(tiny.image.shape[:2]) >= 2


@pytest.mark.parametrize(
    ("frame", "box", "message"),
    [
        (np.zeros((10, 10), np.uint8), (0.1, 0.1, 0.5, 0.5), "RGB frame"),
        (np.zeros((10, 10, 3), np.float32), (0.1, 0.1, 0.5, 0.5), "RGB frame"),
        (np.zeros((10, 10, 3), np.uint8), (0.5, 0.5, 0.5, 0.9), "empty motion box"),
        (np.zeros((10, 10, 3), np.uint8), (1.2, 0.1, 1.5, 0.9), "empty motion box"),
    ],
)
def test_bad_frames_and_boxes_are_refused(
    frame: np.ndarray, box: tuple[float, float, float, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        crop_region(frame, box, SETTINGS)


def test_letterbox_keeps_the_long_side_at_the_model_size() -> None:
    assert letterbox_size(768, 576, 320) == (320, 240, 320, 256)
    assert letterbox_size(81, 161, 320) == (161, 320, 192, 320)
    assert letterbox_size(2000, 10, 320) == (320, 2, 320, 32)
    assert letterbox_size(320, 320, 320) == (320, 320, 320, 320)


# Decoding ----------------------------------------------------------------------------


def _outputs(width: int, height: int) -> dict[str, np.ndarray]:
    outputs = {}
    for stride, cls_name, box_name in OUTPUT_BLOBS:
        cells = (width // stride) * (height // stride)
        outputs[cls_name] = np.full((cells, 80), 0.01, np.float32)
        outputs[box_name] = np.zeros((cells, 32), np.float32)
    return outputs


def test_decode_measures_from_the_cell_centre() -> None:
    outputs = _outputs(64, 32)  # stride 8: 8 columns x 4 rows
    cell = 2 * 8 + 5  # row 2, column 5
    outputs["792"][cell, 2] = 0.9  # a car
    bins = np.full((4, 8), -20.0, np.float32)
    bins[:, 2] = 20.0  # every side 2 bins away: 16 px
    outputs["795"][cell] = bins.reshape(32)
    boxes, scores, classes = decode(outputs, 64, 32, 0.4)
    centre_x, centre_y = 5.5 * 8, 2.5 * 8
    np.testing.assert_allclose(
        boxes, [[centre_x - 16, centre_y - 16, centre_x + 16, centre_y + 16]], atol=1e-3
    )
    np.testing.assert_allclose(scores, [0.9])
    assert classes.tolist() == [2]


def test_decode_with_nothing_above_the_threshold() -> None:
    boxes, scores, classes = decode(_outputs(64, 64), 64, 64, 0.4)
    assert boxes.shape == (0, 4)
    assert scores.shape == classes.shape == (0,)


def test_nms_is_per_class() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.6, 0.9, 0.5, 0.4], np.float32)
    classes = np.array([0, 0, 2, 0], np.int64)
    assert nms(boxes, scores, classes, 0.5).tolist() == [1, 2, 3]
    assert nms(boxes[:0], scores[:0], classes[:0], 0.5).tolist() == []


def test_overlap_is_a_share_of_the_smaller_box() -> None:
    assert overlap((0.0, 0.0, 1.0, 1.0), (0.2, 0.2, 0.4, 0.4)) == pytest.approx(1.0)
    assert overlap((0.0, 0.0, 0.2, 0.2), (0.1, 0.0, 0.3, 0.2)) == pytest.approx(0.5)
    assert overlap((0.0, 0.0, 0.1, 0.1), (0.5, 0.5, 0.6, 0.6)) == 0.0
    assert overlap((0.0, 0.0, 0.0, 0.1), (0.0, 0.0, 0.1, 0.1)) == 0.0


def test_only_what_overlaps_the_motion_counts() -> None:
    motion = (0.4, 0.4, 0.6, 0.9)
    walker = Detection(0, 0.55, (0.42, 0.38, 0.58, 0.92))
    parked_car = Detection(2, 0.9, (0.0, 0.5, 0.3, 0.8))  # beside the motion: context only
    bench = Detection(13, 0.8, (0.4, 0.6, 0.6, 0.9))  # not one of our classes
    label, score, counted = pick_label((parked_car, walker, bench), motion, 0.3)
    assert (label, score, counted) == (Label.PERSON, 0.55, (walker,))
    assert pick_label((parked_car, bench), motion, 0.3) == (Label.NONE, 0.0, ())
    assert walker.label is Label.PERSON
    assert bench.label is Label.NONE


# The real model ----------------------------------------------------------------------


def test_the_model_finds_the_pedestrians_of_a_real_frame(
    model: NanoDet, vtest_frame: np.ndarray
) -> None:
    found, size = model.detect(vtest_frame)
    assert size == (320, 256)
    people = [d for d in found if d.label is Label.PERSON]
    assert len(people) >= 5  # eight walk there; NanoDet-m at 320 px finds most
    assert all(0.0 <= v <= 1.0 for d in found for v in d.box)
    assert model.version.startswith("1.0.")


def test_a_crop_around_a_walker_is_a_person(model: NanoDet, vtest_frame: np.ndarray) -> None:
    found, _ = model.detect(vtest_frame)
    walker = max((d for d in found if d.label is Label.PERSON), key=lambda d: d.score)
    result = model.classify(crop_region(vtest_frame, walker.box, model.settings))
    assert result.label is Label.PERSON
    assert result.score >= model.settings.score_threshold
    assert result.input_size[1] == 320  # a tall crop: the long side at the model's size
    assert result.input_size[0] < 320
    assert all(d.label is Label.PERSON for d in result.detections)
    assert result.ms > 0
    assert result.cpu_ms > 0


def test_the_parked_van_on_real_footage_is_a_vehicle(
    model: NanoDet, vtest_frame: np.ndarray
) -> None:
    result = model.classify(crop_region(vtest_frame, (0.84, 0.06, 0.95, 0.16), model.settings))
    assert result.label is Label.VEHICLE


def test_a_blob_ncnn_cannot_compute_is_an_error(vtest_frame: np.ndarray) -> None:
    import ncnn

    class Extractor:
        def input(self, name: str, mat: Any) -> int:
            return 0

        def extract(self, name: str) -> tuple[int, Any]:
            return -100, None

        def clear(self) -> None:
            self.cleared = True

    class Net:
        def create_extractor(self) -> Extractor:
            return Extractor()

    broken = NanoDet(Net(), ncnn, SETTINGS)
    with pytest.raises(ModelError, match="could not compute blob 792"):
        broken.classify(crop_region(vtest_frame, (0.4, 0.4, 0.5, 0.6), SETTINGS))


def test_the_module_imports_ncnn_only_to_load() -> None:
    assert "ncnn" not in vars(nanodet)
