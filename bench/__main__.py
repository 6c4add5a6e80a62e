"""python -m bench [--quick] [--only NAME] [--emulator process|thread] [--soak EVENTS]"""
from __future__ import annotations

import argparse
import importlib
import sys
import time

from bench import BENCHMARKS, Context, report


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"bench: {message} (see python -m bench --help)", file=sys.stderr)
        sys.exit(2)


def main(argv=None) -> int:
    parser = _Parser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(sorted(BENCHMARKS))}")
    parser.add_argument("--emulator", choices=("process", "thread"), default="process",
                        help="LINE emulator in its own process (default, own GIL) or in a thread here")
    parser.add_argument("--soak", type=int, metavar="EVENTS",
                        help="webhook: events served before the web worker's RSS is read "
                             "(default 10,000; 1,500 with --quick)")
    args = parser.parse_args(argv)
    if args.soak is not None and args.soak < 1:
        parser.error("--soak must be a positive number of events")
    ctx = Context(quick=args.quick, emulator=args.emulator, soak=args.soak)
    names = args.only or list(BENCHMARKS)
    figures = []
    durations = {}
    for name in names:
        ctx.log(f"{name}: {'quick' if ctx.quick else 'full'} run")
        module = importlib.import_module(BENCHMARKS[name])
        started = time.perf_counter()
        figures.extend(module.run(ctx))
        durations[name] = time.perf_counter() - started
    seconds = time.perf_counter() - ctx.started
    path = report.write_json(ctx, durations, figures, seconds)
    print()
    print(report.table(figures))
    if ctx.notes:
        print()
        for note in ctx.notes:
            print(f"- {note}")
    spent = ", ".join(f"{name} {s:.0f} s" for name, s in durations.items())
    print(f"\n{len(figures)} figures in {seconds:.0f} s ({spent}); written to {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - any failure: one line, non-zero exit
        name = "" if type(exc).__name__ == "BenchError" else f"{type(exc).__name__}: "
        print(f"bench: {name}{_one_line(exc)}", file=sys.stderr)
        sys.exit(1)
