"""A-01's and M-16's count of different statuses: a blank MessageId (which the schema may let
through) beside a real one is two statuses shown as such, never a TypeError from sorting None with
text that would turn the candidate's fault into an error of the harness."""

from __future__ import annotations

from types import SimpleNamespace

from conformance.family.suite.steps import distinct_message_ids


def arrivals(*ids: str | None) -> list:
    return [SimpleNamespace(message_id=message_id) for message_id in ids]


def test_a_blank_message_id_beside_a_real_one_counts_as_a_second_status():
    assert distinct_message_ids(arrivals("b@kh", None, "a@kh", "")) == ["(blank)", "a@kh", "b@kh"]


def test_a_retry_of_the_same_message_id_is_one_status():
    assert distinct_message_ids(arrivals("a@kh", "a@kh")) == ["a@kh"]
