import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import CIFAKE_ZIP, cifake_members
from realfake_hf.cross_dataset import cross_dataset_report, write_comparison
from realfake_hf.cross_dataset.__main__ import main as cross_dataset_cli
from realfake_hf.cross_dataset.analysis import (
    NO_OVERLAP,
    best_accuracy_threshold,
    calibration_effect,
    most_confident_errors,
    overlap_metrics,
    real_flagged_as_fake,
    validate_content_map,
)
from realfake_hf.data import load_detection_dataset
from realfake_hf.data.cifake import content_from_file_name
from realfake_hf.data.images import policy_views
from realfake_hf.inference import load_detector, predict_split


def test_best_threshold_separates_what_half_a_point_cannot():
    labels = np.array([0, 0, 0, 1, 1, 1])
    p_fake = np.array([0.05, 0.1, 0.2, 0.25, 0.3, 0.4])  # all below 0.5, yet perfectly ranked
    threshold = best_accuracy_threshold(labels, p_fake)
    assert 0.2 < threshold <= 0.25
    assert ((p_fake >= threshold) == labels).all()


def test_overlap_split_counts_and_says_when_a_side_is_empty():
    labels = np.array([0, 1, 0, 1, 0, 1])
    p_fake = np.array([0.1, 0.9, 0.8, 0.2, 0.4, 0.6])
    contents = ["pets", "pets", "city", "city", "city", "city"]
    split = overlap_metrics(labels, p_fake, contents, {"pets": "cat", "city": None})
    assert split["overlapping"]["n"] == 2 and split["overlapping"]["accuracy"] == 1.0
    assert split["overlapping"]["categories"] == ["pets"]
    assert split["non_overlapping"]["n"] == 4 and split["non_overlapping"]["accuracy"] == 0.5
    nothing = overlap_metrics(labels, p_fake, contents, {"pets": None, "city": None})
    assert nothing["overlapping"] == {"n": 0, "note": NO_OVERLAP}


def test_content_map_rejects_unknown_categories_and_classes():
    assert validate_content_map({"pets": "cat"}, ["pets", "city"]) == {"pets": "cat", "city": None}
    with pytest.raises(ValueError, match="categories"):
        validate_content_map({"beach": None}, ["pets", "city"])
    with pytest.raises(ValueError, match="CIFAR-10"):
        validate_content_map({"pets": "hamster"}, ["pets", "city"])


def test_calibration_effect_at_temperature_one_changes_nothing_and_sharpening_lowers_coverage_loss():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    logits = np.stack([-(labels * 2 - 1) * 3.0, (labels * 2 - 1) * 3.0], axis=1) + rng.normal(0, 3, (200, 2))
    same = calibration_effect(logits, labels, 1.0, fake_index=1)
    assert same["before"] == same["after"]
    softer = calibration_effect(logits, labels, 4.0, fake_index=1)
    assert softer["after"]["abstain"]["coverage"] < softer["before"]["abstain"]["coverage"]


def test_most_confident_errors_come_first():
    labels = np.array([0, 0, 0, 1, 1, 1])
    p_fake = np.array([0.6, 0.99, 0.1, 0.45, 0.01, 0.9])
    errors = most_confident_errors(labels, p_fake, count=5)
    assert errors == {"false_positives": [1, 0], "false_negatives": [4, 3]}


def test_real_flagged_as_fake_counts_per_content():
    labels = np.array([0, 0, 0, 0, 1])
    p_fake = np.array([0.95, 0.6, 0.1, 0.2, 0.99])
    flagged = real_flagged_as_fake(labels, p_fake, ["people", "people", "people", "city", "people"])
    assert flagged["people"] == {"n_real": 3, "flagged_share": pytest.approx(2 / 3),
                                 "confidently_flagged_share": pytest.approx(1 / 3), "median_p_fake_of_flagged": pytest.approx(0.775)}
    assert flagged["city"]["flagged_share"] == 0 and flagged["city"]["median_p_fake_of_flagged"] is None


