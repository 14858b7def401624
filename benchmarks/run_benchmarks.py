"""Speed and memory of the foundation, on this machine: ``python benchmarks/run_benchmarks.py``.

1. First import of the full CIFAKE zip into Arrow, then the cached reload (each in a fresh process, so peak
   RSS is that of the import alone).
2. Training throughput of the paper CNN through the Trainer (our datasets pipeline) against a plain PyTorch
   loop over pre-decoded tensors: same model, batch size, optimizer and number of steps, in one run.
3. Evaluation throughput (images/s) on the 20,000-image test split, first (decoding included) and cached.
4. The model zoo: training and inference images/s of every shipped config's model at its input size, plain
   (float32, channels-last), under bfloat16 autocast and under ``torch.compile``; and the Trainer's data
   loader with 0 vs 2 worker processes.

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


class _SteadyStateTimer:
    """Times training steps after ``warmup`` steps, leaving out set-up and the first (allocator) steps."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.seconds = warmup, None, None

    def step(self, step: int) -> None:
        if step == self.warmup:
            self.start = time.perf_counter()

    def stop(self) -> None:
        self.seconds = time.perf_counter() - self.start


def bench_training(steps: int, batch_size: int, rounds: int = 3, warmup: int = 20) -> dict:
    """Trainer vs plain loop, alternating for ``rounds`` rounds (this machine's speed drifts), medians reported."""
    import numpy as np
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from realfake_hf.data import collate_pixels, load_detection_dataset, with_model_inputs
    from realfake_hf.models import create_model

    train = load_detection_dataset("cifake")["train"].select(range(steps * batch_size))
    pixels = with_model_inputs(train, 32, train=False)
    # The same tensors, decoded once into memory, for the simplest loop a person would write.
    in_memory = collate_pixels(pixels.__getitems__(list(range(len(pixels)))))
    inputs, labels = in_memory["pixel_values"], in_memory["labels"]

    class Timing(TrainerCallback):
        def __init__(self, timer):
            self.timer = timer

        def on_step_end(self, args, state, control, **kwargs):
            self.timer.step(state.global_step)

        def on_train_end(self, args, state, control, **kwargs):
            self.timer.stop()

    def trainer_run() -> float:
        torch.manual_seed(0)
        timer = _SteadyStateTimer(warmup)
        with tempfile.TemporaryDirectory() as output_dir:
            args = TrainingArguments(
                output_dir=output_dir, per_device_train_batch_size=batch_size, max_steps=steps, learning_rate=1e-3,
                lr_scheduler_type="constant", save_strategy="no", eval_strategy="no", logging_strategy="no",
                report_to="none", remove_unused_columns=False, disable_tqdm=True, dataloader_pin_memory=False,
                use_cpu=True, max_grad_norm=1.0, seed=0,
            )
            Trainer(
                model=create_model("paper_cnn"), args=args, train_dataset=pixels, data_collator=collate_pixels,
                callbacks=[Timing(timer)],
            ).train()
        return (steps - warmup) * batch_size / timer.seconds

    def plain_run() -> float:
        torch.manual_seed(0)
        model = create_model("paper_cnn").train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
        order = torch.randperm(len(inputs))
        timer = _SteadyStateTimer(warmup)
        for step in range(steps):
            timer.step(step)
            index = order[step * batch_size : (step + 1) * batch_size]
            loss = model(pixel_values=inputs[index], labels=labels[index]).loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        timer.stop()
        return (steps - warmup) * batch_size / timer.seconds

    trainer_speeds, plain_speeds = [], []
    for _ in range(rounds):
        trainer_speeds.append(trainer_run())
        plain_speeds.append(plain_run())
    trainer_speed, plain_speed = float(np.median(trainer_speeds)), float(np.median(plain_speeds))
    return {
        "steps": steps,
        "warmup_steps_excluded": warmup,
        "rounds": rounds,
        "batch_size": batch_size,
        "trainer_images_per_s_each_round": trainer_speeds,
        "plain_loop_images_per_s_each_round": plain_speeds,
        "trainer_images_per_s": trainer_speed,
        "plain_loop_images_per_s": plain_speed,
        "ratio_trainer_to_plain": trainer_speed / plain_speed,
        "estimated_epoch_minutes_90k": 90_000 / trainer_speed / 60,
        "torch_threads": torch.get_num_threads(),
    }


