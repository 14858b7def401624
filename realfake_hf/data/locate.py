"""Where datasets and caches are found.

Search order for a dataset called NAME (the first that exists wins):
1. an explicit path (``--dataset_path`` / config ``dataset_path``);
2. ``$REALFAKE_DATA_DIR/NAME``;
3. ``data/NAME`` in this checkout;
4. ``../shared/datasets/NAME`` beside this checkout (the team's read-only mirror).
"""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR_ENV = "REALFAKE_DATA_DIR"
CACHE_DIR_ENV = "REALFAKE_CACHE_DIR"

HOW_TO_GET = {
    "cifake": (
        "Get CIFAKE (Bird & Lotfi 2024) from Kaggle into data/cifake/ with\n"
        "    kaggle datasets download -d birdy654/cifake-real-and-ai-generated-synthetic-images -p data/cifake\n"
        "(the downloaded archive.zip is read as is; no need to unzip), or pass a Hugging Face Hub dataset id,\n"
        "e.g. --dataset_name dragonintelligence/CIFAKE-image-dataset (some Hub copies re-split the test set)."
    ),
    "real-or-ai": (
        "real-or-ai is the image set of the 'Real or AI?' web game (github.com/Laboratoriet/real-or-ai-game);\n"
        "put it in data/real-or-ai/ as <content>/<ai|real>/<n>.jpg, or point --dataset_path at any folder of\n"
        "real/fake images (see README, 'Your own dataset')."
    ),
}


class DataNotFoundError(FileNotFoundError):
    pass


def candidate_dirs(
    name: str, explicit: str | os.PathLike | None = None, env: str = DATA_DIR_ENV, local: str = "data",
    mirror: str = "datasets",
) -> list[Path]:
    """``explicit``, ``$env/name``, ``<checkout>/local/name``, ``../shared/mirror/name``, in that order."""
    candidates = []
    if explicit:
        candidates.append(Path(explicit).expanduser())
    if os.environ.get(env):
        candidates.append(Path(os.environ[env]).expanduser() / name)
    candidates.append(CHECKOUT_ROOT / local / name)
    candidates.append(CHECKOUT_ROOT.parent / "shared" / mirror / name)
    return candidates


def locate_dataset(name: str, explicit: str | os.PathLike | None = None) -> Path:
    """The first existing candidate for ``name``; an explicit path that does not exist is an error itself."""
    if explicit and not Path(explicit).expanduser().exists():
        raise DataNotFoundError(f"Dataset path {explicit} does not exist.\n{HOW_TO_GET.get(name, '')}".rstrip())
    tried = candidate_dirs(name, explicit)
    for path in tried:
        if path.exists():
            return path.resolve()
    looked = "\n".join(f"    {path}" for path in tried)
    raise DataNotFoundError(
        f"Dataset '{name}' not found. Looked in:\n{looked}\n"
        f"{HOW_TO_GET.get(name, 'Pass --dataset_path PATH or set ' + DATA_DIR_ENV + '.')}"
    )


def cache_root() -> Path:
    """Arrow caches of imported datasets: ``$REALFAKE_CACHE_DIR``, else ``~/.cache/realfake_hf``."""
    root = Path(os.environ.get(CACHE_DIR_ENV, Path.home() / ".cache" / "realfake_hf")).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root
