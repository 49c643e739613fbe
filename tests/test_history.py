"""A reports folder's history compares like with like: a run says what changed only against an
earlier run of the same candidate (party and inbox URL, or the embedded reference NSW) and the same
profiles, and names that run; `conformance diff` says when two runs are not comparable; the index
shows readable times, kind, transport, whether a run can certify, and links to report and certificate.

The folders here are written by hand: the history reads results.json files it did not write."""

from __future__ import annotations

import json
import os
from pathlib import Path

from lxml import html

from conformance.app import cli
from conformance.results import diff, history

REAL = {"party": "KH", "url": "https://nsw.kh.example/efdx/1/messages", "reference": False}
REFERENCE = {"party": "KH", "url": "http://127.0.0.1:40001/efdx/1/messages", "reference": True, "fault": None}


def results(
    sut: dict, m10: str, *, build: str = "", started: str = "2026-12-06T10:00:00+00:00", **more
) -> dict:
    verdict = "conformant" if m10 == "pass" else "not-conformant"
    return {
        "profile": "EFDX 1.0",
        "profiles": [{"key": "efdx", "title": "EFDX 1.0", "run": True, "verdict": verdict}],
        "sut": sut,
        "ics": {"tls": True},
        "record": {"candidate_build": build} if build else {},
        "started": started,
        "verdict": verdict,
        "certification": {"can_certify": False, "reasons": ["x"]},
        "requirements": [{"id": "EFDX 1.0 M-10", "verdict": m10, "tests": ["efdx/t.py::t"]}],
        "tests": [{"id": "efdx/t.py::t", "verdict": m10}],
        **more,
    }


def write_run(reports: Path, name: str, data: dict) -> Path:
    folder = reports / name
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(data))
    (folder / "report.html").write_text("<html></html>")
    return folder


def test_a_run_is_compared_with_the_last_run_of_the_same_candidate_not_the_reference_beside_it(tmp_path):
    reports = tmp_path / "reports"
    write_run(reports, "2026-12-06T09", results(REAL, "fail", build="4.1"))
    write_run(reports, "2026-12-06T10", results(REFERENCE, "pass"))  # the embedded reference, later
    current = reports / "2026-12-06T11"
    since, notes = history.since_latest_readable(reports, current, results(REAL, "pass", build="4.2"))
    assert notes == [] and since is not None
    assert since["run"] == "2026-12-06T09"  # not the reference's run, though later
    assert since["of"] == "KH https://nsw.kh.example/efdx/1/messages (build 4.1), EFDX 1.0"
    assert (since["fixed"], since["newly_failing"]) == (["EFDX 1.0 M-10"], [])


def test_without_an_earlier_run_of_the_same_candidate_and_profiles_nothing_is_compared(tmp_path):
    reports = tmp_path / "reports"
    write_run(reports, "a", results(REFERENCE, "fail"))
    other_url = {**REAL, "url": "https://nsw-test.kh.example/efdx/1/messages"}
    write_run(reports, "b", results(other_url, "fail"))
    two = results(REAL, "fail")
    two["profiles"].append({"key": "rcpx", "title": "RCPX 1.0", "run": True, "verdict": "conformant"})
    write_run(reports, "c", two)
    since, notes = history.since_latest_readable(reports, reports / "d", results(REAL, "pass"))
    assert (since, notes) == (None, [])


def test_runs_of_the_reference_compare_whatever_their_port_or_seeded_fault(tmp_path):
    reports = tmp_path / "reports"
    write_run(reports, "a", results(REFERENCE, "pass"))
    faulty = {**REFERENCE, "url": "http://127.0.0.1:40999/efdx/1/messages", "fault": "ignore-crl"}
    since, _ = history.since_latest_readable(reports, reports / "b", results(faulty, "fail"))
    assert since is not None and since["newly_failing"] == ["EFDX 1.0 M-10"]


