"""The README's CI examples ("### In CI") are complete and checked: read from the README's own text,
each `conformance` command in them parses with the real command line, the trigger token comes from
a CI secret, the harness is fetched before it is installed, the run is compared with a kept baseline
by `conformance diff`, and the report folder is kept. The snippets once set no token, installed a
harness the GitLab job never cloned, and kept no baseline.

Where a snippet's step can run here, it does: its `conformance diff` between two real run folders
against the embedded reference (one with the seeded fault wrong-error-code) laid out as the snippet
expects, and GitHub's step that keeps a main-branch run as the next baseline.
"""

from __future__ import annotations

import glob
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conformance.app import cli
from conformance.app.run import RunOptions, run
from conformance.harness import config as config_module
from conformance.profiles.efdx.pack import PROFILE as EFDX

README = Path(__file__).resolve().parent.parent / "README.md"
COMMAND = [sys.executable, "-m", "conformance.app.cli"]
SEPARATORS = frozenset({";", "&&", "||", "|"})
SHELL_WORDS = frozenset({"if", "then", "else", "elif", "do", "!"})
SECRET = "${{ secrets.EFDX_TEST_TOKEN }}"


def ci_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### In CI")
    return text[start : text.index("\n### ", start + 10)]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", ci_section(), re.DOTALL)


@pytest.fixture(scope="module")
def github() -> dict:
    (workflow,) = [block for block in map(yaml.safe_load, blocks("yaml")) if "jobs" in block]
    (job,) = workflow["jobs"].values()
    return job


@pytest.fixture(scope="module")
def gitlab() -> dict:
    (pipeline,) = [block for block in map(yaml.safe_load, blocks("yaml")) if "jobs" not in block]
    (job,) = pipeline.values()
    return job