def bench_layout(steps: int = 200, batch_size: int = 64, rounds: int = 3, warmup: int = 20) -> dict:
    """Plain training steps of the paper CNN with NCHW vs channels-last input, alternating rounds."""
    import numpy as np
    import torch

    from realfake_hf.data import collate_pixels, load_detection_dataset, with_model_inputs
    from realfake_hf.models import create_model

    pixels = with_model_inputs(load_detection_dataset("cifake")["train"].select(range(steps * batch_size)), 32)
    batch = collate_pixels(pixels.__getitems__(list(range(len(pixels)))))
    inputs, labels = batch["pixel_values"], batch["labels"]

    def run(memory_format) -> float:
        torch.manual_seed(0)
        model = create_model("paper_cnn").train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        order = torch.randperm(len(inputs))
        timer = _SteadyStateTimer(warmup)
        for step in range(steps):
            timer.step(step)
            index = order[step * batch_size : (step + 1) * batch_size]
            loss = model(pixel_values=inputs[index].contiguous(memory_format=memory_format), labels=labels[index]).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        timer.stop()
        return (steps - warmup) * batch_size / timer.seconds

    speeds = {"nchw": [], "channels_last": []}
    for _ in range(rounds):
        speeds["nchw"].append(run(torch.contiguous_format))
        speeds["channels_last"].append(run(torch.channels_last))
    return {name: {"each_round": values, "median": float(np.median(values))} for name, values in speeds.items()}


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


ZOO_CONFIGS = ("paper_cnn", "resnet", "resnet_wide", "vit_scratch", "vit_scratch_patch2", "efficientnet_lite0", "dinov2_probe")
ZOO_VARIANTS = ("float32", "bf16_autocast", "compile")
COMPILED_CONFIGS = ("paper_cnn", "resnet")  # the from-scratch CNNs that train for an hour; compiling each takes minutes here


def _zoo_config(config_name: str):
    """The config's model arguments, read by the same parser as train.py."""
    from realfake_hf.arguments import parse_arguments

    model_args, *_ = parse_arguments(["--config", str(ROOT / "configs" / f"{config_name}.yaml")])
    return model_args


def _zoo_model(model_args):
    from realfake_hf.models import create_model

    return create_model(model_args.model_name, image_size=model_args.image_size,
                        freeze_backbone=model_args.freeze_backbone, **model_args.config_overrides())


