"""Mutation testing of the suite against the reference NSW: how many broken reference NSWs does the
suite fail? (Cosmic Ray's mutation operators, one mutant a trial.)

The harness and the reference NSW share the family's code (judge, rules, signals), so a mutant must
never be active in the harness that judges it. Each trial therefore runs the mutant only in the
``reference serve`` process: the package is installed once into a work folder (``pip install
--target``), Cosmic Ray mutates one place of that copy (and puts it back after the trial), the
reference is started with the copy first on ``PYTHONPATH``, and ``conformance run --config ICS``
judges it from this checkout's own, unmutated install.

Outcomes of a trial:

* ``killed``: the run ended ``not-conformant`` (exit 1); the failing requirements are kept;
* ``refused``: the run stopped before its tests (exit 4: preflight found the candidate broken);
* ``no-start``: the mutated reference did not start (killed, trivially);
* ``timeout``: the run did not end within ``--timeout`` (killed, but a hang is worth a look);
* ``survived``: the run was ``conformant`` (exit 0): the suite misses this mutant;
* ``no-mutation``: Cosmic Ray found nothing to change at that place.

Mutants are enumerated in a fixed order (module, operator, occurrence) and each has a stable ID
``module:operator:occurrence``; ``--sample N --seed S`` draws a stated random sample of them.
Results go to a JSON-lines file, one trial a line, so a run can stop at any time and go on later
(in another session) with the same command. ``report`` prints the counts and the score
(killed / (all - equivalent - no-mutation)), and each survivor with its diff; survivors judged
equivalent are listed, with the reason, in ``bench/mutation_equivalent.toml``. ``--again`` tries the
survivors that are not equivalent again, in today's code: a mutant's ID counts occurrences and moves
when code is added above it, so each is found again by its change (same module, operator, removed
and added lines); its new line names the old ID (``was``) and replaces that trial in the score.

    python bench/mutation.py run --pack efdx --sample 400 --seed 17 [--limit N] [--timeout 300]
    python bench/mutation.py run --pack efdx --again   # the survivors again, after new purposes
    python bench/mutation.py report --pack efdx
    python bench/mutation.py run --pack efdx --round 2 --seed 2026   # a fresh sample, its own file
    python bench/mutation.py judge --pack efdx --round 2   # earlier rounds' judgements, by change

Rounds: a fresh sample of later code (round 2: after issue 18 moved the code into the family) has
its own results file (``efdx-2.jsonl``) and its own table of equivalents (``[efdx-2]``), since IDs
name other mutants in other code. ``judge`` copies into that table the judgement of an earlier
round's equivalent whose change is the same (same module, after the move, same operator, same
removed and added lines), with the ID it was judged under, so that it can be read again; a survivor
with no such twin is judged by hand.

Needs ``pip install cosmic-ray`` in the same venv. Long: each trial is a whole run (about 10-20 s on
two cores), so 400 mutants take one to two hours a pack. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".mutation"  # the installed copy: ignored by git
RESULTS = ROOT / "bench" / "mutation"  # the trials, one JSON-lines file a pack: kept, so runs resume
EQUIVALENT = ROOT / "bench" / "mutation_equivalent.toml"
TOKEN = "mutation-trial-token"

# The reference NSW's receive and send paths: judge, rules, answers and signals, the duplicate and
# sequence store, the outbox. Paths inside the installed package.
FAMILY = [
    "conformance/family/judge.py",
    "conformance/family/signals.py",
    "conformance/family/reference/nsw.py",
    "conformance/family/reference/store.py",
    "conformance/family/reference/outbox.py",
    "conformance/core/business_rules.py",
]
# Where a module measured before issue 18's move lives now: the trials keep the path they were made
# on, and `--again` finds a survivor in today's code under its new path.
MOVED = {
    "conformance/profiles/efdx/judge.py": "conformance/family/judge.py",
    "conformance/profiles/efdx/signals.py": "conformance/family/signals.py",
    "conformance/profiles/efdx/reference/nsw.py": "conformance/family/reference/nsw.py",
    "conformance/profiles/efdx/reference/store.py": "conformance/family/reference/store.py",
    "conformance/profiles/efdx/reference/outbox.py": "conformance/family/reference/outbox.py",
}
MODULES = {
    "efdx": ["conformance/profiles/efdx/rules.py", *FAMILY],
    "rcpx": ["conformance/profiles/rcpx/rules.py", *FAMILY],
}
PARTIES = {"efdx": ("KH", "SG"), "rcpx": ("AU", "JP")}  # the reference's party, the harness's

ICS = """[candidate]
party = "{party}"
profiles = ["{pack}"]
inbox_url = "{inbox}"
build = "reference NSW with one mutant"
capabilities = ["replace", "cancel", "verification", "utilisation", "ecdsa", "trigger"]
[candidate.windows]
status_s = 5
verification_s = 5
retry_schedule_s = [0.2, 0.4, 0.8]
request_timeout_s = 15
grace_s = 0.3
peer_timeout_s = 1
operator_s = 10
[candidate.trigger]
url = "{trigger}"
token = "{token}"
[harness]
party = "{harness_party}"
listen = "127.0.0.1:{port}"
url = "{scheme}://127.0.0.1:{port}/{pack}/1/messages"
[tls]
enabled = {tls}
"""


@dataclass(frozen=True)
class Mutant:
    module: str  # path inside the installed package
    operator: str
    occurrence: int
    line: int

    @property
    def id(self) -> str:
        return f"{self.module}:{self.operator}:{self.occurrence}"


def _package_digest() -> str:
    """The checkout's package as it is now: a copy installed from other code would run stale
    modules beside the mutated one (a new seeded fault, a new answer) and judge the wrong code."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "conformance").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def install_copy(work: Path) -> Path:
    """This checkout installed into ``work/src`` (the package and its entry points), again whenever
    the checkout's package has changed since."""
    src, stamp, digest = work / "src", work / "installed-from", _package_digest()
    if (src / "conformance").is_dir() and stamp.exists() and stamp.read_text() == digest:
        return src
    shutil.rmtree(src, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--target", str(src), str(ROOT)],
        check=True,
    )  # fmt: skip
    stamp.write_text(digest)
    return src


