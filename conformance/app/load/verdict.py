"""Did the candidate hold the capacity it claims (spec section 8, P-01 to P-03)?

Rates are judged over the steady part of the run (after the ramp). A harness that could not offer
the declared rate makes the run inconclusive, never a fail (section 8): the offered rate fell
short while the candidate's answers stayed within its bound, so the harness was the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.harness.config import Capacity

RATE_TOLERANCE = 0.95  # achieved of offered, offered of declared


@dataclass(frozen=True)
class Check:
    requirement: str
    held: bool
    expected: str
    observed: str
    inconclusive: bool = False  # nothing to judge it by (no sample): neither held nor a fail

    def as_json(self) -> dict:
        return vars(self) | {}


def steady_rates(over_time: list[dict], window_s: float, ramp_s: float, end_s: float) -> tuple[float, float]:
    """(offered, achieved) messages per second over the windows wholly inside [ramp_s, end_s]."""
    steady = [w for w in over_time if w["t_s"] >= ramp_s and w["t_s"] + window_s <= end_s + 1e-6]
    if not steady:
        steady = over_time
    if not steady:
        return 0.0, 0.0
    offered = sum(w["offered_per_s"] for w in steady) / len(steady)
    achieved = sum(w["answered_per_s"] for w in steady) / len(steady)
    return offered, achieved


def judge(
    capacity: Capacity | None,
    figures: dict,
    *,
    rate: float,
    offered: float,
    achieved: float,
    duration_s: float,
) -> tuple[str, list[Check], list[str]]:
    """``held`` | ``not-held`` | ``inconclusive``, the checks, and notes. ``rate`` is the rate the
    run was planned at (the claim's, or a rehearsal's --rate), ``offered`` what the harness sent."""
    counts = figures["counts"]
    sent = counts.get("sent", 0)
    wrong, errors = counts.get("wrong", 0), counts.get("errors", 0)
    lost, duplicates = counts.get("lost", 0), counts.get("duplicate_statuses", 0)
    unexpected = counts.get("unexpected", 0)
    checks = [
        Check(
            "P-01",
            wrong == 0 and errors == 0 and sent > 0,
            "every answer as sections 5 and 7 demand",
            f"{wrong} wrong answers {dict(figures['wrong_answers'])}, "
            f"{errors} errors {dict(figures['errors'])} of {sent} messages offered",
            inconclusive=sent == 0,
        ),
        Check(
            "P-03",
            lost == 0 and duplicates == 0 and unexpected == 0 and sent > 0,
            "exactly one status for every CO taken (A-01), none unexpected",
            f"{lost} lost, {duplicates} sent twice, {unexpected} unexpected",
            inconclusive=sent == 0,
        ),
    ]
    notes: list[str] = []
    if capacity is None:
        notes.append(
            "no capacity is claimed: the figures are reported, rate and latency bounds are not judged"
        )
    else:
        checks[:0] = [
            Check(
                "P-01",
                achieved >= RATE_TOLERANCE * rate,
                f"{rate:g} messages/s answered",
                f"{achieved:.1f}/s answered of {offered:.1f}/s offered",
            )
        ]
        checks += [
            _p02(figures["receipt_latency"], capacity.receipt_p95_s, "request to Receipt"),
            _p02(figures["status_lag"], capacity.status_p95_s, "Receipt to status"),
        ]
        if rate < capacity.rate_per_s:
            notes.append(
                f"ran at {rate:g}/s of the declared {capacity.rate_per_s:g}/s: a rehearsal of the claim"
            )
        if duration_s < capacity.duration_s:
            notes.append(
                f"ran {duration_s:g} s of the declared {capacity.duration_s:g} s: a rehearsal of the claim"
            )
    if sent == 0:
        notes.append(
            "the harness offered no message (none was sent and then answered, refused or timed out): "
            "nothing was measured, so nothing is held"
        )
        return "inconclusive", checks, notes
    failed = [check for check in checks if not check.held and not check.inconclusive]
    if offered < RATE_TOLERANCE * rate:
        rate_only = all(check.expected.endswith("messages/s answered") for check in failed)
        notes.append(
            f"the harness offered {offered:.1f}/s of the planned {rate:g}/s"
            + (
                ": the harness was the limit (add --workers or machines), which is no fail of the candidate"
                if rate_only
                else ""
            )
        )
        if rate_only:
            return "inconclusive", checks, notes
    if failed:
        return "not-held", checks, notes
    if any(check.inconclusive for check in checks):
        return "inconclusive", checks, notes
    return "held", checks, notes


def _p02(histogram: dict, bound_s: float, what: str) -> Check:
    """P-02 for one p95: inconclusive with no sample (a p95 of nothing is not 0 ms)."""
    expected = f"p95 {what} <= {bound_s * 1000:g} ms"
    p95_ms = histogram.get("p95_ms")
    if not histogram.get("count") or p95_ms is None:
        return Check("P-02", False, expected, "no sample measured", inconclusive=True)
    return Check("P-02", p95_ms / 1000 <= bound_s, expected, f"{p95_ms:.1f} ms")
