"""The README's "Testing your NSW, step by step", done as written: its commands and its kh.toml, taken
from the README's own text (the ports swapped for free ones), and the counts it says a run prints
compared with what the run prints. The walkthrough's numbers were hand-written and drifted (it said
`pass 104` where runs gave 123)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopback import free_port

README = Path(__file__).resolve().parent.parent / "README.md"
COMMAND = [sys.executable, "-m", "conformance.app.cli"]


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Testing your NSW, step by step")
    return text[start : text.index("\n## ", start + 10)]


def step(text: str, number: int) -> str:
    start = text.index(f"**{number}. ")
    end = text.index(f"**{number + 1}. ", start)
    return text[start:end]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def commands(block: str) -> list[list[str]]:
    """The shell block's commands (continuation lines joined), as argument lists."""
    joined = block.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def on_ports(text: str, ports: dict[str, int]) -> str:
    for fixed, free in ports.items():
        text = text.replace(f"127.0.0.1:{fixed}", f"127.0.0.1:{free}").replace(
            f"--port {fixed}", f"--port {free}"
        )
    return text


def summary_counts(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith("tests: ")]
    return line.removeprefix("tests: ")


@pytest.fixture
def candidate(tmp_path):
    """Steps 2 and 3: the reference NSW started as the README says, on a free port."""
    processes: list[subprocess.Popen] = []
    ports = {"8080": free_port(), "8443": free_port()}

    def start(number: int) -> None:
        (serve,) = commands(on_ports(blocks(step(walkthrough(), number), "sh")[0], ports))
        assert serve[0] == "conformance"
        process = subprocess.Popen(
            [*COMMAND, *serve[1:]], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        processes.append(process)
        assert "reference NSW KH at" in process.stdout.readline()

    def stop() -> None:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        processes.clear()

    yield ports, start, stop
    stop()


def run(tmp_path: Path, argv: list[str]) -> subprocess.CompletedProcess:
    assert argv[:2] == ["conformance", "run"]
    env = {**os.environ, "EFDX_TEST_TOKEN": "change-me", "CI": ""}  # step 4's export
    return subprocess.run(
        [*COMMAND, *argv[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_steps_2_to_5_print_what_the_readme_says(candidate, tmp_path):
    ports, start, stop = candidate
    text = walkthrough()
    start(2)
    (kh,) = blocks(step(text, 3), "toml")
    (tmp_path / "kh.toml").write_text(on_ports(kh, ports), encoding="utf-8")
    (export, run_plain) = commands(on_ports(blocks(step(text, 4), "sh")[0], ports))
    assert export == ["export", "EFDX_TEST_TOKEN=change-me"]
    plain = run(tmp_path, run_plain)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    said = re.search(r"`tests: (pass \d+, not-applicable \d+)`", step(text, 4)).group(1)
    assert summary_counts(plain.stdout) == said
    assert "EFDX 1.0 conformance: conformant" in plain.stdout

    stop()
    start(5)  # with --tls
    tls_table = blocks(step(text, 5), "toml")[0]
    kh_tls = on_ports(kh, ports).replace("http://", "https://") + "\n" + tls_table
    (tmp_path / "kh.toml").write_text(kh_tls, encoding="utf-8")
    run_tls = shlex.split(
        on_ports(re.search(r"Then `(conformance run [^`]+)`", step(text, 5)).group(1), ports)
    )
    over_tls = run(tmp_path, run_tls)
    assert over_tls.returncode == 0, over_tls.stdout + over_tls.stderr
    said = re.search(r"`tests: (pass \d+(?:, not-applicable \d+)?)`", step(text, 5)).group(1)
    assert summary_counts(over_tls.stdout) == said


def test_the_counts_the_readme_gives_are_the_catalogues():
    """Counts of purposes, tests and vectors written in the README, against what the packs hold."""
    from conformance.app import coverage
    from conformance.family.vectors import load_manifest
    from conformance.harness import registry

    text = README.read_text(encoding="utf-8")
    efdx, rcpx = registry.get("efdx"), registry.get("rcpx")
    efdx_purposes, rcpx_purposes = len(efdx.catalogue().purposes()), len(rcpx.catalogue().purposes())
    assert f"`conformance/profiles/efdx/purposes.toml` holds {efdx_purposes} test purposes" in text
    assert f"{efdx_purposes} test purposes, {len(coverage.suite_tests(efdx))} tests, gaps: 0" in text
    assert f"and {rcpx_purposes} test purposes, the shipped spec" in text
    assert f"of its {rcpx_purposes} purposes, every one has tests" in text
    rcpx_vectors = len(load_manifest(dialect=rcpx.extras["dialect"]))
    assert f"{rcpx_vectors} vectors from JP to AU" in text
    assert f"rcpx` adds a party), {rcpx_vectors} vectors" in text
