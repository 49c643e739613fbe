"""How many signed COs per second the load generator makes: one core, then N processes at once.

Each process builds the templates once (untimed), then makes ``--count`` signed IssueCOs (two
RSA-2048 signatures each, the floor) with conformance.family.load.generator, as a Locust user does
before each POST. Nothing is sent. The figure for N processes is the total made divided by the
wall time from the common start to the last one done. Prints figures; asserts no time.

    python bench/load_generator.py [--count 2000] [--processes 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from datetime import UTC, datetime


def _make(count: int, start, done) -> None:
    from conformance.family.load.generator import Generator
    from conformance.profiles.efdx.dialect import EFDX
    from conformance.profiles.efdx.pki import TestPki

    generator = Generator(TestPki.load(), "SG", "KH", dialect=EFDX)
    now = datetime.now(UTC)
    start.wait()
    began = time.perf_counter()
    for index in range(count):
        generator.make("IssueCO", f"BENCH-{index:06d}", f"{index}@sg.efdx", now)
    done.put(time.perf_counter() - began)


def run(processes: int, count: int) -> tuple[float, list[float]]:
    context = multiprocessing.get_context("spawn")
    start, done = context.Event(), context.Queue()
    workers = [context.Process(target=_make, args=(count, start, done)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    time.sleep(3)  # every process has built its templates
    began = time.perf_counter()
    start.set()
    each = [done.get() for _ in workers]
    wall = time.perf_counter() - began
    for worker in workers:
        worker.join()
    return wall, each


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000, help="COs per process")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    one_wall, _ = run(1, args.count)
    many_wall, each = run(args.processes, args.count)
    one = args.count / one_wall
    many = args.processes * args.count / many_wall
    print(f"1 process:  {args.count} COs in {one_wall:.2f} s = {one:.0f} signed COs/s")
    rates = ", ".join(f"{args.count / seconds:.0f}/s" for seconds in each)
    print(
        f"{args.processes} processes: {args.processes * args.count} COs in {many_wall:.2f} s = {many:.0f} "
        f"signed COs/s (each {rates}); speed-up {many / one:.2f}x"
    )


if __name__ == "__main__":
    main()
