"""``python -m realfake_hf.cross_dataset --models DIR [DIR ...] [--dataset real-or-ai] [--output_dir results/cross_dataset]``

Writes one folder per model (named after the model's run folder) and a comparison table over all the
models found in the output folder.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ..data.images import PREPROCESSING_POLICIES
from ..inference import run_name
from .report import cross_dataset_report, write_comparison


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m realfake_hf.cross_dataset", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", required=True, help="folders written by train.py")
    parser.add_argument("--dataset", default="real-or-ai", help="an image-folder dataset name, path or Hub id")
    parser.add_argument("--dataset_path", default=None)
    parser.add_argument("--label_map", default=None, help='JSON folder/label -> real|fake, e.g. \'{"ai": "fake"}\'')
    parser.add_argument("--content_map", default=None,
                        help='JSON content category -> CIFAR-10 class or null, e.g. \'{"pets": "cat"}\' '
                             "(unlisted categories: no CIFAR-10 counterpart)")
    parser.add_argument("--policies", nargs="+", default=list(PREPROCESSING_POLICIES), choices=PREPROCESSING_POLICIES,
                        help="preprocessing policies; the first is the primary one")
    parser.add_argument("--output_dir", default="results/cross_dataset")
    parser.add_argument("--cifake_path", default=None, help="CIFAKE zip or folder (default: the usual search)")
    parser.add_argument("--max_cifake_samples", type=int, default=None, help="debug: subset of CIFAKE val/test")
    parser.add_argument("--real_below", type=float, default=0.3, help="abstain band: p_fake at or below is 'real'")
    parser.add_argument("--fake_above", type=float, default=0.7, help="abstain band: p_fake at or above is 'fake'")
    parser.add_argument("--gallery_size", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    content_map = json.loads(args.content_map) if args.content_map else None
    for model_dir in args.models:
        cross_dataset_report(
            model_dir, Path(args.output_dir) / run_name(model_dir), args.dataset, args.dataset_path,
            args.label_map, content_map, tuple(args.policies), args.cifake_path, args.max_cifake_samples,
            args.real_below, args.fake_above, args.gallery_size, seed=args.seed,
        )
    print(write_comparison(args.output_dir))


if __name__ == "__main__":
    main()
