"""Tiny, real-data fixtures: slices of the CIFAKE archive and of real-or-ai from ../shared (never the network)."""

from __future__ import annotations

import io
import os
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
PAPER_CNN_CONFIG = str(ROOT / "configs" / "paper_cnn.yaml")
CIFAKE_ZIP = SHARED / "cifake" / "archive.zip"
REAL_OR_AI = SHARED / "real-or-ai"


def pytest_configure(config):
    os.environ.setdefault("WANDB_MODE", "disabled")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Every test session imports into its own cache, so tests never depend on a developer's cache."""
    cache = tmp_path_factory.mktemp("realfake-cache")
    previous = os.environ.get("REALFAKE_CACHE_DIR")
    os.environ["REALFAKE_CACHE_DIR"] = str(cache)
    yield cache
    if previous is None:
        os.environ.pop("REALFAKE_CACHE_DIR", None)
    else:
        os.environ["REALFAKE_CACHE_DIR"] = previous


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests read real data from ../shared beside the checkout (see README).")
    return path


def cifake_members(per_class: dict[str, int]) -> list[str]:
    """The first ``per_class[split]`` archive members of each split x label x CIFAR-10 class."""
    from realfake_hf.data.cifake import content_from_file_name

    chosen, counts = [], defaultdict(int)
    with zipfile.ZipFile(_require(CIFAKE_ZIP)) as archive:
        for name in archive.namelist():
            split, label, base = name.split("/")
            key = (split, label, content_from_file_name(base))
            if counts[key] < per_class[split]:
                counts[key] += 1
                chosen.append(name)
    return chosen


def write_mini_zip(path: Path, members: list[str], extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(_require(CIFAKE_ZIP)) as source, zipfile.ZipFile(path, "w") as target:
        for name in members:
            target.writestr(name, source.read(name))
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return path


@pytest.fixture(scope="session")
def mini_cifake_members() -> list[str]:
    return cifake_members({"train": 12, "test": 3})  # 240 train + 60 test real images


@pytest.fixture(scope="session")
def mini_cifake_zip(tmp_path_factory, mini_cifake_members) -> Path:
    return write_mini_zip(tmp_path_factory.mktemp("cifake") / "archive.zip", mini_cifake_members)


@pytest.fixture(scope="session")
def real_or_ai_dir() -> Path:
    return _require(REAL_OR_AI)


@pytest.fixture(scope="session")
def trained_tiny_model(tmp_path_factory, mini_cifake_zip) -> Path:
    """The paper CNN trained for 2 epochs on the mini CIFAKE slice, through train.py's library function."""
    from realfake_hf.arguments import parse_arguments
    from realfake_hf.training import train_detector

    output_dir = tmp_path_factory.mktemp("run") / "paper_cnn"
    arguments = parse_arguments(
        tiny_training_argv(output_dir, mini_cifake_zip) + ["--num_train_epochs", "2"],
        default_config=PAPER_CNN_CONFIG,
    )
    train_detector(*arguments)
    return output_dir


def tiny_training_argv(output_dir: Path, dataset_path: Path) -> list[str]:
    return [
        "--dataset_path", str(dataset_path), "--output_dir", str(output_dir), "--report_to", "none",
        "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "64",
        "--disable_tqdm", "true", "--seed", "0",
    ]


def jpeg_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()
