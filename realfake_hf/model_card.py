"""Model cards generated from result files (never written by hand), with a ``model-index`` for the Hub.

``write_model_card(RUN_DIR)`` writes ``RUN_DIR/README.md`` for one trained model (what ``push_to_hub`` uploads);
``python -m realfake_hf.model_card`` writes the project's ``model_card.md`` from every ``results/*/`` run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .compare import compare_predictions
from .robustness.table import robustness_table
from .runinfo import run_arguments

TEST_METRICS = Path("eval/test/metrics.json")
TEST_PREDICTIONS = Path("eval/test/predictions.csv")
HUB_METRICS = {"accuracy": "accuracy", "roc_auc": "roc_auc", "f1": "f1", "average_precision": "average_precision"}

INTENDED_USE = """\
Research on how neural networks tell real photographs from AI-generated images, and why: a baseline to
reproduce Bird & Lotfi (IEEE Access 2024) and to compare, explain and stress-test other detectors.
Not for deciding whether a particular image is authentic: a verdict of this model is not evidence."""

LIMITATIONS = """\
- Trained on CIFAKE only: 32x32 images, real = CIFAR-10, fake = Stable Diffusion v1.4 pictures of the same ten
  classes. Accuracy on CIFAKE's test split says nothing yet about other generators, other content or other
  image sizes; see the cross-dataset results of this project before trusting it anywhere else.
- Every input is resized as a whole to the model's square input (see README, 'How images become model input'),
  so a large photograph loses the fine detail where generator traces often are.
- p(fake) is a score, not a calibrated probability outside CIFAKE (see ECE and reliability diagrams)."""

ETHICS = """\
A real photograph flagged as fake can discredit a witness, a journalist or an artist; a fake passed as real can
spread misinformation. Error rates differ by content class (table above): report them with any use, keep a
human in the loop, and treat uncertain scores (p(fake) near 0.5) as 'undecided', not as a verdict."""

CIFAKE_REFERENCE = """\
Data: CIFAKE (Bird & Lotfi 2024, doi 10.1109/ACCESS.2024.3356122; real images from CIFAR-10, Krizhevsky &
Hinton 2009), Kaggle `birdy654/cifake-real-and-ai-generated-synthetic-images`: 100,000 training images
(10% held out, stratified by label and class, for validation and model selection) and the official
20,000-image test split, used once, for the numbers here."""


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _rate(value) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _starting_weights(run_dir: Path) -> str | None:
    """The weights a run started from when its config named them (``pretrained_path``), e.g. a trained detector
    trained further: its wall time then covers only the continuation."""
    arguments = run_arguments(run_dir)
    return arguments["model"].get("pretrained_path") if arguments else None


def _continued_run(run_dir: Path) -> str | None:
    """The results folder (``results/NAME/model``) whose trained model a run started from, if any."""
    start = _starting_weights(run_dir)
    return Path(start).parent.name if start and Path(start).name == "model" else None


def _result_row(name: str, metrics: dict, run: dict, starting_weights: str | None = None) -> str:
    low, high = metrics["accuracy_ci95"]
    machine = run.get("machine", {})
    wall = run.get("wall_time_s")
    parameters = run.get("parameters")
    evaluation = metrics.get("provenance", {})
    if stopped := run.get("stopped"):
        name += f" (stopped at epoch {stopped['epochs_completed']:g} of {stopped['planned_epochs']:g})"
    if starting_weights:
        name += f" (continued from {starting_weights})"
    if averaged := run.get("checkpoints_averaged"):
        name += f" (weights averaged over {averaged} checkpoints)"
    return (
        f"| {name} | {_percent(metrics['accuracy'])} [{100 * low:.2f}, {100 * high:.2f}] | {metrics['roc_auc']:.4f} "
        f"| {metrics['f1']:.4f} | {metrics['ece_15']:.4f} | {'n/a' if parameters is None else f'{parameters:,}'} "
        f"| {'n/a' if wall is None else f'{wall / 60:.1f} min'} ({machine.get('device', '?')}, {machine.get('cpu_cores', '?')} cores) "
        f"| {_rate(run.get('train_images_per_second'))} | {_rate(evaluation.get('images_per_second'))}{_unless_cpu(evaluation)} |"
    )


def _unless_cpu(provenance: dict) -> str:
    """The accelerator an evaluation ran on, where it was not this project's usual CPU."""
    device = provenance.get("machine", {}).get("device", "cpu")
    return "" if device == "cpu" else f" ({device})"


