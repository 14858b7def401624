"""Speed and memory of the foundation, on this machine: ``python benchmarks/run_benchmarks.py``.

1. First import of the full CIFAKE zip into Arrow, then the cached reload (each in a fresh process, so peak
   RSS is that of the import alone).
2. Training throughput of the paper CNN through the Trainer (our datasets pipeline) against a plain PyTorch
   loop over pre-decoded tensors: same model, batch size, optimizer and number of steps, in one run.
3. Evaluation throughput (images/s) on the 20,000-image test split, first (decoding included) and cached.

Writes ``results/benchmarks.json`` and ``results/benchmarks.md``. Run nothing else heavy meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IMPORT_SNIPPET = """
import json, resource, time
t = time.perf_counter()
from realfake_hf.data import import_dataset
d = import_dataset('cifake', {path!r})
seconds = time.perf_counter() - t
print(json.dumps({{'seconds': seconds, 'rows': sum(len(s) for s in d.values()),
                  'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def bench_import(dataset_path: str | None) -> dict:
    """First import and cached reload, each a fresh process with its own empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "REALFAKE_CACHE_DIR": cache}
        runs = {}
        for name in ("first_import", "cached_reload"):
            output = subprocess.run(
                [sys.executable, "-c", IMPORT_SNIPPET.format(path=dataset_path)], env=env, cwd=ROOT,
                capture_output=True, text=True, check=True,
            ).stdout
            runs[name] = json.loads(output.strip().splitlines()[-1])
    return runs


def bench_training(steps: int, batch_size: int) -> dict:
    import numpy as np
    import torch
    from transformers import Trainer, TrainingArguments

    from realfake_hf.data import collate_pixels, load_detection_dataset, with_model_inputs
    from realfake_hf.models import create_model

    train = load_detection_dataset("cifake")["train"].select(range(steps * batch_size))
    pixels = with_model_inputs(train, 32, train=False)
    pixels[:8]  # decode-once cache built before timing

    torch.manual_seed(0)
    model = create_model("paper_cnn")
    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(
            output_dir=output_dir, per_device_train_batch_size=batch_size, max_steps=steps, learning_rate=1e-3,
            lr_scheduler_type="constant", save_strategy="no", eval_strategy="no", logging_strategy="no",
            report_to="none", remove_unused_columns=False, disable_tqdm=True, dataloader_pin_memory=False,
            use_cpu=True, max_grad_norm=1.0, seed=0,
        )
        trainer = Trainer(model=model, args=args, train_dataset=pixels, data_collator=collate_pixels)
        start = time.perf_counter()
        trainer.train()
        trainer_seconds = time.perf_counter() - start

    # The same tensors, decoded once into memory, and the simplest loop a person would write.
    batch = pixels[:]
    inputs, labels = batch["pixel_values"], batch["labels"]
    torch.manual_seed(0)
    model = create_model("paper_cnn").train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    order = torch.randperm(len(inputs))
    start = time.perf_counter()
    for step in range(steps):
        index = order[step * batch_size : (step + 1) * batch_size]
        loss = model(pixel_values=inputs[index], labels=labels[index]).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    plain_seconds = time.perf_counter() - start
    images = steps * batch_size
    return {
        "steps": steps,
        "batch_size": batch_size,
        "trainer_images_per_s": images / trainer_seconds,
        "plain_loop_images_per_s": images / plain_seconds,
        "ratio_trainer_to_plain": plain_seconds / trainer_seconds,
        "estimated_epoch_minutes_90k": 90_000 / (images / trainer_seconds) / 60,
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
    }


def bench_evaluation(model_dir: str) -> dict:
    from realfake_hf.data import load_detection_dataset
    from realfake_hf.inference import load_detector, predict_split

    model, processor = load_detector(model_dir)
    test = load_detection_dataset("cifake")["test"]
    runs = {}
    with tempfile.TemporaryDirectory() as cache:
        fresh = test.flatten_indices(cache_file_name=os.path.join(cache, "test.arrow"))  # no decode cache yet
        for name in ("first_with_decoding", "cached"):
            start = time.perf_counter()
            predict_split(model, processor, fresh, batch_size=512)
            runs[name] = {"images": len(fresh), "images_per_s": len(fresh) / (time.perf_counter() - start)}
    return runs


def to_markdown(results: dict) -> str:
    from realfake_hf.runinfo import machine

    imp, train, evaluation = results.get("import"), results.get("training"), results.get("evaluation")
    lines = [
        "# Benchmarks",
        "",
        f"Made by `{results['command']}` on {results['date']}.",
        f"Machine: {json.dumps(results['machine'])}.",
        "Numbers are single runs on a shared 2-core machine; expect a few percent of noise.",
    ]
    if imp:
        lines += [
            "", "## CIFAKE zip -> Arrow (120,000 images)", "",
            "| step | wall time | peak RSS |", "|---|---|---|",
            *(f"| {name.replace('_', ' ')} | {run['seconds']:.1f} s | {run['peak_rss_mb']:.0f} MB |" for name, run in imp.items()),
            "", "Peak RSS is the whole Python process (torch, datasets and transformers imported included).",
        ]
    if train:
        lines += [
            "", f"## Training throughput, paper CNN, batch {train['batch_size']}, {train['steps']} steps", "",
            "| loop | images/s |", "|---|---|",
            f"| transformers Trainer over the datasets pipeline | {train['trainer_images_per_s']:.0f} |",
            f"| plain PyTorch loop over in-memory tensors | {train['plain_loop_images_per_s']:.0f} |",
            "", f"Ratio Trainer / plain loop: **{train['ratio_trainer_to_plain']:.3f}** (target >= 0.85). "
            f"One epoch of 90,000 training images through the Trainer: about "
            f"{train['estimated_epoch_minutes_90k']:.1f} min (without the per-epoch validation).",
        ]
    if evaluation:
        lines += [
            "", "## Evaluation throughput, paper CNN, CIFAKE test split", "",
            "| run | images/s |", "|---|---|",
            *(f"| {name.replace('_', ' ')} | {run['images_per_s']:.0f} |" for name, run in evaluation.items()),
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset_path", default=None, help="CIFAKE zip or folder (default: the usual search)")
    parser.add_argument("--model", default=str(ROOT / "results/paper_cnn/model"), help="model folder for evaluation")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--only", choices=["import", "training", "evaluation"], action="append")
    parser.add_argument("--output", default=str(ROOT / "results/benchmarks"))
    args = parser.parse_args()

    from realfake_hf.runinfo import command_line, machine

    output = Path(args.output)
    json_path = output.with_suffix(".json")
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    chosen = args.only or ["import", "training", "evaluation"]
    if "import" in chosen:
        results["import"] = bench_import(args.dataset_path)
    if "training" in chosen:
        results["training"] = bench_training(args.steps, args.batch_size)
    if "evaluation" in chosen:
        results["evaluation"] = bench_evaluation(args.model)
    results.update(command=command_line(), date=time.strftime("%Y-%m-%d"), machine=machine())
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2))
    output.with_suffix(".md").write_text(to_markdown(results))
    print(output.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
