"""`service-desk-robot bench`: run every capability's benchmark and print one table.

Benchmarks are the scripts bench/bench_<area>.py of the checkout (each defines
`run(quick) -> list[Figure]`); the table is also saved as JSON. A benchmark that fails is
reported as a row with its error and the others still run.
"""

from __future__ import annotations

import argparse
import importlib.util
import traceback
from pathlib import Path

HELP = "run every capability's benchmark; print one table (figure, target, measured) and save it as JSON"
BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="smaller samples (each benchmark under 20 s)")
    parser.add_argument(
        "--only", metavar="AREA", action="append", default=[], help="run only bench_AREA.py (repeatable)"
    )
    parser.add_argument(
        "--json", type=Path, default=Path("reports/bench.json"), help="where to save the table"
    )


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args: argparse.Namespace) -> int:
    from service_desk_robot.benchmarking import Figure, print_table, save_json

    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    if not scripts:
        print(f"no benchmarks found in {BENCH_DIR}")
        return 2
    figures: list[Figure] = []
    failed = False
    for script in scripts:
        area = script.stem.removeprefix("bench_")
        print(f"--- {area}", flush=True)
        try:
            figures.extend(_load(script).run(quick=args.quick))
        except Exception as error:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            figures.append(Figure(f"{area}: benchmark failed", float("nan"), "", detail=repr(error)))
            failed = True
    print()
    print_table(figures)
    save_json(figures, args.json)
    print(f"\nsaved {args.json}")
    return 1 if failed else 0
