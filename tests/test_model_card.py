import json
import shutil

import pytest
import yaml

from realfake_hf.model_card import README_END, README_START, update_readme_table, write_project_card
from realfake_hf.training import copy_results


def test_project_card_and_readme_table_come_from_result_files(trained_tiny_model, tmp_path):
    results = tmp_path / "results"
    copy_results(trained_tiny_model, results / "tiny_cnn")
    assert (results / "tiny_cnn/model/model.safetensors").exists()
    metrics = json.loads((results / "tiny_cnn/eval/test/metrics.json").read_text())

    card = write_project_card(results, tmp_path / "model_card.md").read_text()
    front_matter = yaml.safe_load(card.split("---")[1])
    assert front_matter["model-index"][0]["results"][0]["dataset"]["split"] == "test"
    accuracy = f"{100 * metrics['accuracy']:.2f}%"
    assert f"| tiny_cnn | {accuracy}" in card and "Ethical considerations" in card

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{README_START}\nold table\n{README_END}\nafter\n")
    update_readme_table(readme, results)
    text = readme.read_text()
    assert "old table" not in text and f"| tiny_cnn | {accuracy}" in text and text.endswith("after\n")
    assert "McNemar" not in text, "one run has nothing to be compared with"


def _results_of(trained_model, tmp_path, *names):
    """A results folder holding the same trained run under each name."""
    results = tmp_path / "results"
    for name in names:
        copy_results(trained_model, results / name)
    return results


def test_table_compares_the_two_best_runs_with_mcnemar(trained_tiny_model, tmp_path):
    results = _results_of(trained_tiny_model, tmp_path, "tiny_a", "tiny_b")
    card = write_project_card(results, tmp_path / "model_card.md").read_text()
    assert "McNemar's test between the two best" in card
    assert "0 images only tiny_a gets right, 0 only tiny_b" in card and "do not differ significantly" in card
    assert "| training images/s | evaluation images/s |" in card


def test_readme_without_markers_is_an_error(tmp_path):
    (tmp_path / "README.md").write_text("no markers")
    (tmp_path / "results").mkdir()
    with pytest.raises(ValueError, match="results-table"):
        update_readme_table(tmp_path / "README.md", tmp_path / "results")


def test_table_names_the_accelerator_of_a_gpu_evaluation(trained_tiny_model, tmp_path):
    results = _results_of(trained_tiny_model, tmp_path, "on_cpu", "on_gpu")
    metrics_file = results / "on_gpu/eval/test/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["provenance"]["machine"]["device"] = "NVIDIA H100 80GB HBM3"
    metrics_file.write_text(json.dumps(metrics))
    rows = {line.split(" | ")[0].strip("| "): line for line in
            write_project_card(results, tmp_path / "card.md").read_text().splitlines() if line.startswith("| on_")}
    assert rows["on_gpu"].endswith(" (NVIDIA H100 80GB HBM3) |") and rows["on_cpu"][-3].isdigit()


def test_table_says_which_run_continued_from_trained_weights(trained_tiny_model, tmp_path):
    results = _results_of(trained_tiny_model, tmp_path, "fresh", "continued", "other")
    args_file = results / "continued/args.yaml"
    arguments = yaml.safe_load(args_file.read_text())
    arguments["model"]["pretrained_path"] = "results/fresh/model"
    args_file.write_text(yaml.safe_dump(arguments))
    card = write_project_card(results, tmp_path / "card.md").read_text()
    assert "| continued (continued from results/fresh/model) |" in card
    assert "| fresh |" in card
    # All three tie on accuracy, so "continued" and "fresh" come first by name, but one is the other's later stage.
    assert "continued from), continued and other, on the same" in card


def test_table_says_which_run_is_a_weight_average(trained_tiny_model, tmp_path):
    results = _results_of(trained_tiny_model, tmp_path, "plain", "averaged")
    run_file = results / "averaged/run_info.json"
    run_file.write_text(json.dumps({**json.loads(run_file.read_text()), "checkpoints_averaged": 8}))
    card = write_project_card(results, tmp_path / "card.md").read_text()
    assert "| averaged (weights averaged over 8 checkpoints) |" in card and "| plain |" in card


def test_card_names_each_further_evaluation_by_folder_dataset_and_split(trained_tiny_model, tmp_path):
    results = _results_of(trained_tiny_model, tmp_path, "tiny")
    shutil.copytree(results / "tiny/eval/test", results / "tiny/eval/test_fp32")
    shutil.copytree(results / "tiny/eval/test", results / "tiny/eval/test_flip")
    flipped = results / "tiny/eval/test_flip/metrics.json"
    metrics = json.loads(flipped.read_text())
    flipped.write_text(json.dumps({**metrics, "provenance": {**metrics["provenance"], "test_time_flip": True}}))
    card = write_project_card(results, tmp_path / "card.md").read_text()
    # The test split evaluated again is not presented as a test set the model has not seen.
    assert "not seen in training" not in card
    assert f"| `eval/test_fp32` | cifake (test) | {metrics['n']} | {100 * metrics['accuracy']:.2f}%" in card
    assert f"| `eval/test_flip` | cifake (test, flip-averaged) | {metrics['n']} |" in card