def _annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the module's annotations are: under ``from __future__ import annotations`` they are
    never evaluated, so a mutant there is equivalent by construction and is not drawn."""
    spans = []
    for node in ast.walk(ast.parse(path.read_text())):
        annotations = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        elif isinstance(node, ast.arg | ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in filter(None, annotations):
            end = (annotation.end_lineno or annotation.lineno, annotation.end_col_offset or 0)
            spans.append(((annotation.lineno, annotation.col_offset), end))
    return spans


def restore(src: Path) -> None:
    """Put back every module a trial may mutate, from the checkout: a run stopped in mid-trial
    leaves its mutant in the copy (the next baseline would judge it, and every trial carry it)."""
    for module in {module for modules in MODULES.values() for module in modules}:
        original = (ROOT / module).read_bytes()
        if (src / module).read_bytes() != original:
            (src / module).write_bytes(original)


def enumerate_mutants(src: Path, pack: str) -> list[Mutant]:
    """Every mutant Cosmic Ray's operators make in the pack's modules outside annotations, in a
    fixed order."""
    from cosmic_ray.commands.init import _all_work_items  # the enumeration `cosmic-ray init` uses

    paths = [src / module for module in MODULES[pack]]
    spans = {str(path): _annotation_spans(path) for path in paths}
    found = []
    for item in _all_work_items(paths, {}):
        (mutation,) = item.mutations
        start = tuple(mutation.start_pos)
        if any(first <= start < last for first, last in spans[str(mutation.module_path)]):
            continue
        module = str(Path(mutation.module_path).relative_to(src))
        found.append(Mutant(module, mutation.operator_name, mutation.occurrence, mutation.start_pos[0]))
    return sorted(found, key=lambda m: (m.module, m.operator, m.occurrence))


def sample(mutants: list[Mutant], size: int, seed: int) -> list[Mutant]:
    if size <= 0 or size >= len(mutants):
        return mutants
    return sorted(random.Random(seed).sample(mutants, size), key=lambda m: (m.module, m.line, m.operator))


def free_port() -> int:
    # 12000-19999: below the test suite's loopback ports (20000-32000, tests/loopback.py), so that a
    # mutation run beside the suite never takes a port a test has chosen and not yet bound
    for port in random.sample(range(12000, 20000), 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port")


def _start_reference(
    src: Path, pack: str, folder: Path, harness_port: int, tls: bool
) -> tuple[subprocess.Popen, str]:
    party, harness_party = PARTIES[pack]
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [
        sys.executable, "-m", "conformance.app.cli", "reference", "serve", "--profile", pack,
        "--party", party, "--host", "127.0.0.1", "--port", "0", "--db", str(folder / "ref.sqlite"),
        "--peer", f"{harness_party}={_scheme(tls)}://127.0.0.1:{harness_port}/{pack}/1/messages",
        "--trigger-token", TOKEN, "--retry-schedule", "0.2,0.4,0.8", "--outbound-timeout", "1",
        *(["--tls"] if tls else []),
    ]  # fmt: skip
    process = subprocess.Popen(  # cwd: `python -m` puts it first on sys.path, before PYTHONPATH, and
        # from the checkout it would load the unmutated code
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, start_new_session=True, cwd=folder,
    )  # fmt: skip
    first = process.stdout.readline() if process.stdout else ""
    return process, first


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()


def _failed_requirements(reports: Path) -> list[str]:
    for results in reports.glob("*/results.json"):
        data = json.loads(results.read_text())
        return sorted(r["id"] for r in data.get("requirements", []) if r.get("verdict") in ("fail", "error"))
    return []


def _scheme(tls: bool) -> str:
    return "https" if tls else "http"


def trial(src: Path, pack: str, timeout: float, tls: bool = True) -> tuple[str, list[str]]:
    """One run of the pack's suite against the reference started from ``src`` (mutated or not),
    over mutual TLS with the test PKI (``tls``: T-05 and the TLS paths are exercised too)."""
    party, harness_party = PARTIES[pack]
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        folder, port = Path(tmp), free_port()
        process, first = _start_reference(src, pack, folder, port, tls)
        try:
            if " at " not in first:
                return "no-start", []
            inbox = first.split(" at ", 1)[1].strip()
            trigger = inbox.replace("/messages", "/test/trigger")
            config = folder / "ics.toml"
            config.write_text(
                ICS.format(
                    party=party,
                    pack=pack,
                    inbox=inbox,
                    trigger=trigger,
                    token=TOKEN,
                    harness_party=harness_party,
                    port=port,
                    scheme=_scheme(tls),
                    tls=str(tls).lower(),
                )  # fmt: skip
            )
            command = [
                sys.executable, "-m", "conformance.app.cli", "run", "--profile", pack, "--config",
                str(config), "--report-dir", str(folder / "reports"),
            ]  # fmt: skip
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the harness: unmutated
            try:
                finished = subprocess.run(
                    command,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=timeout,
                    cwd=folder,
                )
            except subprocess.TimeoutExpired:
                return "timeout", []
            outcome = {0: "survived", 1: "killed", 4: "refused"}.get(finished.returncode, "killed")
            return outcome, _failed_requirements(folder / "reports")
        finally:
            _stop(process)


def run(args: argparse.Namespace) -> int:
    from cosmic_ray.mutating import use_mutation
    from cosmic_ray.plugins import get_operator

    work = Path(args.work).resolve()  # absolute: the reference runs in a folder of its own
    src = install_copy(work)
    restore(src)
    chosen = sample(enumerate_mutants(src, args.pack), args.sample, args.seed)
    RESULTS.mkdir(exist_ok=True)
    results = RESULTS / f"{_key(args)}.jsonl"
    last = _last_trials(results)
    done = set(last)
    carried: dict[str, str] = {}  # a survivor's mutant in today's code -> its ID in the trial's code
    if args.again:  # only the survivors again (after new purposes), not those judged equivalent
        equivalent = _equivalent(_key(args))
        survivors = [t for mid, t in last.items() if t["outcome"] == "survived" and mid not in equivalent]
        carried = carry(src, enumerate_mutants(src, args.pack), survivors)
        chosen = [m for m in enumerate_mutants(src, args.pack) if m.id in carried]
        done = set()
    baseline, failed = trial(src, args.pack, args.timeout, args.tls)
    if baseline != "survived":
        print(f"the unmutated reference is not conformant ({baseline}: {failed}); no trials", file=sys.stderr)
        return 1
    todo = [m for m in chosen if m.id not in done][: args.limit or None]
    print(f"{args.pack}: {len(chosen)} mutants sampled (seed {args.seed}), {len(done)} done, {len(todo)} now")
    for number, mutant in enumerate(todo, start=1):
        started = time.monotonic()
        with use_mutation(src / mutant.module, get_operator(mutant.operator)(), mutant.occurrence) as (
            before,
            after,
        ):
            if after is None:
                outcome, failed, diff = "no-mutation", [], ""
            else:
                outcome, failed = trial(src, args.pack, args.timeout, args.tls)
                diff = "".join(_diff(before, after, mutant.module))
        line = {
            "id": mutant.id, "module": mutant.module, "line": mutant.line, "operator": mutant.operator,
            "outcome": outcome, "failed": failed, "seconds": round(time.monotonic() - started, 1),
            "tls": args.tls,
            "diff": diff,
        }  # fmt: skip
        if mutant.id in carried:
            line["was"] = carried[mutant.id]
        with results.open("a") as out:
            out.write(json.dumps(line) + "\n")
        print(f"[{number}/{len(todo)}] {outcome:<11} {mutant.id} (line {mutant.line})", flush=True)
    return 0


def _change(diff: str) -> tuple[str, ...]:
    """What a mutant changes, without where: its diff's removed and added lines."""
    return tuple(
        line[0] + line[1:].strip()
        for line in diff.splitlines()
        if line[:1] in "-+" and not line.startswith(("---", "+++"))
    )