def github_scripts(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def simple_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell line (split at ; && || |, leading if/then/... dropped)."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    found: list[list[str]] = [[]]
    for token in lexer:
        if token in SEPARATORS:
            found.append([])
        elif found[-1] or token not in SHELL_WORDS:
            found[-1].append(token)
    return [command for command in found if command]


def conformance_commands(scripts: list[str]) -> list[list[str]]:
    return [
        command[1:]
        for script in scripts
        for command in simple_commands(script)
        if command[0] == "conformance"
    ]


def test_the_readme_has_both_snippets_and_the_ci_configuration():
    assert len(blocks("yaml")) == 2
    (candidate,) = blocks("toml")
    assert "token_env" in candidate


@pytest.mark.parametrize("which", ["github", "gitlab"])
def test_every_conformance_command_parses_with_the_real_command_line(which, github, gitlab):
    scripts = github_scripts(github) if which == "github" else gitlab["script"]
    commands = conformance_commands(scripts)
    assert [argv[0] for argv in commands] == ["run", "diff"], commands
    for argv in commands:
        cli.build_parser().parse_args(argv)  # a wrong option exits (4) and fails the test
    run_argv = commands[0]
    assert "--non-interactive" in run_argv and "--config" in run_argv
    assert run_argv[run_argv.index("--report-dir") + 1] == "reports"
    assert "--regressions-only" in commands[1]


def test_the_ci_configuration_takes_the_token_from_the_environment(monkeypatch):
    """The ICS block loads with the real configuration parser and names the variable, never a token."""
    data = tomllib.loads(blocks("toml")[0])
    trigger = data["candidate"]["trigger"]
    assert trigger == {"url": trigger["url"], "token_env": "EFDX_TEST_TOKEN"}
    monkeypatch.setenv("EFDX_TEST_TOKEN", "from-the-ci-secret")
    parsed = config_module.parse(data)
    assert parsed.trigger_token == "from-the-ci-secret"
    assert parsed.claims("trigger")
    assert parsed.harness_listen and parsed.harness_url  # where the candidate reaches the harness inbox


def test_the_text_says_the_candidate_must_reach_the_harness_inbox():
    text = " ".join(ci_section().split())
    assert "the candidate reaches the harness inbox" in text
    assert "`[harness] listen`" in text and "`[harness] url`" in text


def test_github_takes_the_token_from_a_secret(github):
    assert github["env"]["EFDX_TEST_TOKEN"] == SECRET


def test_gitlab_takes_the_token_from_a_masked_variable_never_from_the_file(gitlab):
    assert "EFDX_TEST_TOKEN" not in gitlab.get("variables", {})
    assert "masked CI/CD variable `EFDX_TEST_TOKEN`" in " ".join(ci_section().split())


def test_github_checks_the_harness_out_before_installing_it(github):
    steps = github["steps"]
    fetched = next(
        n for n, step in enumerate(steps) if step.get("with", {}).get("path") == "harness" and "uses" in step
    )
    assert steps[fetched]["uses"].startswith("actions/checkout@")
    installed = next(n for n, step in enumerate(steps) if step.get("run") == "pip install ./harness")
    assert fetched < installed


def test_gitlab_clones_the_harness_before_installing_it(gitlab):
    script = gitlab["script"]
    cloned = next(n for n, line in enumerate(script) if simple_commands(line)[0][:2] == ["git", "clone"])
    assert simple_commands(script[cloned])[0][-1] == "harness"
    assert cloned < script.index("pip install ./harness")


def test_github_restores_a_baseline_and_keeps_the_main_branch_run(github):
    steps = github["steps"]
    uses = [step.get("uses", "") for step in steps]
    restored = next(n for n, name in enumerate(uses) if name.startswith("actions/cache/restore@"))
    saved = next(n for n, name in enumerate(uses) if name.startswith("actions/cache/save@"))
    ran = next(n for n, step in enumerate(steps) if step.get("run", "").startswith("conformance run"))
    diffed = next(n for n, step in enumerate(steps) if step.get("run", "").startswith("conformance diff"))
    assert restored < ran < diffed < saved
    assert steps[restored]["with"]["path"] == steps[saved]["with"]["path"] == "baseline"
    assert simple_commands(steps[diffed]["run"])[0][2] == "baseline"
    assert "always()" in steps[diffed]["if"]  # compared whatever the run's exit code
    assert "refs/heads/main" in steps[saved]["if"]


def test_gitlab_fetches_the_default_branchs_artifact_as_its_baseline(gitlab):
    script = gitlab["script"]
    fetch = next(n for n, line in enumerate(script) if "jobs/artifacts/$CI_DEFAULT_BRANCH" in line)
    ran = next(n for n, line in enumerate(script) if "conformance run" in line)
    diffed = next(n for n, line in enumerate(script) if "conformance diff" in line)
    assert fetch < ran < diffed
    assert "JOB-TOKEN: $CI_JOB_TOKEN" in script[fetch]
    assert "|| status=$?" in script[ran]  # the diff runs whatever the run's exit code
    assert script[-1] == "exit $status"


def test_both_keep_the_report_folder_as_an_artifact(github, gitlab):
    upload = next(
        step for step in github["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")
    )
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"
    artifacts = gitlab["artifacts"]
    assert artifacts["when"] == "always" and "reports/" in artifacts["paths"]
    assert artifacts["reports"]["junit"] == "reports/*/junit.xml"


# --- the snippets' steps, done here ------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A run of M-20 against the reference, and one against it with wrong-error-code (a regression)."""
    folders = {}
    for name, fault in (("clean", None), ("faulty", "wrong-error-code")):
        options = RunOptions(
            reference_fault=fault,
            requirements=("M-20",),
            report_dir=tmp_path_factory.mktemp(name),
            live=False,
            profile=EFDX,
        )
        folders[name] = run(options)[1]
    return folders


def run_conformance(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """A snippet's `conformance` command as its shell would run it (globs expanded in ``cwd``)."""
    expanded = [match for arg in argv for match in (sorted(glob.glob(arg, root_dir=cwd)) or [arg])]
    return subprocess.run([*COMMAND, *expanded], cwd=cwd, capture_output=True, text=True, timeout=120)


def lay_out(workspace: Path, baseline: Path, new: Path, baseline_at: str) -> None:
    shutil.copytree(baseline, workspace / baseline_at)
    shutil.copytree(new, workspace / "reports" / new.name)


@pytest.mark.parametrize(
    "which, baseline_at", [("github", "baseline"), ("gitlab", "baseline/reports/20260101T000000Z")]
)
def test_the_snippets_diff_flags_a_regression_against_the_kept_baseline(
    which, baseline_at, github, gitlab, runs, tmp_path
):
    scripts = github_scripts(github) if which == "github" else gitlab["script"]
    (diff_argv,) = [argv for argv in conformance_commands(scripts) if argv[0] == "diff"]
    lay_out(tmp_path, runs["clean"], runs["faulty"], baseline_at)
    regressed = run_conformance(diff_argv, tmp_path)
    assert regressed.returncode == 1, regressed.stdout + regressed.stderr
    lines = regressed.stdout.splitlines()
    assert lines[0].startswith("run: ") and "not comparable" not in regressed.stdout
    assert "newly failing requirement: EFDX 1.0 M-20 (pass -> fail)" in lines
    assert all(line.startswith("newly failing") for line in lines[1:])  # --regressions-only


def test_githubs_kept_baseline_is_what_the_next_run_is_compared_with(github, runs, tmp_path):
    """The main-branch step `cp -r reports/*/ baseline`, then the diff: the same run, no regression."""
    lay_out(tmp_path, runs["clean"], runs["faulty"], "baseline")
    (keep,) = [script for script in github_scripts(github) if "cp -r" in script]
    subprocess.run(["bash", "-c", keep], cwd=tmp_path, check=True, timeout=30)
    assert (tmp_path / "baseline" / "results.json").read_bytes() == (
        runs["faulty"] / "results.json"
    ).read_bytes()
    (diff_argv,) = [argv for argv in conformance_commands(github_scripts(github)) if argv[0] == "diff"]
    assert run_conformance(diff_argv, tmp_path).returncode == 0
