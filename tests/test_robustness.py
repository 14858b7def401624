import json
import shutil

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from conftest import PAPER_CNN_CONFIG, tiny_training_argv
from realfake_hf.arguments import DetectorTrainingArguments, parse_arguments
from realfake_hf.data import collate_pixels, import_dataset, with_model_inputs
from realfake_hf.inference import input_spec, load_detector, predict_split
from realfake_hf.robustness import PERTURBATIONS, perturb
from realfake_hf.robustness.__main__ import main as robustness_main
from realfake_hf.robustness.adversarial_training import DetectorTrainer
from realfake_hf.robustness.attacks import adversarial_images, load_pixel_space_detector
from realfake_hf.robustness.report import decoded_pictures, stratified_subset
from realfake_hf.model_card import README_END, README_START, update_readme_table, write_project_card
from realfake_hf.training import copy_results, train_detector

IDENTITY_STRENGTHS = {
    "gaussian_blur": 0, "down_up_resize": 1, "gaussian_noise": 0, "crop": 1, "shift": 0, "colour_jitter": 0,
}
SETTINGS = [(name, strength) for name, entry in PERTURBATIONS.items() for strength in entry.strengths]


@pytest.fixture(scope="module")
def cifake_test(mini_cifake_zip):
    return import_dataset("cifake", str(mini_cifake_zip))["test"]  # 30 fake + 30 real, 32x32


@pytest.fixture(scope="module")
def pictures(cifake_test):
    return decoded_pictures(cifake_test)


def test_stratified_subset_is_seeded_and_balanced(cifake_test):
    subset = stratified_subset(cifake_test, 20, seed=3)
    assert subset["file_name"] == stratified_subset(cifake_test, 20, seed=3)["file_name"]
    assert np.bincount(subset["label"]).tolist() == [10, 10]
    assert np.bincount(subset["content"]).tolist() == [2] * 10
    assert len(stratified_subset(cifake_test, 1000)) == len(cifake_test)


@pytest.mark.parametrize("name, strength", SETTINGS)
def test_perturbation_is_seeded_and_keeps_shape_and_range(pictures, name, strength):
    array = np.asarray(pictures[0])
    first = perturb(array, name, strength, np.random.default_rng(7))
    again = perturb(array, name, strength, np.random.default_rng(7))
    assert first.dtype == np.uint8 and first.shape == array.shape
    assert np.array_equal(first, again)
    assert not np.array_equal(first, array), "every listed strength must change the image"
    picture = perturb(pictures[0], name, strength, np.random.default_rng(7))
    assert isinstance(picture, Image.Image) and picture.mode == "RGB" and picture.size == pictures[0].size
    assert np.array_equal(np.asarray(picture), first)


@pytest.mark.parametrize("name", ["gaussian_noise", "crop", "shift", "colour_jitter"])
def test_random_perturbations_depend_on_the_seed(pictures, name):
    array = np.asarray(pictures[0])
    strength = PERTURBATIONS[name].strengths[-1]
    results = {perturb(array, name, strength, np.random.default_rng(seed)).tobytes() for seed in range(4)}
    assert len(results) > 1


@pytest.mark.parametrize("name, strength", IDENTITY_STRENGTHS.items())
def test_zero_strength_is_the_identity(pictures, name, strength):
    array = np.asarray(pictures[0])
    assert np.array_equal(perturb(array, name, strength, np.random.default_rng(0)), array)


def test_unperturbed_pictures_give_the_predictions_of_evaluation(trained_tiny_model, cifake_test, pictures):
    model, processor = load_detector(trained_tiny_model)
    detector = load_pixel_space_detector(trained_tiny_model)
    np.testing.assert_allclose(detector.p_fake(pictures), predict_split(model, processor, cifake_test), atol=1e-6)