def test_diff_says_when_two_runs_are_not_comparable(tmp_path, capsys):
    old = write_run(tmp_path, "old", results(REFERENCE, "pass"))
    new = write_run(tmp_path, "new", results(REAL, "fail", build="4.2"))
    assert cli.main(["diff", str(old), str(new)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (
        "not comparable: the first run is of KH the embedded reference NSW, EFDX 1.0, the second of "
        "KH https://nsw.kh.example/efdx/1/messages (build 4.2), EFDX 1.0"
    )
    assert diff.why_not_comparable(results(REAL, "pass", build="1"), results(REAL, "fail", build="2")) == ""


def test_the_index_shows_kind_time_transport_can_certify_and_links(tmp_path):
    reports = tmp_path / "reports"
    certified = results(REAL, "pass", started="2026-12-06T10:00:00.123456+00:00")
    certified["certification"] = {"can_certify": True, "reasons": []}
    first = write_run(reports, "2026-12-06T10", certified)
    (first / "certificate.html").write_text("<html></html>")
    load = {
        "kind": "load", "load": {}, "verdict": "held", "profile": "EFDX 1.0",
        "started": "2026-12-06T11:00:00+00:00", "sut": REAL, "ics": {"tls": False},
    }  # fmt: skip
    second = write_run(reports, "2026-12-06T11", load)
    (second / "certificate.html").symlink_to(first / "certificate.html")  # a link is never offered
    history.write_index(reports)
    page = html.fromstring((reports / "index.html").read_text())
    rows = page.xpath("//table[@id='runs']/tbody/tr")
    assert [row.xpath("string(td[3])") for row in rows] == ["load", "run"]
    newest, oldest = rows
    assert oldest.xpath("string(td[2])").startswith("2026-12-06 ")  # no ISO "T", no microseconds
    assert ".123456" not in oldest.xpath("string(td[2])")
    assert oldest.xpath("string(td[2]/time/@datetime)") == "2026-12-06T10:00:00.123456+00:00"
    assert oldest.xpath("string(td[@class='can-certify'])") == "yes"
    assert newest.xpath("string(td[@class='can-certify'])") == "?"
    assert (oldest.xpath("string(td[8])"), newest.xpath("string(td[8])")) == ("mutual TLS", "plain HTTP")
    assert oldest.xpath("td[1]/a/@href") == ["2026-12-06T10/report.html", "2026-12-06T10/certificate.html"]
    assert newest.xpath("td[1]/a/@href") == ["2026-12-06T11/report.html"]


def pilot_results(pairs: list, **pilot) -> dict:
    return {
        "kind": "pilot", "profile": "EFDX 1.0", "verdict": "not-conformant",
        "started": "2026-12-06T12:00:00+00:00",
        "certification": {"can_certify": False, "reasons": ["a pilot certifies nobody"]},
        "pilot": {"parties": ["KH", "SG", "TH"], "pairs": pairs, "gateway": {"tls": True}, **pilot},
    }  # fmt: skip


def test_the_index_lists_a_pilot_with_its_pairs_verdict_counts_and_its_report(tmp_path):
    reports = tmp_path / "reports"
    write_run(reports, "2026-12-06T10", results(REAL, "pass", started="2026-12-06T10:00:00+00:00"))
    pairs = (
        [{"sender": "KH", "receiver": "SG", "verdict": "not-interoperable"}]
        + [{"sender": "SG", "receiver": "KH", "verdict": "interoperable"}] * 3
        + [{"sender": "TH", "receiver": "SG", "verdict": "incomplete"}] * 2
    )
    write_run(reports, "20261206T120000Z-pilot", pilot_results(pairs, reference_fault="never-send-status@SG"))
    # another folder's results.json is untrusted: a pilot of the wrong shape is skipped, saying why
    write_run(reports, "20261206T130000Z-pilot", pilot_results([{"verdict": "<script>"}]))
    write_run(reports, "20261206T140000Z-pilot", {**pilot_results([]), "pilot": ["not", "a", "table"]})
    history.write_index(reports)
    page = html.fromstring((reports / "index.html").read_text())
    rows = page.xpath("//table[@id='runs']/tbody/tr")
    assert [row.xpath("string(td[3])") for row in rows] == ["pilot", "run"]
    pilot = rows[0]
    assert pilot.xpath("td[1]/a/@href") == ["20261206T120000Z-pilot/report.html"]
    assert pilot.xpath("string(td[@class='counts'])").split() == [
        "pairs:", "interoperable", "3,", "not-interoperable", "1,", "incomplete", "2"
    ]  # fmt: skip
    assert "pilot: KH SG TH" in pilot.xpath("string(td[7])") and "never-send-status@SG" in pilot.xpath(
        "string(td[7])"
    )
    assert (
        pilot.xpath("string(td[@class='can-certify'])") == "no"
        and pilot.xpath("string(td[8])") == "mutual TLS"
    )
    skipped = page.xpath("//ul[@id='skipped']/li")
    assert [li.xpath("string(bdi[1])") for li in skipped] == [
        "20261206T140000Z-pilot",
        "20261206T130000Z-pilot",
    ]
    assert "<script>" not in (reports / "index.html").read_text()
    # a pilot is never the run a later run compares itself with
    later = results(REAL, "fail", started="2026-12-06T15:00:00+00:00")
    since, notes = history.since_latest_readable(reports, reports / "2026-12-06T15", later)
    assert since is not None and since["run"] == "2026-12-06T10"
    assert [n for n in notes if "120000Z-pilot" in n] == []


def test_a_readable_time_is_in_this_machines_zone_and_garbage_stays_as_it_is():
    assert history.readable_time("not a time") == "not a time"
    assert history.readable_time("2026-12-06T10:00:00") == "2026-12-06 10:00:00"
    shown = history.readable_time("2026-12-06T10:00:00+00:00")
    assert shown.startswith("2026-12-06 ") and len(shown.split()) == 3


# --- the index's rows kept between runs (history.ROW_CACHE) -----------------------------------------


def a_history(reports: Path) -> None:
    certified = results(REAL, "pass", started="2026-12-06T10:00:00+00:00")
    certified["certification"] = {"can_certify": True, "reasons": []}
    (write_run(reports, "2026-12-06T10", certified) / "certificate.html").write_text("<html></html>")
    write_run(reports, "2026-12-06T11", results(REFERENCE, "fail", started="2026-12-06T11:00:00+00:00"))
    write_run(reports, "2026-12-06T12-pilot", pilot_results([{"verdict": "interoperable"}]))
    write_run(reports, "2026-12-06T13", {"kind": "load", "load": {}, "verdict": "held", "sut": REAL})
    bad = reports / "2026-12-06T14"
    bad.mkdir()
    (bad / "results.json").write_text("{not json")


def counting_reads(monkeypatch) -> list[str]:
    read: list[str] = []
    load_json = history.safe_read.load_json

    def counted(path, *args, **kwargs):
        if path.name == "results.json":
            read.append(path.parent.name)
        return load_json(path, *args, **kwargs)

    monkeypatch.setattr(history.safe_read, "load_json", counted)
    return read


def test_the_index_reads_each_unchanged_run_once_and_shows_the_same(tmp_path, monkeypatch):
    """The second index reads only what changed (and what cannot be read), and is the same page."""
    reports = tmp_path / "reports"
    a_history(reports)
    read = counting_reads(monkeypatch)
    history.write_index(reports)
    first = (reports / "index.html").read_text()
    assert sorted(read) == [
        "2026-12-06T10",
        "2026-12-06T11",
        "2026-12-06T12-pilot",
        "2026-12-06T13",
        "2026-12-06T14",
    ]
    read.clear()
    history.write_index(reports)
    assert (reports / "index.html").read_text() == first
    assert read == ["2026-12-06T14"]  # the unreadable one is tried again, never kept
    (reports / "2026-12-06T10" / "certificate.html").unlink()  # the links are looked at each time
    (reports / "2026-12-06T11" / "results.json").write_text(json.dumps(results(REFERENCE, "pass")))
    read.clear()
    history.write_index(reports)
    assert sorted(read) == ["2026-12-06T11", "2026-12-06T14"]
    page = (reports / "index.html").read_text()
    assert "2026-12-06T10/certificate.html" not in page
    (reports / history.ROW_CACHE).unlink()
    history.write_index(reports)
    assert (reports / "index.html").read_text() == page  # kept rows show what reading anew shows


def test_a_planted_or_broken_row_cache_is_ignored(tmp_path, monkeypatch):
    """The kept rows are untrusted like any file this run did not write: a wrong shape, a link, or
    garbage is read anew from results.json, and the index is what it would be without them."""
    reports = tmp_path / "reports"
    a_history(reports)
    history.write_index(reports)
    expected = (reports / "index.html").read_text()
    cache = reports / history.ROW_CACHE
    good = json.loads(cache.read_text())
    entry = good["rows"]["2026-12-06T10"]
    wrong_shapes = [
        {**entry, "row": {**entry["row"], "verdict": ["conformant"]}},
        {**entry, "row": {**entry["row"], "folder": "elsewhere"}},
        {**entry, "row": {**entry["row"], "counts": {"pass": "many"}}},
        {**entry, "row": {**entry["row"], "extra": "<script>"}},
        {**entry, "stamp": ["1", 2, 3, 4]},
        {**entry, "stamp": entry["stamp"][:2]},
        "not an entry",
    ]
    for wrong in wrong_shapes:
        cache.write_text(json.dumps({"version": 1, "rows": {**good["rows"], "2026-12-06T10": wrong}}))
        read = counting_reads(monkeypatch)
        history.write_index(reports)
        assert "2026-12-06T10" in read, wrong
        assert (reports / "index.html").read_text() == expected
        monkeypatch.undo()
    for garbage in ("{not json", json.dumps([1, 2]), json.dumps({"version": 2, "rows": good["rows"]})):
        cache.write_text(garbage)
        history.write_index(reports)
        assert (reports / "index.html").read_text() == expected
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps(good))
    cache.unlink()
    cache.symlink_to(target)
    history.write_index(reports)  # a link is not read, and it is replaced, not written through
    assert not cache.is_symlink()
    assert target.read_text() == json.dumps(good)
    assert (reports / "index.html").read_text() == expected


def test_a_cache_that_cannot_be_written_leaves_the_index_written(tmp_path):
    """A directory planted at the cache's name: the index is still written, each run, with no error."""
    reports = tmp_path / "reports"
    a_history(reports)
    (reports / history.ROW_CACHE).mkdir()
    history.write_index(reports)
    assert "2026-12-06T11" in (reports / "index.html").read_text()


def test_a_results_json_copied_over_with_its_size_and_time_is_read_again(tmp_path):
    """A results.json replaced by one of the same size with the old modification time kept (``cp -p``,
    an archive restored) is not taken for the one the row was read from."""
    reports = tmp_path / "reports"
    a_history(reports)
    history.write_index(reports)
    target = reports / "2026-12-06T11" / "results.json"
    before = target.stat()
    replaced = target.read_text().replace('"fail"', '"pass"').replace("not-conformant", "conformant    ")
    assert len(replaced) == len(target.read_text())
    fresh = tmp_path / "new.json"
    fresh.write_text(replaced)
    fresh.replace(target)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    history.write_index(reports)
    page = html.fromstring((reports / "index.html").read_text())
    row = page.xpath("//table[@id='runs']/tbody/tr[td[1][contains(., '2026-12-06T11')]]")[0]
    assert "conformant" in row.xpath("string(.)") and "not-conformant" not in row.xpath("string(.)")