def _zoo_speed(model, inputs, labels, variant: str, train: bool, steps: int, warmup: int) -> float:
    import contextlib

    import torch

    runner = torch.compile(model) if variant == "compile" else model
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if variant == "bf16_autocast"
                else contextlib.nullcontext())
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4) if train else None
    model.train(train)
    timer = _SteadyStateTimer(warmup)
    for step in range(steps):
        timer.step(step)
        if train:
            with autocast:
                loss = runner(pixel_values=inputs, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            with torch.no_grad(), autocast:
                runner(pixel_values=inputs)
    timer.stop()
    return (steps - warmup) * len(inputs) / timer.seconds


def bench_zoo(configs: tuple[str, ...] = ZOO_CONFIGS, variants: tuple[str, ...] = ZOO_VARIANTS,
              batch_size: int = 64, steps: int = 8, warmup: int = 3, rounds: int = 2) -> dict:
    """Images/s per shipped config's model, training and inference, per variant; variants alternate per round."""
    import numpy as np
    import torch

    from realfake_hf.data import collate_pixels, load_detection_dataset, with_model_inputs
    from realfake_hf.models import model_entry

    images = load_detection_dataset("cifake")["train"].select(range(batch_size))
    results = {}
    for config_name in configs:
        config = _zoo_config(config_name)
        entry = model_entry(config.model_name)
        pixels = with_model_inputs(images, config.image_size, mean=entry.mean, std=entry.std)
        batch = collate_pixels(pixels.__getitems__(list(range(batch_size))))
        tried = [v for v in variants if v != "compile" or config_name in COMPILED_CONFIGS]
        speeds = {(variant, mode): [] for variant in tried for mode in ("train", "inference")}
        for _ in range(rounds):
            for variant in tried:
                for mode in ("train", "inference"):
                    torch.manual_seed(0)
                    torch._dynamo.reset()
                    model = _zoo_model(config)
                    speeds[(variant, mode)].append(_zoo_speed(
                        model, batch["pixel_values"], batch["labels"], variant, mode == "train", steps, warmup))
        results[config_name] = {
            "model_name": config.model_name, "image_size": config.image_size,
            "frozen_backbone": config.freeze_backbone,
            **{f"{variant}_{mode}": {"each_round": values, "median": float(np.median(values))}
               for (variant, mode), values in speeds.items()},
        }
    return {"batch_size": batch_size, "steps": steps, "warmup_steps_excluded": warmup, "rounds": rounds,
            "models": results}


def bench_workers(batch_size: int = 128, steps: int = 60, rounds: int = 2) -> dict:
    """ResNet-20 training steps fed by the training DataLoader (flips and shifts in the batch transform)
    with 0 vs 2 worker processes, alternating."""
    import numpy as np
    import torch
    from torch.utils.data import DataLoader

    from realfake_hf.data import collate_pixels, load_detection_dataset, with_model_inputs
    from realfake_hf.models import create_model

    train = with_model_inputs(load_detection_dataset("cifake")["train"].select(range(steps * batch_size)), 32,
                              train=True, hflip_probability=0.5, max_shift=4)
    speeds = {0: [], 2: []}
    for _ in range(rounds):
        for workers in speeds:
            torch.manual_seed(0)
            model = create_model("resnet").train()
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
            loader = DataLoader(train, batch_size=batch_size, collate_fn=collate_pixels, num_workers=workers)
            start = time.perf_counter()
            for batch in loader:
                loss = model(**batch).loss
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            speeds[workers].append(len(train) / (time.perf_counter() - start))
    return {f"workers_{w}": {"each_round": v, "median": float(np.median(v))} for w, v in speeds.items()}


def _zoo_markdown(zoo: dict) -> list[str]:
    header = ["config", "model", "input px"] + [f"{mode} {variant}" for mode in ("train", "inference")
                                                for variant in ZOO_VARIANTS]
    lines = ["", f"## Model zoo: images/s, batch {zoo['batch_size']}", "",
             f"Each cell is the median of {zoo['rounds']} rounds of {zoo['steps']} steps "
             f"(the first {zoo['warmup_steps_excluded']} not timed; `torch.compile`'s compilation falls in them); "
             "variants alternate within each round. 'float32' is the default path (channels-last batches).", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for config_name, row in zoo["models"].items():
        cells = [config_name, row["model_name"] + (" (frozen)" if row["frozen_backbone"] else ""), str(row["image_size"])]
        cells += [f"{row[f'{variant}_{mode}']['median']:.0f}" if f"{variant}_{mode}" in row else "not tried"
                  for mode in ("train", "inference") for variant in ZOO_VARIANTS]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [f"\nRows of {', '.join(rerun['configs'])} re-measured on {rerun['date']} (`--zoo_configs`)."
              for rerun in zoo.get("partial_reruns", [])]
    workers = zoo["workers"]
    lines += ["", "ResNet-20 training fed by the real training DataLoader (flips and shifts), images/s: "
              + ", ".join(f"{name.replace('_', ' ')}: {run['median']:.0f} (rounds {', '.join(f'{v:.0f}' for v in run['each_round'])})"
                          for name, run in workers.items()) + "."]
    return lines


def _explain_markdown(explain_root: Path) -> list[str]:
    """Timings of the committed explanation reports (their own provenance), so this page lists every speed."""
    rows = []
    for path in sorted(explain_root.glob("*/explain_metrics.json")):
        metrics = json.loads(path.read_text())
        run = metrics["provenance"]
        rows.append(f"| {path.parent.name} | {metrics['n']:,} | {', '.join(metrics['methods'])} | "
                    f"{run['wall_time_s'] / 60:.1f} min | {run['images_per_second']:.0f} | "
                    f"{run['machine']['cpu_cores']} cores, {run['machine']['torch_threads']} threads |")
    if not rows:
        return []
    return ["", "## Explanation report (`python -m realfake_hf.explain`)", "",
            "Maps of every method, deletion/insertion curves of each map and of a random baseline, agreement and "
            "central share, batched; wall time from the report's own `provenance`.", "",
            "| model | images | methods | wall time | images/s | machine |", "|---|---|---|---|---|---|", *rows]


def to_markdown(results: dict) -> str:
    from realfake_hf.runinfo import machine

    imp, train, evaluation = results.get("import"), results.get("training"), results.get("evaluation")
    lines = [
        "# Benchmarks",
        "",
        f"Made by `{results['command']}` on {results['date']}.",
        f"Machine: {json.dumps(results['machine'])}.",
        "This shared 2-core virtual machine's speed drifts a lot (up to 1.8x between rounds of the same loop, "
        "see 'each round'), so comparisons alternate their two sides for several rounds and report medians.",
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
            "", f"## Training throughput, paper CNN, batch {train['batch_size']}", "",
            f"Each loop runs {train['steps']} steps, of which the first {train['warmup_steps_excluded']} are not timed; "
            f"the two loops alternate for {train['rounds']} rounds and the medians are reported "
            f"(per round, Trainer: {', '.join(f'{v:.0f}' for v in train['trainer_images_per_s_each_round'])}; "
            f"plain: {', '.join(f'{v:.0f}' for v in train['plain_loop_images_per_s_each_round'])} images/s).", "",
            "| loop | images/s |", "|---|---|",
            f"| transformers Trainer over the datasets pipeline | {train['trainer_images_per_s']:.0f} |",
            f"| plain PyTorch loop over in-memory tensors | {train['plain_loop_images_per_s']:.0f} |",
            "", f"Ratio Trainer / plain loop: **{train['ratio_trainer_to_plain']:.3f}** (target >= 0.85). "
            f"One epoch of 90,000 training images through the Trainer: about "
            f"{train['estimated_epoch_minutes_90k']:.1f} min (without the per-epoch validation).",
        ]
    layout = results.get("layout")
    if layout:
        lines += [
            "", "## Memory layout of the input batch (plain loop, paper CNN, batch 64)", "",
            "| layout | images/s (median) | each round |", "|---|---|---|",
            *(f"| {name} | {run['median']:.0f} | {', '.join(f'{v:.0f}' for v in run['each_round'])} |"
              for name, run in layout.items()),
            "", "`collate_pixels` hands every model channels-last batches because of this (a small gain here; "
            "an earlier 3-round A/B through the Trainer gave 2157-2367 vs 1691-2268 images/s).",
        ]
    if evaluation:
        lines += [
            "", "## Evaluation throughput, paper CNN, CIFAKE test split", "",
            "| run | images/s |", "|---|---|",
            *(f"| {name.replace('_', ' ')} | {run['images_per_s']:.0f} |" for name, run in evaluation.items()),
        ]
    if results.get("zoo"):
        lines += _zoo_markdown(results["zoo"])
    lines += _explain_markdown(ROOT / "results" / "explain")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset_path", default=None, help="CIFAKE zip or folder (default: the usual search)")
    parser.add_argument("--model", default=str(ROOT / "results/paper_cnn/model"), help="model folder for evaluation")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--only", choices=["import", "training", "layout", "evaluation", "zoo"], action="append")
    parser.add_argument("--zoo_configs", nargs="+", choices=ZOO_CONFIGS, default=None,
                        help="with --only zoo: measure only these configs and keep the other rows as they are")
    parser.add_argument("--output", default=str(ROOT / "results/benchmarks"))
    parser.add_argument("--markdown_only", action="store_true", help="rewrite the .md from the saved .json")
    args = parser.parse_args()

    from realfake_hf.runinfo import command_line, machine

    output = Path(args.output)
    json_path = output.with_suffix(".json")
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    chosen = [] if args.markdown_only else args.only or ["import", "training", "layout", "evaluation", "zoo"]
    if "import" in chosen:
        results["import"] = bench_import(args.dataset_path)
    if "training" in chosen:
        results["training"] = bench_training(args.steps, args.batch_size)
    if "layout" in chosen:
        results["layout"] = bench_layout()
    if "evaluation" in chosen:
        results["evaluation"] = bench_evaluation(args.model)
    if "zoo" in chosen and args.zoo_configs:
        measured = bench_zoo(tuple(args.zoo_configs))
        results["zoo"]["models"] = {**results["zoo"]["models"], **measured["models"]}
        results["zoo"]["partial_reruns"] = results["zoo"].get("partial_reruns", []) + [
            {"configs": args.zoo_configs, "date": time.strftime("%Y-%m-%d")}]
    elif "zoo" in chosen:
        zoo = bench_zoo()
        results["zoo"] = {**zoo, "workers": bench_workers(zoo["batch_size"])}
    if chosen:
        results.update(command=command_line(), date=time.strftime("%Y-%m-%d"), machine=machine())
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2))
    output.with_suffix(".md").write_text(to_markdown(results))
    print(output.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
