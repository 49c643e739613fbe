"""A run's folder is its own: two runs started in the same second do not share (and overwrite) one."""

from __future__ import annotations

from datetime import datetime, timezone

from conformance.app.run import _new_folder

MOMENT = datetime(2026, 12, 6, 13, 0, 0, 250000, tzinfo=timezone.utc)


def test_a_second_run_in_the_same_second_gets_its_own_folder(tmp_path):
    first = _new_folder(tmp_path, MOMENT)
    assert first.name == "20261206T130000Z"
    first.mkdir()
    second = _new_folder(tmp_path, MOMENT)
    assert second.name == "20261206T130000Z-2"
    second.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "20261206T130000Z-3").symlink_to(tmp_path / "elsewhere")
    third = _new_folder(tmp_path, MOMENT)
    assert third.name == "20261206T130000Z-4"  # a link at a name is taken, never written through
    assert sorted(p.name for p in (first, second, third)) == [first.name, second.name, third.name]
