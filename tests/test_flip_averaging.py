"""Test-time flip averaging: the mirror image's logits, the evaluation it writes, and the per-model study."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import yaml
from PIL import ImageOps

from realfake_hf.data import load_detection_dataset
from realfake_hf.data.images import to_rgb
from realfake_hf.evaluation import evaluate_model
from realfake_hf.flip_averaging import main as flip_averaging_main
from realfake_hf.inference import load_detector, split_logits


def test_flip_averaged_logits_are_the_mean_over_the_image_and_its_mirror(trained_tiny_model, mini_cifake_zip):
    model, processor = load_detector(trained_tiny_model)
    test = load_detection_dataset("cifake", str(mini_cifake_zip))["test"].select(range(8))
    # Mirrored through PIL, apart from the tensor flip under test (PNG-encoded, so no pixel changes).
    mirrored = test.map(lambda row: {"image": ImageOps.mirror(to_rgb(row["image"]))})
    plain, of_mirror = split_logits(model, processor, test), split_logits(model, processor, mirrored)
    averaged = split_logits(model, processor, test, test_time_flip=True)
    assert not np.allclose(plain, of_mirror, atol=1e-3)  # the CNN is not mirror-symmetric, so the check has teeth
    np.testing.assert_allclose(averaged, (plain + of_mirror) / 2, atol=1e-5)
    np.testing.assert_allclose(split_logits(model, processor, mirrored, test_time_flip=True), averaged, atol=1e-5)


def test_flip_averaged_evaluation_gets_its_own_folder_and_says_so(trained_tiny_model, mini_cifake_zip, tmp_path):
    model_dir = shutil.copytree(trained_tiny_model, tmp_path / "run")
    flipped = evaluate_model(model_dir, dataset_path=str(mini_cifake_zip), test_time_flip=True)
    written = json.loads((model_dir / "eval/cifake-test-flip/metrics.json").read_text())
    assert written["provenance"]["test_time_flip"] is True and written["accuracy"] == flipped["accuracy"]
    assert written["n"] == 60
    plain = evaluate_model(model_dir, dataset_path=str(mini_cifake_zip), split="validation", split_seed=7)
    assert plain["provenance"]["test_time_flip"] is False and plain["provenance"]["split_seed"] == 7


def test_study_adopts_flips_on_validation_uses_the_runs_own_split_and_resumes(
    trained_tiny_model, mini_cifake_zip, tmp_path,
):
    model_dir = shutil.copytree(trained_tiny_model, tmp_path / "tiny")
    arguments = yaml.safe_load((model_dir / "args.yaml").read_text())
    arguments["data"]["validation_fraction"] = 0.2  # the study must carve the run's validation split, not a default
    (model_dir / "args.yaml").write_text(yaml.safe_dump(arguments))
    output_dir = tmp_path / "study"
    command = ["--models", str(model_dir), "--output_dir", str(output_dir), "--dataset_path", str(mini_cifake_zip)]
    flip_averaging_main(command)

    folder = output_dir / "tiny"
    metrics = {name: json.loads((folder / name / "metrics.json").read_text())
               for name in ("validation", "validation_flip", "test", "test_flip")}
    assert metrics["validation"]["n"] == 48 and metrics["test_flip"]["n"] == 60
    row = pd.read_csv(output_dir / "summary.csv").iloc[0]
    adopted = metrics["validation_flip"]["accuracy"] > metrics["validation"]["accuracy"]
    assert bool(row["flip_adopted_on_validation"]) == adopted
    assert row["test_accuracy_adopted"] == metrics["test_flip" if adopted else "test"]["accuracy"]
    assert row["test_flip_accuracy"] == metrics["test_flip"]["accuracy"]
    predictions = {name: pd.read_csv(folder / name / "predictions.csv") for name in ("test", "test_flip")}
    truth = predictions["test"]["label"] == "fake"
    right = {name: (frame["p_fake"] >= 0.5) == truth for name, frame in predictions.items()}
    assert row["test_only_flip_correct"] == (right["test_flip"] & ~right["test"]).sum()
    assert "| tiny |" in (output_dir / "README.md").read_text() and (output_dir / "flip_averaging.png").exists()

    written = {path: path.stat().st_mtime_ns for path in folder.glob("*/metrics.json")}
    flip_averaging_main(command)
    assert {path: path.stat().st_mtime_ns for path in folder.glob("*/metrics.json")} == written
    # A subset is another measurement: it replaces the kept evaluations instead of being mistaken for them.
    flip_averaging_main(command + ["--max_samples", "10"])
    assert {json.loads(path.read_text())["n"] for path in folder.glob("*/metrics.json")} == {10}
