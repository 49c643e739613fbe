"""The `conformance` command as users and scripts meet it: bad input, exit codes, the entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conformance.app import cli


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def vector_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("vectors")
    assert cli.main(["vectors", "build", "--date", "2026-11-26", "--out", str(out)]) == 0
    return out


def test_valid_file_exits_0(capsys, vector_dir):
    code, out, _ = run(capsys, "validate", "--at", "2026-11-26", str(vector_dir / "valid-issue-co.xml"))
    assert code == 0
    assert out.strip().endswith("from SG, ACCEPTED)")


def test_one_invalid_file_makes_exit_1_and_names_the_code(capsys, vector_dir):
    files = [str(vector_dir / "valid-ping.xml"), str(vector_dir / "m06-tampered-header.xml")]
    code, out, _ = run(capsys, "validate", "--at", "2026-11-26", *files)
    assert code == 1
    assert "m06-tampered-header.xml: invalid EFDX-M06" in out
    assert "expected digests and signature value that verify" in out


def test_json_output_lists_file_valid_codes(capsys, vector_dir):
    files = [str(vector_dir / "valid-ping.xml"), str(vector_dir / "br03-rvc-below-40.xml")]
    code, out, _ = run(capsys, "validate", "--json", "--at", "2026-11-26", *files)
    assert code == 1
    assert json.loads(out) == [
        {"file": files[0], "valid": True, "codes": []},
        {"file": files[1], "valid": False, "codes": ["BR-03"]},
    ]


def test_at_defaults_to_now_so_an_old_message_is_stale(capsys, vector_dir):
    # Built for 2026-11-26 noon: judged now, it is more than 24 h old unless today is that day.
    code, out, _ = run(capsys, "validate", "--at", "2026-11-28T12:00:00Z", str(vector_dir / "valid-ping.xml"))
    assert code == 1 and "EFDX-M15" in out


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "EFDX-M01"),
        (bytes(range(256)) * 4, "EFDX-M01"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "EFDX-M01"),
        (b"<not-closed>", "EFDX-M01"),
        (b"<a/>", "EFDX-M03"),
    ],
    ids=["empty", "binary-junk", "png", "not-well-formed", "not-an-envelope"],
)
def test_bad_files_get_one_clear_line(capsys, tmp_path, content, code):
    path = tmp_path / "input.xml"
    path.write_bytes(content)
    status, out, err = run(capsys, "validate", str(path))
    assert status == 1
    assert out.count("\n") == 1 and f"invalid {code}" in out and err == ""


def test_missing_file_is_a_usage_error(capsys, tmp_path):
    status, out, _ = run(capsys, "validate", str(tmp_path / "nope.xml"))
    assert status == 4
    assert out.strip() == f"{tmp_path / 'nope.xml'}: error: No such file or directory"


@pytest.mark.parametrize(
    "argv",
    [
        ["validate"],
        ["validate", "--at", "yesterday", "x.xml"],
        ["validate", "--receiver", "XX", "x.xml"],
        ["vectors", "build", "--date", "2026-13-01", "--out", "x"],
        ["frobnicate"],
    ],
    ids=["no-files", "bad-at", "bad-party", "bad-date", "unknown-command"],
)
def test_usage_errors_exit_4(capsys, argv):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 4
    assert "error:" in capsys.readouterr().err


def test_at_accepts_a_date_or_a_date_time():
    assert cli.parse_moment("2026-11-26").isoformat() == "2026-11-26T12:00:00+00:00"
    assert cli.parse_moment("2026-11-26T08:00:00+07:00").isoformat() == "2026-11-26T08:00:00+07:00"
    assert cli.parse_moment("2026-11-26T08:00:00").isoformat() == "2026-11-26T08:00:00+00:00"


def test_installed_console_script(tmp_path):
    """The entry point works as an installed command, not only in-process."""
    command = shutil.which("conformance") or str(
        __import__("pathlib").Path(sys.executable).with_name("conformance")
    )
    result = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("conformance ")


def test_a_reader_that_stops_early_is_no_error():
    """`conformance spec | head -1`: the pipe closes under the command; it ends quietly, exit 0.
    The pipe is made small, so that the spec cannot fit in it before the reader goes."""
    import fcntl
    import os

    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, 1031, 4096)  # F_SETPIPE_SZ
    command = [sys.executable, "-c", "import sys; from conformance.app.cli import main; sys.exit(main())"]
    process = subprocess.Popen([*command, "spec"], stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        reader.readline()  # the reader goes away with most of the spec unread
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0 and b"Traceback" not in err and b"BrokenPipe" not in err


def test_one_peer_url_serves_every_profile_of_a_shared_reference():
    """`reference serve --profile efdx --profile rcpx --peer SG=.../efdx/1/messages`: RCPX's statuses
    go to the same base on RCPX's path, not to the EFDX inbox."""
    from conformance.harness import registry

    efdx, rcpx = registry.get("efdx"), registry.get("rcpx")
    url = "http://127.0.0.1:8081/efdx/1/messages"
    assert cli._on_path(url, [efdx, rcpx], rcpx) == "http://127.0.0.1:8081/rcpx/1/messages"
    assert cli._on_path(url, [efdx, rcpx], efdx) == url
    assert cli._on_path("http://elsewhere/inbox", [efdx, rcpx], rcpx) == "http://elsewhere/inbox"


def test_a_shared_reference_gives_a_seeded_fault_to_the_profiles_that_have_it(capsys):
    """`reference serve --profile efdx --profile rcpx --fault NAME`: each profile's reference NSW gets
    the fault only if it is one of that profile's; a name of neither is exit 4 with the choices."""
    from conformance.harness import registry

    efdx, rcpx = registry.get("efdx"), registry.get("rcpx")
    for fault, had in [
        ("ignore-br01", (True, False)),
        ("departure-window-exclusive", (False, True)),  # RBR-07 has a clause BR-05 does not
        ("accept-any-tls-client", (True, True)),
        ("no-such-fault", (False, False)),
        (None, (False, False)),
    ]:
        assert (cli._knows(efdx, fault), cli._knows(rcpx, fault)) == had, fault
    argv = ("reference", "serve", "--party", "KH", "--profile", "efdx", "--profile", "rcpx", "--port", "0")
    code, out, err = run(capsys, *argv, "--fault", "no-such-fault")
    assert (code, out) == (4, "")
    assert err.startswith("conformance: error: no seeded fault 'no-such-fault' in EFDX 1.0; "), err