def _same_change(change: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """The same change, also where its statement has since been split over lines or joined: each
    line of one is within the matching line of the other."""
    if len(change) != len(wanted):
        return False
    return all(
        a == b or (a[0] == b[0] and a[1:] and b[1:] and (a[1:] in b or b[1:] in a))
        for a, b in zip(change, wanted, strict=True)
    )


def carry(src: Path, mutants: list[Mutant], survivors: list[dict]) -> dict[str, str]:
    """Find each survivor in today's code: the mutant of the same module and operator whose change
    is the survivor's (IDs count occurrences, so they move when code is added above). Survivors
    whose line is gone are reported and left out."""
    from cosmic_ray.mutating import use_mutation
    from cosmic_ray.plugins import get_operator

    found: dict[str, str] = {}
    for survivor in survivors:
        wanted = _change(survivor["diff"])
        same_kind = [
            m
            for m in mutants
            if (m.module, m.operator)
            == (MOVED.get(survivor["module"], survivor["module"]), survivor["operator"])
        ]
        for mutant in same_kind:
            if mutant.id in found:
                continue
            with use_mutation(src / mutant.module, get_operator(mutant.operator)(), mutant.occurrence) as (
                before,
                after,
            ):
                change = _change("".join(_diff(before, after, mutant.module))) if after else ()
            if _same_change(change, wanted):
                found[mutant.id] = sample_id(survivor)
                break
        else:
            print(f"not in today's code: {survivor['id']} (line {survivor['line']})", file=sys.stderr)
    return found


def _diff(before: str, after: str, name: str):
    import difflib

    return difflib.unified_diff(before.splitlines(True), after.splitlines(True), name, name, n=1)


def _last_trials(results: Path) -> dict[str, dict]:
    """Each mutant's latest trial, by its ID in the sample (a survivor tried again: its newer line wins)."""
    lines = results.read_text().splitlines() if results.exists() else []
    latest: dict[str, dict] = {}
    for trial in map(json.loads, lines):
        latest[sample_id(trial)] = trial
    return latest


def sample_id(trial: dict) -> str:
    """The ID a trial's mutant had when it was drawn: a survivor tried again in later code (``carry``)
    has another ID there (``id``) and keeps its first one (``was``), by which the sample, the score
    and bench/mutation_equivalent.toml know it (today's IDs may name other mutants)."""
    return trial.get("was") or trial["id"]


def _key(args: argparse.Namespace) -> str:
    """A round's name: its results file and its table of equivalents (round 1: the pack's name)."""
    return args.pack if args.round == 1 else f"{args.pack}-{args.round}"


def _equivalent(key: str) -> dict[str, str]:
    return tomllib.loads(EQUIVALENT.read_text()).get(key, {}) if EQUIVALENT.exists() else {}


def _kind(trial: dict) -> tuple[str, str]:
    return MOVED.get(trial["module"], trial["module"]), trial["operator"]


# Code both packs run (a mutant of it is the same mutant in either pack's sample)
SHARED = ("conformance/core/", "conformance/family/")


def judge(args: argparse.Namespace) -> int:
    """Copy earlier rounds' judgements to this round's survivors of the same change (``[key]`` in
    bench/mutation_equivalent.toml, appended), each naming the ID it was judged under; with
    ``--same-code-as PACK``, also the same round's judgements of PACK for code both packs share
    (core, family): a reason that holds for the reference NSW's code whatever pack it serves. Each
    such line is to be read again for this pack before it is committed."""
    key = _key(args)
    judged = _equivalent(key)
    earlier = []  # (kind, change, round key, sample ID, reason) of every earlier judged equivalent
    for number in range(1, args.round):
        old = _key(argparse.Namespace(pack=args.pack, round=number))
        reasons = _equivalent(old)
        for mid, trial in _last_trials(RESULTS / f"{old}.jsonl").items():
            if mid in reasons:
                earlier.append((_kind(trial), _change(trial["diff"]), old, mid, reasons[mid]))
    if args.same_code_as:  # the same mutant of code both packs share, judged in the other pack's round
        other = _key(argparse.Namespace(pack=args.same_code_as, round=args.round))
        reasons = _equivalent(other)
        for mid, trial in _last_trials(RESULTS / f"{other}.jsonl").items():
            if mid in reasons and trial["module"].startswith(SHARED):
                earlier.append((_kind(trial), _change(trial["diff"]), other, mid, reasons[mid]))
    lines, left = [], 0
    for mid, trial in _last_trials(RESULTS / f"{key}.jsonl").items():
        if trial["outcome"] != "survived" or mid in judged:
            continue
        change = _change(trial["diff"])
        twin = next((e for e in earlier if e[0] == _kind(trial) and _same_change(change, e[1])), None)
        if twin is None:
            left += 1
            continue
        lines.append(f"{json.dumps(mid)} = {json.dumps(f'{twin[4]} (as {twin[2]} {twin[3]})')}\n")
    if lines:
        text = EQUIVALENT.read_text() if EQUIVALENT.exists() else ""
        at, last_table = text.find(f"[{key}]"), text.rfind("\n[")
        if at != -1 and at < last_table:  # appended lines would fall into a later table
            print(f"[{key}] is not the file's last table; add these by hand:", file=sys.stderr)
            sys.stderr.writelines(lines)
            return 1
        header = f"\n[{key}]\n" if at == -1 else ""
        with EQUIVALENT.open("a") as out:
            out.write(header + "".join(lines))
    print(f"{key}: {len(lines)} survivors judged as an earlier round's twin, {left} left to judge by hand")
    return 0


def report(args: argparse.Namespace) -> int:
    results = RESULTS / f"{_key(args)}.jsonl"
    if not results.exists():
        print(f"no results yet ({results})", file=sys.stderr)
        return 1
    last = _last_trials(results)
    trials = list(last.values())
    equivalent = _equivalent(_key(args))
    counts: dict[str, int] = {}
    for item in trials:
        counts[item["outcome"]] = counts.get(item["outcome"], 0) + 1
    survivors = [t for key, t in last.items() if t["outcome"] == "survived" and key not in equivalent]
    judged = len(trials) - counts.get("no-mutation", 0) - (counts.get("survived", 0) - len(survivors))
    killed = judged - len(survivors)
    print(f"{args.pack}: {len(trials)} trials: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if judged:
        print(f"score: {killed}/{judged} non-equivalent mutants killed = {100 * killed / judged:.1f} %")
    for item in survivors:
        now = f", now {item['id']}" if item.get("was") else ""
        print(f"\nSURVIVED {sample_id(item)} (line {item['line']}{now})\n{item['diff']}")
    for mutant_id, why in equivalent.items():
        print(f"equivalent: {mutant_id}: {why}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "report", "judge"):
        command = commands.add_parser(name)
        command.add_argument("--pack", choices=sorted(MODULES), default="efdx")
        command.add_argument("--round", type=int, default=1, help="a fresh sample of later code: 2, ...")
        command.add_argument("--work", default=str(WORK), help="the installed copy and the results")
    commands.choices["run"].add_argument("--sample", type=int, default=400, help="0: every mutant")
    commands.choices["judge"].add_argument(
        "--same-code-as", choices=sorted(MODULES), help="also carry this pack's judgements of shared code"
    )
    commands.choices["run"].add_argument("--seed", type=int, default=17)
    commands.choices["run"].add_argument("--limit", type=int, default=0, help="at most N trials now")
    commands.choices["run"].add_argument("--timeout", type=float, default=300.0, help="seconds a trial")
    commands.choices["run"].add_argument("--fresh", action="store_true", help="reinstall the copy")
    commands.choices["run"].add_argument(
        "--plain", dest="tls", action="store_false", help="plain HTTP (default: mutual TLS, test PKI)"
    )
    commands.choices["run"].add_argument(
        "--again", action="store_true", help="try the survivors again (not those judged equivalent)"
    )
    args = parser.parse_args()
    if args.command == "run" and args.fresh:
        shutil.rmtree(Path(args.work) / "src", ignore_errors=True)
    return {"run": run, "report": report, "judge": judge}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