def _confidence_in_truth(p_fake: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.where(labels == 1, p_fake, 1 - p_fake)


def _accuracy(detector, images, labels) -> float:
    return float(((detector.p_fake(images) >= 0.5).astype(int) == labels).mean())


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_attack_with_no_budget_changes_nothing(trained_tiny_model, cifake_test, pictures, method):
    detector = load_pixel_space_detector(trained_tiny_model)
    labels = np.asarray(cifake_test["label"])
    attacked = adversarial_images(detector, pictures, labels, method, eps=0.0)
    assert all(np.array_equal(np.asarray(a), np.asarray(p)) for a, p in zip(attacked, pictures))
    assert _accuracy(detector, attacked, labels) == _accuracy(detector, pictures, labels)


def test_pgd_at_8_of_255_breaks_correct_decisions(trained_tiny_model, cifake_test, pictures):
    detector = load_pixel_space_detector(trained_tiny_model)
    labels = np.asarray(cifake_test["label"])
    correct = np.flatnonzero((detector.p_fake(pictures) >= 0.5).astype(int) == labels)
    assert len(correct) >= 10, "the tiny model must get some images right for this test to mean anything"
    images, correct_labels = [pictures[i] for i in correct], labels[correct]
    attacked = adversarial_images(detector, images, correct_labels, "pgd", eps=8 / 255)
    largest_change = max(np.abs(np.asarray(a, int) - np.asarray(p, int)).max() for a, p in zip(attacked, images))
    assert largest_change <= 8
    # The tiny model is barely confident (p ~ 0.54), so PGD cannot flip every image; it must lower the
    # confidence in the true label of every one and flip a good share (0.44 accuracy left when written).
    before = _confidence_in_truth(detector.p_fake(images), correct_labels)
    assert (_confidence_in_truth(detector.p_fake(attacked), correct_labels) < before).all()
    assert _accuracy(detector, attacked, correct_labels) <= 0.75


def test_report_writes_json_and_figures(trained_tiny_model, mini_cifake_zip, tmp_path):
    # a second model, to exercise transfer
    second = shutil.copytree(trained_tiny_model, tmp_path / "twin", ignore=shutil.ignore_patterns("checkpoint-*"))
    output_dir = tmp_path / "robustness"
    robustness_main([
        "--models", str(trained_tiny_model), str(second), "--output_dir", str(output_dir),
        "--dataset_path", str(mini_cifake_zip), "--max_samples", "40", "--attack_samples", "20",
        "--pgd_steps", "3", "--n_examples", "2",
    ])
    robustness = json.loads((output_dir / "robustness.json").read_text())
    models = {trained_tiny_model.name, "twin"}
    assert robustness["n"] == 40 and set(robustness["summary"]) == models
    settings = 1 + sum(len(entry.strengths) for entry in PERTURBATIONS.values())
    assert len(robustness["results"]) == settings * len(models)
    record = robustness["results"][-1]
    assert {"accuracy", "accuracy_ci95", "roc_auc", "false_positive_rate", "false_negative_rate", "n"} <= set(record)
    attacks = json.loads((output_dir / "attacks.json").read_text())
    white_box = [r for r in attacks["results"] if r["white_box"] and r["eps_255"] == 0]
    assert white_box and all(r["accuracy"] == r["accuracy_clean"] for r in white_box)
    assert {r["direction"] for r in attacks["results"]} == {"fake_to_real", "real_to_fake"}
    figures = {path.name for path in output_dir.glob("*.png")}
    assert {f"perturbation_{name}.png" for name in PERTURBATIONS} <= figures
    examples = {f"adversarial_examples_{name}.png" for name in models}
    assert {"attack_curves.png", "transfer_matrix.png", *examples} <= figures
    summary = (output_dir / "README.md").read_text()
    clean = next(r for r in robustness["results"] if r["model"] == "twin" and r["perturbation"] == "none")
    assert f"| twin | {100 * clean['accuracy']:.1f}% [" in summary
    assert "| twin | fake -> real |" in summary and "PGD 8/255" in summary

    results = tmp_path / "results"
    copy_results(trained_tiny_model, results / "tiny")
    shutil.copytree(output_dir, results / "robustness")
    readme = tmp_path / "README.md"
    readme.write_text(f"{README_START}\n{README_END}\n<!-- robustness-table:start -->\nold\n<!-- robustness-table:end -->\n")
    update_readme_table(readme, results)
    assert "| twin | fake -> real |" in readme.read_text() and "old" not in readme.read_text()
    assert "## Robustness" in write_project_card(results, tmp_path / "card.md").read_text()


def test_adversarial_training_batches_stay_within_the_budget_and_raise_the_loss(trained_tiny_model, cifake_test, tmp_path):
    model, processor = load_detector(trained_tiny_model)
    arguments = DetectorTrainingArguments(output_dir=str(tmp_path), report_to="none", adversarial_training="ffgsm",
                                          adversarial_epsilon_255=4)
    trainer = DetectorTrainer(model=model, args=arguments, processing_class=processor)
    spec = input_spec(processor)
    batch = collate_pixels(list(with_model_inputs(cifake_test, 32, mean=spec["mean"], std=spec["std"])))
    clean = batch["pixel_values"]
    model.train()
    adversarial = trainer.adversarial_pixels(model, batch)
    std = torch.tensor(spec["std"]).view(1, 3, 1, 1)
    change = ((adversarial - clean) * std).abs()  # in [0, 1] pixel units
    assert adversarial.shape == clean.shape and model.training, "the attack hands the model back in training mode"
    assert 0 < change.max() <= 4 / 255 + 1e-5
    with torch.no_grad():
        losses = [model(pixel_values=pixels, labels=batch["labels"]).loss for pixels in (clean, adversarial)]
    assert losses[1] > losses[0]


def test_train_py_runs_adversarial_training_as_a_config_option(tmp_path, mini_cifake_zip):
    output_dir = tmp_path / "adversarial"
    arguments = parse_arguments(
        tiny_training_argv(output_dir, mini_cifake_zip)
        + ["--adversarial_training", "pgd", "--adversarial_epsilon_255", "2", "--adversarial_pgd_steps", "2",
           "--num_train_epochs", "1", "--evaluate_test", "false"],
        default_config=PAPER_CNN_CONFIG,
    )
    assert arguments[2].adversarial_training == "pgd"
    train_detector(*arguments)
    saved = yaml.safe_load((output_dir / "args.yaml").read_text())
    assert saved["training"]["adversarial_training"] == "pgd" and (output_dir / "model.safetensors").exists()
    with pytest.raises(SystemExit):  # argparse names the choices
        parse_arguments(tiny_training_argv(output_dir, mini_cifake_zip) + ["--adversarial_training", "fgsm"],
                        default_config=PAPER_CNN_CONFIG)
    with pytest.raises(ValueError, match="adversarial_training"):
        DetectorTrainingArguments(output_dir=str(output_dir), adversarial_training="fgsm")
