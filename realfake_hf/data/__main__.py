"""``python -m realfake_hf.data check cifake [--dataset_path P] [--json FILE]``"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from . import DataError, DataNotFoundError, import_dataset
from .check import check_dataset, format_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realfake_hf.data", description="Inspect a real/fake dataset.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="counts, unreadable files, sizes, modes and exact duplicates")
    check.add_argument("name", help="'cifake', a dataset folder name (data/NAME, ../shared/datasets/NAME) or a path")
    check.add_argument("--dataset_path", default=None, help="explicit zip or folder")
    check.add_argument("--label_map", default=None, help='JSON, e.g. \'{"ai": "fake"}\'')
    check.add_argument("--strict", action="store_true", help="fail on the first unreadable image")
    check.add_argument("--json", default=None, help="also write the full report as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        dataset = import_dataset(args.name, args.dataset_path, args.strict, args.label_map)
    except (DataError, DataNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = check_dataset(dataset)
    print(format_report(args.name, report))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
