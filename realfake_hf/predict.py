"""Score single images: ``python -m realfake_hf.predict --model DIR PATH [PATH ...]``.

PATH may be files, folders (searched recursively) or globs; any size or mode goes through the project's one
conversion (``realfake_hf.data.images``). Prints file, p_fake and a verdict: ``fake`` at or above
``--fake_above``, ``real`` at or below ``--real_below``, ``uncertain`` in between (the abstain band).
A file that cannot be read is reported and skipped; the others still run.
"""

from __future__ import annotations

import argparse
import csv
import glob
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .data.images import ImageDecodeError, decode_image
from .explain import EXPLAINERS, methods_for
from .explain.plots import save_figure, plt
from .inference import fake_index, input_spec, load_detector, pixels_from_rgb

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    file: str
    p_fake: float | None
    verdict: str
    error: str = ""


def expand_paths(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for pattern in paths:
        matches = [Path(m) for m in sorted(glob.glob(pattern, recursive=True))] or [Path(pattern)]
        for match in matches:
            files += sorted(p for p in match.rglob("*") if p.is_file()) if match.is_dir() else [match]
    return files


def verdict_for(p_fake: float, real_below: float, fake_above: float) -> str:
    if p_fake >= fake_above:
        return "fake"
    if p_fake <= real_below:
        return "real"
    return "uncertain"


def save_overlay(rgb: Image.Image, saliency: np.ndarray, path: Path, title: str) -> Path:
    heat = np.asarray(Image.fromarray((saliency * 255).astype(np.uint8)).resize(rgb.size, Image.Resampling.BILINEAR))
    figure, axes = plt.subplots(1, 2, figsize=(8, 4.2))
    axes[0].imshow(rgb)
    axes[1].imshow(rgb)
    axes[1].imshow(heat / 255.0, cmap="jet", alpha=0.45, vmin=0, vmax=1)
    for axis in axes:
        axis.axis("off")
    figure.suptitle(title)
    return save_figure(figure, path)


def predict_files(
    model_dir: str | Path, paths: list[str], real_below: float = 0.3, fake_above: float = 0.7,
    heatmap_dir: str | Path | None = None,
) -> list[Verdict]:
    if not 0 <= real_below <= fake_above <= 1:
        raise ValueError(f"need 0 <= real_below ({real_below}) <= fake_above ({fake_above}) <= 1")
    model, processor = load_detector(model_dir)
    spec, column = input_spec(processor), fake_index(model)
    method = methods_for(model)[0] if heatmap_dir else None
    results = []
    for file in expand_paths(paths):
        try:
            rgb = decode_image(file.read_bytes(), str(file)).rgb
        except (ImageDecodeError, OSError) as error:
            results.append(Verdict(str(file), None, "unreadable", str(error)))
            logger.warning("%s", error)
            continue
        pixels = pixels_from_rgb(rgb, spec)
        with torch.no_grad():
            p_fake = float(torch.softmax(model(pixel_values=pixels).logits.float(), -1)[0, column])
        verdict = verdict_for(p_fake, real_below, fake_above)
        results.append(Verdict(str(file), p_fake, verdict))
        if method:
            saliency = EXPLAINERS[method](model, pixels, column)[0]
            target = Path(heatmap_dir) / f"{file.stem}_{method}.png"
            save_overlay(rgb, saliency, target, f"{file.name}: p(fake) {p_fake:.3f}, {verdict} ({method} for 'fake')")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realfake_hf.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="image files, folders or globs")
    parser.add_argument("--model", required=True, help="folder written by train.py")
    parser.add_argument("--real_below", type=float, default=0.3, help="p_fake at or below this: 'real'")
    parser.add_argument("--fake_above", type=float, default=0.7, help="p_fake at or above this: 'fake'")
    parser.add_argument("--csv", default=None, help="also write the results here")
    parser.add_argument("--heatmaps", default=None, help="save a heat-map overlay per image into this folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    results = predict_files(args.model, args.paths, args.real_below, args.fake_above, args.heatmaps)
    for result in results:
        score = "" if result.p_fake is None else f"{result.p_fake:.4f}"
        print(f"{result.file}\t{score}\t{result.verdict}{chr(9) + result.error if result.error else ''}")
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "p_fake", "verdict", "error"])
            writer.writerows([r.file, "" if r.p_fake is None else f"{r.p_fake:.6f}", r.verdict, r.error] for r in results)
    return 0 if any(r.p_fake is not None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
