"""Blind faults: seeded faults written from the spec text alone (EFDX-1.0.md, RCPX-1.0.md), without
reading the suite, as an independent check of it. The list they were drawn from is
``bench/blind_faults/LIST.md``.

Each ``bench/blind_faults/NN-name.patch`` is a unified diff against the installed copy of the package
(paths like ``conformance/profiles/efdx/rules.py``); its first line is a comment ``# name [pack]:
the clause it breaks``. Like ``bench/mutation.py`` (whose ``install_copy`` and ``trial`` this reuses),
the fault is active only in the ``reference serve`` process, which runs from the ``pip install
--target`` copy in ``bench/.mutation/src``; the harness judging it runs from this checkout's own,
unpatched install. Each patch is applied to the copy (``patch -p0``), one trial runs, and the
touched files are put back byte for byte.

    python bench/blind_faults.py [--only SUBSTRING ...] [--timeout 300] [--no-baseline]

Prints a table: fault, pack, outcome (killed with the failed requirements / survived / no-start /
refused / timeout / patch-failed). Results are also appended to ``bench/blind_faults/results.jsonl``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent  # absolute: the script chdirs
FAULTS = HERE / "blind_faults"
RESULTS = FAULTS / "results.jsonl"


def _mutation():
    spec = importlib.util.spec_from_file_location("bench_mutation", HERE / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def describe(patch: Path) -> tuple[str, str, str]:
    """(name, pack, comment) from the patch's first line ``# name [pack]: comment``."""
    first = patch.read_text().splitlines()[0]
    match = re.match(r"#\s*(\S+)\s*\[(\w+)\]:\s*(.*)", first)
    if not match:
        raise ValueError(f"{patch.name}: first line must be '# name [pack]: clause'")
    return match.group(1), match.group(2), match.group(3)


def touched(patch: Path) -> list[str]:
    return sorted(
        {
            line[4:].split("\t")[0].strip()
            for line in patch.read_text().splitlines()
            if line.startswith("+++ ")
        }
    )


def run_one(mutation, src: Path, patch: Path, timeout: float) -> tuple[str, list[str]]:
    name, pack, _ = describe(patch)
    for path in touched(patch):  # a run killed mid-trial leaves its patch in: start from the checkout
        checkout = (mutation.ROOT / path).read_bytes()
        if (src / path).read_bytes() != checkout:
            print(f"{path}: the copy differs from the checkout; restored", file=sys.stderr)
            (src / path).write_bytes(checkout)
    saved = {path: (src / path).read_bytes() for path in touched(patch)}
    applied = subprocess.run(
        ["patch", "-p0", "--forward", "--no-backup-if-mismatch", "-r", "-", "-d", str(src), "-i", str(patch)],
        capture_output=True, text=True,
    )  # fmt: skip
    try:
        if applied.returncode != 0:
            return "patch-failed", [applied.stdout.strip()[:200]]
        return mutation.trial(src, pack, timeout)
    finally:
        for path, data in saved.items():
            (src / path).write_bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", nargs="*", default=[], help="run the faults whose file name contains one of these"
    )
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--no-baseline", action="store_true", help="skip the unpatched run of each pack")
    parser.add_argument(
        "--table", action="store_true", help="print the latest result of each fault, run nothing"
    )
    args = parser.parse_args()
    if args.table:
        return table()
    mutation = _mutation()
    src = mutation.install_copy(mutation.WORK)
    # ``python -m`` puts the working directory first on sys.path, before PYTHONPATH: started from the
    # checkout's root, the reference would import the checkout's unpatched package, not the copy.
    os.chdir(mutation.WORK)
    patches = sorted(FAULTS.glob("*.patch"))
    if args.only:
        patches = [p for p in patches if any(s in p.name for s in args.only)]
    if not args.no_baseline:
        for pack in sorted({describe(p)[1] for p in patches}):
            outcome, failed = mutation.trial(src, pack, args.timeout)
            if outcome != "survived":
                print(
                    f"the unpatched reference is not conformant in {pack} ({outcome}: {failed})",
                    file=sys.stderr,
                )
                return 1
    rows = []
    for patch in patches:
        name, pack, comment = describe(patch)
        started = time.monotonic()
        outcome, failed = run_one(mutation, src, patch, args.timeout)
        seconds = round(time.monotonic() - started, 1)
        rows.append((name, pack, outcome, failed))
        with RESULTS.open("a") as out:
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            line = {"fault": name, "pack": pack, "clause": comment, "outcome": outcome}
            out.write(json.dumps({**line, "failed": failed, "seconds": seconds, "at": at}) + "\n")
        print(f"{name:<36} {pack:<5} {outcome:<9} {' '.join(failed)}", flush=True)
    print()
    print("| fault | pack | outcome | failed requirements |")
    print("|---|---|---|---|")
    for name, pack, outcome, failed in rows:
        print(f"| {name} | {pack} | {outcome} | {', '.join(failed)} |")
    return 0


def table() -> int:
    """The latest result of each fault in results.jsonl, in patch order, as a Markdown table."""
    latest = {}
    for line in RESULTS.read_text().splitlines() if RESULTS.exists() else []:
        row = json.loads(line)
        latest[row["fault"]] = row
    print("| fault | pack | clause broken | outcome | failed requirements |")
    print("|---|---|---|---|---|")
    for patch in sorted(FAULTS.glob("*.patch")):
        name, pack, comment = describe(patch)
        row = latest.get(name)
        if row:
            failed = ", ".join(r.split(" ", 2)[-1] for r in row["failed"])
            print(f"| {name} | {pack} | {comment.replace('|', '/')} | {row['outcome']} | {failed} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
