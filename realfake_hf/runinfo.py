"""What a result file must say about where it came from: command, machine, versions, wall time."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
from pathlib import Path

import psutil
import yaml

ARGS_FILE = "args.yaml"


def run_arguments(run_dir: str | Path) -> dict:
    """Every resolved argument ``train.py`` recorded in ``RUN/args.yaml`` (model, data, training); {} without one."""
    args_file = Path(run_dir) / ARGS_FILE
    return yaml.safe_load(args_file.read_text()) if args_file.exists() else {}


def command_line() -> str:
    return shlex.join([os.path.basename(sys.executable), *sys.argv]) if sys.argv else ""


def cpu_model() -> str | None:
    """The CPU's marketing name where Linux gives it (``platform.processor()`` is empty on Linux), else None."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> dict:
    import torch
    import transformers

    processor = platform.processor() or platform.machine()
    info = {
        "hostname_platform": platform.platform(),
        "processor": processor,
        "cpu_model": cpu_model() or processor,
        # The widest vector instructions torch's CPU kernels use here (AVX2, AVX512...): bf16 autocast is fast only
        # where the CPU has bf16 instructions, so CPU timings are comparable only at the same capability.
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_cores": psutil.cpu_count(logical=True),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
    }
    return info


def run_info(wall_time_s: float | None = None, **extra) -> dict:
    return {
        "command": command_line(),
        "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": None if wall_time_s is None else round(wall_time_s, 1),
        "machine": machine(),
        **extra,
    }
