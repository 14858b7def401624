import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, tiny_training_argv
from realfake_hf.arguments import parse_arguments
from realfake_hf.inference import load_detector
from realfake_hf.weight_averaging import AVERAGE_FILE, WeightAveragingCallback

RESNET_CONFIG = str(ROOT / "configs" / "resnet.yaml")


def _averaging_argv(output_dir: Path, dataset: Path, *extra: str) -> list[str]:
    return [
        *tiny_training_argv(output_dir, dataset), "--model_config_overrides", '{"widths": [8, 16, 32]}',
        "--num_train_epochs", "3", "--warmup_steps", "0", "--save_total_limit", "3",
        "--load_best_model_at_end", "false", "--weight_averaging_start_epoch", "2", "--evaluate_test", "false", *extra,
    ]


@pytest.fixture(scope="module")
def averaged_run(tmp_path_factory, mini_cifake_zip) -> Path:
    from realfake_hf.training import train_detector

    output_dir = tmp_path_factory.mktemp("swa") / "resnet"
    train_detector(*parse_arguments(_averaging_argv(output_dir, mini_cifake_zip), default_config=RESNET_CONFIG))
    return output_dir


def _checkpoints(run: Path) -> list[Path]:
    return sorted(run.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def test_model_is_the_average_of_the_checkpoints_from_the_start_epoch_with_batch_norm_recomputed(averaged_run):
    first, second, third = _checkpoints(averaged_run)
    assert not (first / AVERAGE_FILE).exists()  # epoch 1 is before the start epoch
    assert int(load_file(second / AVERAGE_FILE)["n_averaged"]) == 1
    assert int(load_file(third / AVERAGE_FILE)["n_averaged"]) == 2
    final, at_second, at_third = _weights(averaged_run), _weights(second), _weights(third)
    model, _ = load_detector(averaged_run)
    for name, _parameter in model.named_parameters():
        torch.testing.assert_close(final[name], (at_second[name] + at_third[name]) / 2)
    running_means = [name for name in final if name.endswith("running_mean")]
    assert running_means and any(not torch.equal(final[name], at_third[name]) for name in running_means)
    assert json.loads((averaged_run / "run_info.json").read_text())["checkpoints_averaged"] == 2


def test_resumed_run_goes_on_averaging_from_its_checkpoint(averaged_run):
    second = _checkpoints(averaged_run)[1]
    model, _ = load_detector(averaged_run)
    averaging = WeightAveragingCallback(model, start_epoch=2)
    averaging.resume(second)
    assert averaging.checkpoints_averaged == 1
    at_second = _weights(second)
    for name, parameter in averaging.average.module.named_parameters():
        torch.testing.assert_close(parameter, at_second[name])


def test_run_resumed_from_a_checkpoint_averages_that_checkpoint_and_the_later_ones(averaged_run, mini_cifake_zip,
                                                                                   tmp_path):
    from realfake_hf.training import train_detector

    # The run as it stood when killed after its second epoch's checkpoint: only checkpoints 1 and 2 on disk.
    output_dir = tmp_path / "resumed"
    for checkpoint in _checkpoints(averaged_run)[:2]:
        shutil.copytree(checkpoint, output_dir / checkpoint.name)
    train_detector(*parse_arguments(_averaging_argv(output_dir, mini_cifake_zip), default_config=RESNET_CONFIG))
    _, second, third = _checkpoints(output_dir)
    final, at_second, at_third = _weights(output_dir), _weights(second), _weights(third)
    model, _ = load_detector(output_dir)
    for name, _parameter in model.named_parameters():
        torch.testing.assert_close(final[name], (at_second[name] + at_third[name]) / 2)
    assert json.loads((output_dir / "run_info.json").read_text())["checkpoints_averaged"] == 2


def test_checkpoint_missing_its_average_after_averaging_began_is_an_error(averaged_run, tmp_path):
    first, second, _ = _checkpoints(averaged_run)
    model, _ = load_detector(averaged_run)
    averaging = WeightAveragingCallback(model, start_epoch=2)
    averaging.resume(first)  # saved before averaging began: nothing to restore
    assert averaging.checkpoints_averaged == 0
    killed_while_saving = shutil.copytree(second, tmp_path / second.name)
    (killed_while_saving / AVERAGE_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=f"{second.name}.*delete that checkpoint"):
        averaging.resume(killed_while_saving)


def test_weight_averaging_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="load_best_model_at_end"):
        parse_arguments(["--output_dir", str(tmp_path), "--weight_averaging_start_epoch", "2"],
                        default_config=RESNET_CONFIG)
    with pytest.raises(ValueError, match="num_train_epochs"):
        parse_arguments(["--output_dir", str(tmp_path), "--weight_averaging_start_epoch", "30",
                         "--load_best_model_at_end", "false"], default_config=RESNET_CONFIG)