RESULT_HEADER = (
    "| model | test accuracy [95% CI] | ROC-AUC | F1 (fake) | ECE (15 bins) | parameters | training wall time "
    "| training images/s | evaluation images/s |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def best_two_comparison(runs: dict[str, Path]) -> str:
    """McNemar's test between the two most accurate runs, neither continued from the other, on their paired test
    predictions."""
    scored = sorted(
        (-_read_json(run_dir / TEST_METRICS)["accuracy"], name) for name, run_dir in runs.items()
        if (run_dir / TEST_PREDICTIONS).exists()
    )
    lineage = {name: _continued_run(run_dir) for name, run_dir in runs.items()}
    # A run continued from another's weights is a later stage of the same model, not a rival to it.
    pairs = [(first, second) for index, (_, first) in enumerate(scored) for _, second in scored[index + 1:]
             if first != lineage[second] and second != lineage[first]]
    if not pairs:
        return ""
    first, second = pairs[0]
    test = compare_predictions(str(runs[first] / TEST_PREDICTIONS), str(runs[second] / TEST_PREDICTIONS))
    verdict = "differ significantly" if test["p_value_exact"] < 0.05 else "do not differ significantly"
    return (
        f"McNemar's test between the two best (a run is not paired with the one it continued from), {first} and "
        f"{second}, on the same {test['n']:,} test images: "
        f"{test['only_first_correct']} images only {first} gets right, {test['only_second_correct']} only {second}; "
        f"exact p = {test['p_value_exact']:.2g}: they {verdict} at the 5% level "
        f"(`python -m realfake_hf.compare {runs[first] / TEST_PREDICTIONS} {runs[second] / TEST_PREDICTIONS}`)."
    )


def _per_content_table(metrics: dict) -> str:
    lines = ["| content | n | accuracy | real judged fake (FPR) | fake judged real (FNR) |", "|---|---|---|---|---|"]
    for content, row in metrics.get("per_content", {}).items():
        lines.append(
            f"| {content} | {row['n']} | {_percent(row['accuracy'])} | {_percent(row['false_positive_rate'])} "
            f"| {_percent(row['false_negative_rate'])} |"
        )
    return "\n".join(lines)


def _eval_results(name: str, metrics: dict) -> list[EvalResult]:
    return [
        EvalResult(
            task_type="image-classification", task_name="Real vs AI-generated image detection",
            dataset_type="cifake", dataset_name="CIFAKE", dataset_split="test",
            metric_type=hub_name, metric_name=f"{name} test {key}", metric_value=round(float(metrics[key]), 5),
        )
        for key, hub_name in HUB_METRICS.items()
        if metrics.get(key) is not None
    ]


def results_table(runs: dict[str, Path]) -> str:
    rows = [
        _result_row(name, _read_json(run_dir / TEST_METRICS), _read_json(run_dir / "run_info.json"),
                    _starting_weights(run_dir))
        for name, run_dir in runs.items()
        if (run_dir / TEST_METRICS).exists()
    ]
    if not rows:
        return "No evaluated run yet."
    comparison = best_two_comparison(runs)
    return RESULT_HEADER + "\n" + "\n".join(rows) + (f"\n\n{comparison}" if comparison else "")


def _other_evaluations(run_dir: Path) -> str:
    """Rows for every evaluation of the run besides its own test evaluation: another real/fake dataset, or the same
    test split again another way (``eval/test_fp32``, ``eval/test_flip``), each named by its folder, dataset and
    split."""
    rows = []
    for path in sorted(run_dir.glob("eval/*/metrics.json")):
        if path.parent.name == TEST_METRICS.parent.name:
            continue
        metrics = _read_json(path)
        provenance = metrics["provenance"]
        low, high = metrics["accuracy_ci95"]
        auc = "n/a" if metrics.get("roc_auc") is None else f"{metrics['roc_auc']:.3f}"
        flip = ", flip-averaged" if provenance.get("test_time_flip") else ""
        rows.append(
            f"| `eval/{path.parent.name}` | {provenance.get('dataset', '?')} ({provenance.get('dataset_split', '?')}{flip}) "
            f"| {metrics['n']} | {_percent(metrics['accuracy'])} [{100 * low:.1f}, {100 * high:.1f}] | {auc} "
            f"| {_percent(metrics['false_positive_rate'])} | {_percent(metrics['false_negative_rate'])} |"
        )
    if not rows:
        return ""
    header = ("Other evaluations:\n\n| folder | dataset (split) | n | accuracy [95% CI] | ROC-AUC "
              "| real judged fake | fake judged real |\n|---|---|---|---|---|---|---|")
    return header + "\n" + "\n".join(rows) + "\n"


def build_card(runs: dict[str, Path], title: str, robustness: str = "") -> ModelCard:
    """A card for the runs ``{name: run_dir}`` that have a test evaluation (+ a robustness table, if given)."""
    eval_results, details = [], []
    for name, run_dir in runs.items():
        metrics = _read_json(run_dir / TEST_METRICS)
        if not metrics:
            continue
        run = _read_json(run_dir / "run_info.json")
        eval_results += _eval_results(name, metrics)
        made_by = f"Made by: `{run.get('command', 'n/a')}`"
        if stopped := run.get("stopped"):
            made_by = (
                f"Trained by `{run.get('training_command')}`, {stopped['reason']} at epoch {stopped['epochs_completed']:g} "
                f"of {stopped['planned_epochs']:g} ({stopped['published_checkpoint']} published); evaluated by "
                f"`{run.get('command', 'n/a')}`"
            )
        details.append(
            f"### {name}\n\nPer CIFAR-10 class on the test split (fake is the positive class):\n\n"
            f"{_per_content_table(metrics)}\n\n{_other_evaluations(run_dir)}\n{made_by}, finished "
            f"{run.get('finished_utc', '?')}, on {run.get('machine', {}).get('hostname_platform', '?')}.\n"
        )
    card_data = ModelCardData(
        model_name=title, library_name="transformers", license="mit", pipeline_tag="image-classification",
        tags=["image-classification", "ai-generated-image-detection", "cifake", "realfake-hf"],
        datasets=["birdy654/cifake-real-and-ai-generated-synthetic-images"],
        metrics=list(HUB_METRICS.values()), eval_results=eval_results or None,
    )
    body = "\n\n".join(
        [
            f"# {title}",
            "Detectors of AI-generated images trained with [realfake-hf](README.md). Every number below is read "
            "from the result files next to this card (`eval/test/metrics.json`, `run_info.json`); regenerate "
            "with `python -m realfake_hf.model_card`.",
            "## Results on the CIFAKE test split (20,000 images)",
            results_table(runs),
            "The paper's CNN reached 92.98% (Bird & Lotfi 2024).",
            *details,
            *(["## Robustness (CIFAKE test subset)", robustness] if robustness else []),
            "## Intended use\n\n" + INTENDED_USE,
            "## Training data\n\n" + CIFAKE_REFERENCE,
            "## Limitations\n\n" + LIMITATIONS,
            "## Ethical considerations\n\n" + ETHICS,
            "## How to use\n\n```python\nimport realfake_hf  # registers the model classes\n"
            "from transformers import pipeline\n\ndetector = pipeline(\"image-classification\", model=\"MODEL_DIR\")\n"
            "detector(\"photo.jpg\")  # [{'label': 'fake', 'score': ...}, {'label': 'real', 'score': ...}]\n```",
        ]
    )
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}\n")


