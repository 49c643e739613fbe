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
    wrong, errors = counts.get("wrong", 0), counts.get("errors", 0)
    lost, duplicates = counts.get("lost", 0), counts.get("duplicate_statuses", 0)
    unexpected = counts.get("unexpected", 0)
    receipt_p95 = (figures["receipt_latency"]["p95_ms"] or 0.0) / 1000
    lag_p95 = (figures["status_lag"]["p95_ms"] or 0.0) / 1000
    checks = [
        Check(
            "P-01",
            wrong == 0 and errors == 0,
            "every answer as sections 5 and 7 demand",
            f"{wrong} wrong answers {dict(figures['wrong_answers'])}, "
            f"{errors} errors {dict(figures['errors'])}",
        ),
        Check(
            "P-03",
            lost == 0 and duplicates == 0 and unexpected == 0,
            "exactly one status for every CO taken (A-01), none unexpected",
            f"{lost} lost, {duplicates} sent twice, {unexpected} unexpected",
        ),
    ]
    notes: list[str] = []
    if capacity is None:
        return (
            ("held" if all(c.held for c in checks) else "not-held"),
            checks,
            ["no capacity is claimed: the figures are reported, rate and latency bounds are not judged"],
        )
    checks[:0] = [
        Check(
            "P-01",
            achieved >= RATE_TOLERANCE * rate,
            f"{rate:g} messages/s answered",
            f"{achieved:.1f}/s answered of {offered:.1f}/s offered",
        )
    ]
    checks += [
        Check(
            "P-02",
            receipt_p95 <= capacity.receipt_p95_s,
            f"p95 request to Receipt <= {capacity.receipt_p95_s * 1000:g} ms",
            f"{receipt_p95 * 1000:.1f} ms",
        ),
        Check(
            "P-02",
            lag_p95 <= capacity.status_p95_s,
            f"p95 Receipt to status <= {capacity.status_p95_s * 1000:g} ms",
            f"{lag_p95 * 1000:.1f} ms",
        ),
    ]
    if rate < capacity.rate_per_s:
        notes.append(f"ran at {rate:g}/s of the declared {capacity.rate_per_s:g}/s: a rehearsal of the claim")
    if duration_s < capacity.duration_s:
        notes.append(
            f"ran {duration_s:g} s of the declared {capacity.duration_s:g} s: a rehearsal of the claim"
        )
    if all(check.held for check in checks):
        return "held", checks, notes
    short_offer = offered < RATE_TOLERANCE * rate
    only_rate = all(check.held for check in checks[1:])
    if short_offer and only_rate:
        notes.append(
            f"the harness offered {offered:.1f}/s of the planned {rate:g}/s while the "
            "candidate answered within its bounds: the harness was the limit (add --workers or machines)"
        )
        return "inconclusive", checks, notes
    return "not-held", checks, notes
