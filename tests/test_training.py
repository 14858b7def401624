import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from transformers import TrainerControl, TrainerState

from conftest import PAPER_CNN_CONFIG, ROOT, tiny_training_argv
from realfake_hf.arguments import DetectorTrainingArguments, parse_arguments
from realfake_hf.evaluation import evaluate_model
from realfake_hf.models import create_model
from realfake_hf.robustness.adversarial_training import DetectorTrainer
from realfake_hf.training import (
    WallTimeCallback, find_resumable_checkpoint, lacks_its_epoch_evaluation, train_detector, wall_time_before,
)



def subprocess_env() -> dict:
    """Read at call time, so child processes get the session's isolated REALFAKE_CACHE_DIR (set by a fixture)."""
    return {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def test_yaml_config_then_command_line_overrides():
    model_args, data_args, training_args, config = parse_arguments(
        ["--config", PAPER_CNN_CONFIG, "--num_train_epochs", "3", "--output_dir", "/tmp/x"]
    )
    assert config == PAPER_CNN_CONFIG and model_args.model_name == "paper_cnn"
    assert training_args.num_train_epochs == 3 and training_args.eval_strategy == "epoch"
    assert training_args.load_best_model_at_end and data_args.dataset_name == "cifake"


def test_unknown_config_key_is_an_error(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("model_name: paper_cnn\nlearning_rat: 0.1\n")
    with pytest.raises(ValueError, match="learning_rat"):
        parse_arguments(["--config", str(config)])


def test_config_inherits_its_base_and_overrides_it(tmp_path):
    (tmp_path / "variants").mkdir()
    (tmp_path / "base.yaml").write_text(
        'model_name: resnet\nmodel_config_overrides: {"widths": [8, 16, 32], "dropout": 0.1}\n'
        "max_shift: 4\nnum_train_epochs: 30\noutput_dir: outputs/base\n")
    (tmp_path / "variants/longer.yaml").write_text(
        'base: ../base.yaml\nnum_train_epochs: 60\nmax_shift: null\nmodel_config_overrides: {"widths": [4, 8, 16]}\n')
    model_args, data_args, training_args, _ = parse_arguments(["--config", str(tmp_path / "variants/longer.yaml")])
    assert model_args.model_name == "resnet" and training_args.output_dir == "outputs/base"
    assert training_args.num_train_epochs == 60 and data_args.max_shift == 0  # null: back to the default
    assert model_args.config_overrides() == {"widths": [4, 8, 16]}  # replaced as a whole, not merged


def test_config_base_that_is_missing_or_loops_is_an_error(tmp_path):
    (tmp_path / "orphan.yaml").write_text("base: nowhere.yaml\nnum_train_epochs: 2\n")
    with pytest.raises(FileNotFoundError, match="orphan.yaml: its base: nowhere.yaml"):
        parse_arguments(["--config", str(tmp_path / "orphan.yaml")])
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ValueError, match="loops back"):
        parse_arguments(["--config", str(tmp_path / "a.yaml")])


def test_training_writes_history_curve_metrics_and_card(trained_tiny_model):
    run = trained_tiny_model
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [1.0, 2.0]
    assert history[["train_loss", "eval_loss", "eval_accuracy"]].notna().all().all()
    assert (run / "learning_curve.png").stat().st_size > 10_000
    metrics = json.loads((run / "eval/test/metrics.json").read_text())
    for key in ("accuracy", "accuracy_ci95", "precision", "recall", "f1", "roc_auc", "average_precision", "ece_15",
                "confusion_matrix", "per_content", "provenance"):
        assert key in metrics
    assert metrics["n"] == 60 and len(metrics["per_content"]) == 10
    predictions = pd.read_csv(run / "eval/test/predictions.csv")
    assert list(predictions.columns) == ["file_name", "label", "content", "p_fake"] and len(predictions) == 60
    for figure in ("confusion_matrix.png", "reliability_diagram.png"):
        assert (run / "eval/test" / figure).stat().st_size > 5_000
    card = (run / "README.md").read_text()
    front_matter = yaml.safe_load(card.split("---")[1])
    index = front_matter["model-index"][0]["results"][0]
    assert {m["type"] for m in index["metrics"]} >= {"accuracy", "roc_auc"}
    assert index["metrics"][0]["value"] == pytest.approx(round(metrics["accuracy"], 5))
    run_info = json.loads((run / "run_info.json").read_text())
    assert run_info["wall_time_s"] > 0 and run_info["machine"]["cpu_cores"] >= 1
    assert run_info["machine"]["cpu_model"] and run_info["machine"]["cpu_capability"]
    args = yaml.safe_load((run / "args.yaml").read_text())
    assert args["model"]["model_name"] == "paper_cnn" and args["training"]["num_train_epochs"] == 2


def test_evaluate_cli_on_a_second_dataset(trained_tiny_model, real_or_ai_dir, tmp_path):
    out = tmp_path / "eval"
    result = subprocess.run(
        [sys.executable, "evaluate.py", "--model", str(trained_tiny_model), "--dataset", "real-or-ai",
         "--dataset_path", str(real_or_ai_dir), "--split", "test", "--output_dir", str(out), "--max_samples", "40"],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 40 and set(metrics["per_content"]) <= {"city", "interior", "nature", "people"}
    assert metrics["provenance"]["dataset"] == "real-or-ai"


def _train_command(output_dir: Path, dataset: Path, *extra: str) -> list[str]:
    return [sys.executable, "train.py", "--config", PAPER_CNN_CONFIG, *tiny_training_argv(output_dir, dataset), *extra]


def _interruptible_run_command(output_dir: Path, dataset: Path, save_steps: int, *extra: str) -> list[str]:
    """280 steps (20 epochs of the mini set) evaluated every 5: long enough to be stopped in the middle."""
    return _train_command(
        output_dir, dataset, "--num_train_epochs", "20", "--save_strategy", "steps", "--save_steps", str(save_steps),
        "--eval_strategy", "steps", "--eval_steps", "5", "--logging_strategy", "steps", "--logging_steps", "5",
        "--evaluate_test", "false", *extra,
    )


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, mini_cifake_zip):
    output_dir = tmp_path / "run"
    command = _interruptible_run_command(output_dir, mini_cifake_zip, save_steps=5)
    first = subprocess.Popen(command, cwd=ROOT, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (output_dir / "checkpoint-10" / "trainer_state.json").exists():
        assert first.poll() is None and time.time() < deadline, "first run ended before its second checkpoint"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = find_resumable_checkpoint(output_dir)
    steps_done = int(Path(killed_at).name.split("-")[1])
    assert 10 <= steps_done < 280 and not (output_dir / "model.safetensors").exists()
    earlier = wall_time_before(killed_at)  # read now: the resumed run's checkpoint rotation deletes it

    second = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"Resuming from {killed_at}" in second.stderr
    state = json.loads((output_dir / "trainer_state.json").read_text())
    assert state["global_step"] == 280  # 20 epochs x 14 steps, none repeated, none skipped
    history = pd.read_csv(output_dir / "history.csv")
    assert history["step"].tolist() == list(range(5, 281, 5))  # the killed run's evaluations are kept
    # The reported wall time includes the killed process's time up to its checkpoint.
    run = json.loads((output_dir / "run_info.json").read_text())
    assert run["wall_time_before_resume_s"] == earlier > 0 and run["wall_time_s"] > earlier


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_between_scheduled_ones_and_the_run_resumes_from_it(tmp_path, mini_cifake_zip):
    output_dir = tmp_path / "run"
    command = _interruptible_run_command(output_dir, mini_cifake_zip, 1000, "--enable_jit_checkpoint", "true")
    log = tmp_path / "first.log"  # a file, not a pipe: an unread pipe that fills up would block the run
    with log.open("w") as stderr_file:
        first = subprocess.Popen(command, cwd=ROOT, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=stderr_file)
    deadline = time.time() + 240
    while not (output_dir / "history.csv").exists():  # written at the first evaluation: training has begun
        assert first.poll() is None and time.time() < deadline, "first run ended before its first evaluation"
        time.sleep(0.02)
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=120)
    stderr = log.read_text()
    assert first.returncode == 0, stderr[-3000:]
    stopped_at = find_resumable_checkpoint(output_dir)
    assert stopped_at is not None, "no complete checkpoint after SIGTERM (no scheduled save comes before step 1000)"
    steps_done = int(Path(stopped_at).name.split("-")[1])
    assert 5 <= steps_done < 280 and "Rerun the same command to resume" in stderr
    # Nothing of a finished run is written from the half-trained model.
    assert not any((output_dir / name).exists() for name in ("model.safetensors", "run_info.json", "README.md"))

    second = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"Resuming from {stopped_at}" in second.stderr
    assert json.loads((output_dir / "trainer_state.json").read_text())["global_step"] == 280
    assert (output_dir / "model.safetensors").exists() and (output_dir / "run_info.json").exists()


def test_resumed_run_evaluates_a_checkpoint_saved_before_its_epoch_evaluation(tmp_path, mini_cifake_zip):
    output_dir = tmp_path / "run"
    argv = [*tiny_training_argv(output_dir, mini_cifake_zip), "--save_strategy", "steps", "--save_steps", "14",
            "--load_best_model_at_end", "false", "--evaluate_test", "false"]
    train_detector(*parse_arguments([*argv, "--num_train_epochs", "1"], default_config=PAPER_CNN_CONFIG))
    longer = parse_arguments([*argv, "--num_train_epochs", "2"], default_config=PAPER_CNN_CONFIG)
    end_of_first_epoch = str(output_dir / "checkpoint-14")  # 14 steps make an epoch of the mini set
    assert lacks_its_epoch_evaluation(end_of_first_epoch, longer[2])
    train_detector(*longer)
    history = pd.read_csv(output_dir / "history.csv")
    assert history["epoch"].tolist() == [1.0, 2.0]
    assert history["eval_accuracy"].notna().all()


def test_mixed_precision_run_is_tested_in_float32_like_the_saved_model(tmp_path, mini_cifake_zip):
    # bf16 training leaves autocast wrapped around forward(); the run's own test numbers must not inherit it.
    output_dir = tmp_path / "run"
    command = _train_command(output_dir, mini_cifake_zip, "--num_train_epochs", "1", "--bf16", "true",
                             "--use_cpu", "true", "--eval_strategy", "no", "--save_strategy", "no",
                             "--load_best_model_at_end", "false")
    result = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    reloaded = evaluate_model(output_dir, dataset_path=str(mini_cifake_zip), output_dir=tmp_path / "reloaded")
    during_run = pd.read_csv(output_dir / "eval/test/predictions.csv").set_index("file_name")["p_fake"]
    after_reload = pd.read_csv(tmp_path / "reloaded/predictions.csv").set_index("file_name")["p_fake"]
    assert len(during_run) == 60 and during_run.index.equals(after_reload.index)
    # bf16 autocast moves p(fake) by 1e-4 or more here; float32 on the same CPU agrees to rounding.
    assert (during_run - after_reload).abs().max() < 1e-5
    assert reloaded["accuracy"] == json.loads((output_dir / "eval/test/metrics.json").read_text())["accuracy"]


def test_resuming_a_checkpoint_saved_before_wall_time_was_recorded_can_save_again(tmp_path):
    # Such a checkpoint's trainer_state.json lists only the Trainer's own stateful callbacks.
    TrainerState(stateful_callbacks=[TrainerControl()]).save_to_json(str(tmp_path / "trainer_state.json"))
    resumed = TrainerState.load_from_json(str(tmp_path / "trainer_state.json"))
    assert wall_time_before(str(tmp_path)) == 0.0
    clock = WallTimeCallback()
    clock.on_train_begin(None, resumed, TrainerControl())
    assert resumed.stateful_callbacks["WallTimeCallback"]["args"]["earlier_s"] >= 0  # what the next save indexes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_accelerate_launch_with_two_cpu_processes(tmp_path, mini_cifake_zip):
    output_dir = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file", "configs/accelerate/cpu_2proc.yaml",
        "--main_process_port", str(_free_port()), "train.py",
    ] + _train_command(
        output_dir, mini_cifake_zip, "--num_train_epochs", "1", "--per_device_train_batch_size", "8", "--use_cpu", "true"
    )[2:]
    result = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "process 0/2" in result.stderr and "process 1/2" in result.stderr
    state = json.loads((output_dir / "trainer_state.json").read_text())
    assert state["global_step"] == 14  # 216 images / (2 processes x 8): each process saw half of each step
    assert json.loads((output_dir / "run_info.json").read_text())["world_size"] == 2
    assert len(list(output_dir.glob("*.safetensors"))) == 1 and (output_dir / "config.json").exists()


