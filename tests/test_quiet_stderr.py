"""In a pipe, a run's stderr carries no access-log line of the harness's own inboxes (the pre-flight's
inbox starts before pytest captures logging, and werkzeug logs each request there by default)."""

from __future__ import annotations

import subprocess
import sys


def test_a_run_in_a_pipe_writes_no_access_log_to_stderr(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "conformance.app.cli", "run", "--profile", "efdx", "--requirement", "M-23",
         "--report-dir", str(tmp_path / "reports")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert "report: " in finished.stdout
    assert ' "POST /' not in finished.stderr, finished.stderr[-2000:]