def test_policy_views_are_squares_of_the_picture():
    image = Image.new("RGB", (200, 100))
    assert policy_views(image, "resize") == [image]
    (centre,) = policy_views(image, "center_crop")
    assert centre.size == (100, 100)
    crops = policy_views(image, "multi_crop")
    assert len(crops) == 5 and {crop.size for crop in crops} == {(80, 80)}
    with pytest.raises(ValueError, match="policy"):
        policy_views(image, "zoom")


@pytest.fixture(scope="module")
def overlapping_folder(tmp_path_factory, real_or_ai_dir):
    """A tiny hand-made set: CIFAKE test airplanes (content 'planes', which maps to a CIFAR-10 class) beside
    real-or-ai city pictures (no CIFAR-10 counterpart)."""
    root = tmp_path_factory.mktemp("overlap") / "mixed-set"
    planes = [m for m in cifake_members({"train": 0, "test": 3}) if content_from_file_name(m.split("/")[-1]) == "airplane"]
    with zipfile.ZipFile(CIFAKE_ZIP) as archive:
        for member in planes:
            _, label, base = member.split("/")
            target = root / "planes" / label.lower() / base
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
    for folder in ("real", "ai"):
        for index in (1, 2, 3):
            target = root / "city" / folder / f"{index}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((real_or_ai_dir / "city" / folder / f"{index}.jpg").read_bytes())
    return root


def test_report_on_a_hand_made_overlapping_set(tmp_path, overlapping_folder, trained_tiny_model, mini_cifake_zip):
    model_dir = trained_tiny_model
    report = cross_dataset_report(
        model_dir, tmp_path / "tiny", dataset=str(overlapping_folder), content_map={"planes": "airplane"},
        cifake_path=str(mini_cifake_zip), max_cifake_samples=40, gallery_size=2,
    )
    assert report["n"] == 12 and report["n_per_label"] == {"real": 6, "fake": 6}
    overlap = report["content_overlap"]
    assert overlap["overlapping"]["n"] == 6 and overlap["overlapping"]["categories"] == ["planes"]
    assert overlap["non_overlapping"]["n"] == 6 and overlap["non_overlapping"]["categories"] == ["city"]
    assert set(report["policies"]) == {"resize", "center_crop", "multi_crop"}
    assert set(report["policies"]["resize"]["per_content"]) == {"planes", "city"}
    assert report["temperature"] > 0
    assert set(report["real_flagged_as_fake"]) == {"planes", "city"}
    written = {path.name for path in (tmp_path / "tiny").iterdir()}
    assert {"cross_dataset.json", "predictions.csv", "policies.png", "per_content.png", "confidence_histograms.png",
            "reliability_diagram.png"} <= written
    errors = report["most_confident_errors"]
    assert {"false_positives.png"} <= written or not errors["false_positives"]

    # the resize policy is the same conversion as evaluate.py's pipeline
    model, processor = load_detector(model_dir)
    data = load_detection_dataset(str(overlapping_folder))["test"]
    predictions = pd.read_csv(tmp_path / "tiny" / "predictions.csv")
    np.testing.assert_allclose(predictions["p_fake_resize"], predict_split(model, processor, data), atol=1e-5)

    table = write_comparison(tmp_path).read_text()
    assert table.count("| paper_cnn |") == 3 + 2, "one row per preprocessing policy, one per content with real images"
    assert "| paper_cnn | planes | 3 |" in table


def test_cli_writes_one_folder_per_model_and_the_table(tmp_path, overlapping_folder, trained_tiny_model, mini_cifake_zip):
    model_dir = trained_tiny_model
    cross_dataset_cli(["--models", str(model_dir), "--dataset", str(overlapping_folder), "--policies", "resize",
                       "--cifake_path", str(mini_cifake_zip), "--max_cifake_samples", "40",
                       "--output_dir", str(tmp_path), "--gallery_size", "1"])
    (report_file,) = tmp_path.glob("*/cross_dataset.json")
    report = json.loads(report_file.read_text())
    assert list(report["policies"]) == ["resize"]
    assert report["content_overlap"]["overlapping"] == {"n": 0, "note": NO_OVERLAP}
    assert (tmp_path / "README.md").exists() and (tmp_path / "comparison.png").exists()