@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_parses_and_names_a_registered_model(config):
    from realfake_hf.models import list_models

    model_args, data_args, training_args, _ = parse_arguments(["--config", str(config)])
    assert model_args.model_name in list_models()
    # Each keeps the best epoch by validation accuracy, or the average of its checkpoints.
    assert training_args.load_best_model_at_end != (training_args.weight_averaging_start_epoch is not None)
    assert training_args.metric_for_best_model == "accuracy"
    assert training_args.output_dir.endswith(config.stem)


def test_stopped_run_is_published_from_its_checkpoint(trained_tiny_model, mini_cifake_zip, tmp_path):
    from transformers import AutoModelForImageClassification

    from realfake_hf.model_card import results_table
    from realfake_hf.stopped_run import main

    first_epoch = min(trained_tiny_model.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
    results = tmp_path / "stopped"
    training_argv = ["--config", PAPER_CNN_CONFIG, *tiny_training_argv(tmp_path / "run", mini_cifake_zip), "--num_train_epochs", "2"]
    metrics = main(["--checkpoint", str(first_epoch), "--results_dir", str(results), "--wall_time_s", "12",
                    "--reason", "stopped by a time limit", "--", *training_argv])

    run = json.loads((results / "run_info.json").read_text())
    assert run["stopped"]["epochs_completed"] == 1 and run["stopped"]["planned_epochs"] == 2
    assert run["train_images"] == 216 and run["train_images_per_second"] == pytest.approx(216 / 12)
    assert run["training_command"].endswith("--num_train_epochs 2")
    assert len(pd.read_csv(results / "history.csv")) == 1  # the evaluations up to the checkpoint, not after
    assert json.loads((results / "eval/test/metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    AutoModelForImageClassification.from_pretrained(results / "model")
    assert "stopped at epoch 1 of 2" in results_table({"paper_cnn": results})
    assert "stopped by a time limit at epoch 1 of 2" in (results / "README.md").read_text()


def test_runs_are_compared_epoch_for_epoch(trained_tiny_model, tmp_path):
    from realfake_hf.history import main

    shorter = tmp_path / "shorter"
    shorter.mkdir()
    history = pd.read_csv(trained_tiny_model / "history.csv")
    history.iloc[:1].to_csv(shorter / "history.csv", index=False)
    table = main([str(trained_tiny_model), str(shorter), "--output", str(tmp_path / "by_epoch.png")])
    assert table.index.tolist() == [1.0, 2.0]
    assert table[trained_tiny_model.name].tolist() == history["eval_accuracy"].tolist()
    assert table["shorter"].isna().tolist() == [False, True]  # a run that stopped earlier leaves a gap
    assert (tmp_path / "by_epoch.png").stat().st_size > 0 and (tmp_path / "by_epoch.csv").exists()


@pytest.mark.parametrize("name", ["vit_scratch", "efficientnet_lite0", "paper_cnn"])
def test_trainer_checkpoint_loading_restores_every_weight(tmp_path, name):
    """Resume and load_best_model_at_end: a ViT's checkpoint stores its attention under the Hub's names, which the
    Trainer's own loading skipped (96 tensors left as they were); every weight must come back, for the timm
    wrapper and our own models too."""
    torch.manual_seed(0)
    checkpoint = create_model(name)
    checkpoint.save_pretrained(tmp_path / "checkpoint-1")
    torch.manual_seed(1)
    trainer = DetectorTrainer(model=create_model(name), args=DetectorTrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to="none"))

    def assert_restored():
        restored = trainer.model.state_dict()
        assert [key for key, value in checkpoint.state_dict().items() if not torch.equal(value, restored[key])] == []

    trainer._load_from_checkpoint(str(tmp_path / "checkpoint-1"))
    assert_restored()
    with torch.no_grad():
        for parameter in trainer.model.parameters():
            parameter.add_(1.0)
    trainer.state.best_model_checkpoint = str(tmp_path / "checkpoint-1")
    trainer._load_best_model()
    assert_restored()