def write_model_card(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    path = run_dir / "README.md"
    build_card({run_dir.name: run_dir}, f"realfake-hf {run_dir.name}").save(path)
    return path


README_START, README_END = "<!-- results-table:start -->", "<!-- results-table:end -->"
ROBUSTNESS_START, ROBUSTNESS_END = "<!-- robustness-table:start -->", "<!-- robustness-table:end -->"
ROBUSTNESS_DIR = "robustness"


def evaluated_runs(results_dir: str | Path) -> dict[str, Path]:
    return {run.name: run for run in sorted(Path(results_dir).iterdir()) if (run / TEST_METRICS).exists()}


def write_project_card(results_dir: str | Path = "results", path: str | Path = "model_card.md") -> Path:
    robustness = robustness_table(Path(results_dir) / ROBUSTNESS_DIR)
    build_card(evaluated_runs(results_dir), "realfake-hf detectors", robustness).save(path)
    return Path(path)


def _replace_block(text: str, start: str, end: str, content: str, where: Path) -> str:
    if start not in text or end not in text:
        raise ValueError(f"{where} has no {start} ... {end} block to fill")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}\n{end}{tail}"


def update_readme_table(readme: str | Path = "README.md", results_dir: str | Path = "results") -> None:
    """Refill the README's results-table block (and its robustness-table block, when it has one) from the
    result files."""
    readme = Path(readme)
    text = _replace_block(readme.read_text(), README_START, README_END, results_table(evaluated_runs(results_dir)), readme)
    if ROBUSTNESS_START in text:
        robustness = robustness_table(Path(results_dir) / ROBUSTNESS_DIR) or "No robustness results yet."
        text = _replace_block(text, ROBUSTNESS_START, ROBUSTNESS_END, robustness, readme)
    readme.write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results_dir", default="results")
    parser.add_argument("--output", default="model_card.md")
    parser.add_argument("--readme", default="README.md", help="README whose results table is refreshed ('' = none)")
    args = parser.parse_args(argv)
    print(write_project_card(args.results_dir, args.output))
    if args.readme:
        update_readme_table(args.readme, args.results_dir)
        print(f"results table updated in {args.readme}")


if __name__ == "__main__":
    main()
