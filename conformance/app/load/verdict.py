"""Did the candidate hold the capacity it claims (spec section 8, P-01 to P-03)?

Rates are judged over the steady part of the run (after the ramp). A harness that could not offer
the declared rate makes the run inconclusive, never a fail (section 8): the offered rate fell
short while the candidate's answers stayed within its bound, so the harness was the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.harness.config import Capacity

RATE_TOLERANCE = 0.95  # achieved of offered, offered of declared


# The test purposes of section 8 (each pack's purposes.toml, layer P) that a load run judges: the
# load run is their test, as a suite test is of the other purposes (`conformance list` joins them).
PURPOSES: tuple[str, ...] = (
    "P-01/declared-rate",
    "P-01/right-answers",
    "P-02/receipt-p95",
    "P-02/status-p95",
    "P-03/no-lost-status",
    "P-03/no-second-status",
    "P-03/partner-faults",
)


@dataclass(frozen=True)
class Check:
    purpose: str  # one of PURPOSES
    held: bool
    expected: str
    observed: str
    inconclusive: bool = False  # nothing to judge it by (no sample): neither held nor a fail

    @property
    def requirement(self) -> str:
        return self.purpose.split("/")[0]

    def as_json(self) -> dict:
        return {"requirement": self.requirement} | vars(self)


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
    share: float = 0.0,
    played: int = 0,
) -> tuple[str, list[Check], list[str]]:
    """``held`` | ``not-held`` | ``inconclusive``, the checks, and notes. ``rate`` is the rate the
    run was planned at (the claim's, or a rehearsal's --rate), ``offered`` what the harness sent,
    ``share`` the share of the candidate's sends the harness's inbox is to fail and ``played`` how many
    it did (P-03's partner faults)."""
    checks = _answer_and_status_checks(figures, share, played)
    notes: list[str] = []
    if capacity is None:
        notes.append(
            "no capacity is claimed: the figures are reported, rate and latency bounds are not judged"
        )
    else:
        checks = [
            _declared_rate(rate, offered, achieved),
            *checks,
            *_latency_checks(figures, capacity),
        ]
        notes += _rehearsal_notes(capacity, rate, duration_s)
    return _outcome(checks, notes, sent=figures["counts"].get("sent", 0), offered=offered, rate=rate)


def _answer_and_status_checks(figures: dict, share: float, played: int) -> list[Check]:
    """P-01's right answers and P-03's statuses: judged whether or not a capacity is claimed, as they
    are about every message, not about speed."""
    counts = figures["counts"]
    sent = counts.get("sent", 0)
    wrong, errors = counts.get("wrong", 0), counts.get("errors", 0)
    lost, duplicates = counts.get("lost", 0), counts.get("duplicate_statuses", 0)
    unexpected = counts.get("unexpected", 0)
    checks = [
        Check(
            "P-01/right-answers",
            wrong == 0 and errors == 0 and sent > 0,
            "every answer as sections 5 and 7 demand",
            f"{wrong} wrong answers {dict(figures['wrong_answers'])}, "
            f"{errors} errors {dict(figures['errors'])} of {sent} messages offered",
            inconclusive=sent == 0,
        ),
        Check(
            "P-03/no-lost-status",
            lost == 0 and sent > 0,
            "a status for every CO taken (A-01)",
            f"{lost} lost",
            inconclusive=sent == 0,
        ),
        Check(
            "P-03/no-second-status",
            duplicates == 0 and unexpected == 0 and sent > 0,
            "no second status, none unexpected (A-01's exactly one)",
            f"{duplicates} sent twice, {unexpected} unexpected",
            inconclusive=sent == 0,
        ),
    ]
    if share:  # the partner's inbox failed the declared share of the candidate's sends
        checks.append(_partner_faults(share, played, lost, duplicates))
    return checks


def _partner_faults(share: float, played: int, lost: int, duplicates: int) -> Check:
    """P-03's partner faults: only a run in which the harness's inbox failed sends can show that
    none of them cost a status; with none failed there is nothing to judge."""
    return Check(
        "P-03/partner-faults",
        lost == 0 and duplicates == 0 and played > 0,
        f"no status lost or doubled while {share:.0%} of the candidate's sends failed (M-21)",
        f"{played} sends failed by the harness's inbox; {lost} lost, {duplicates} sent twice",
        inconclusive=played == 0 and lost == 0 and duplicates == 0,
    )


def _declared_rate(rate: float, offered: float, achieved: float) -> Check:
    """P-01's declared rate: a shortfall of the harness (offered below the plan) is inconclusive, not
    the candidate's fail (section 8)."""
    return Check(
        "P-01/declared-rate",
        achieved >= RATE_TOLERANCE * offered and offered >= RATE_TOLERANCE * rate,
        f"{rate:g} messages/s answered",
        f"{achieved:.1f}/s answered of {offered:.1f}/s offered",
        inconclusive=offered < RATE_TOLERANCE * rate,  # the harness did not offer the rate
    )


def _latency_checks(figures: dict, capacity: Capacity) -> list[Check]:
    """P-02's two p95 bounds, which only a claimed capacity gives."""
    return [
        _p02("P-02/receipt-p95", figures["receipt_latency"], capacity.receipt_p95_s, "request to Receipt"),
        _p02("P-02/status-p95", figures["status_lag"], capacity.status_p95_s, "Receipt to status"),
    ]


def _rehearsal_notes(capacity: Capacity, rate: float, duration_s: float) -> list[str]:
    """A run below the claimed rate or shorter than its duration says so: its verdict is a rehearsal's,
    not the claim's."""
    notes = []
    if rate < capacity.rate_per_s:
        notes.append(f"ran at {rate:g}/s of the declared {capacity.rate_per_s:g}/s: a rehearsal of the claim")
    if duration_s < capacity.duration_s:
        notes.append(
            f"ran {duration_s:g} s of the declared {capacity.duration_s:g} s: a rehearsal of the claim"
        )
    return notes


def _outcome(
    checks: list[Check], notes: list[str], *, sent: int, offered: float, rate: float
) -> tuple[str, list[Check], list[str]]:
    """The verdict from the checks: nothing sent is never held, a fail outweighs a harness shortfall,
    and a shortfall or an unjudgeable check without a fail is inconclusive (section 8)."""
    if sent == 0:
        notes.append(
            "the harness offered no message (none was sent and then answered, refused or timed out): "
            "nothing was measured, so nothing is held"
        )
        return "inconclusive", checks, notes
    failed = [check for check in checks if not check.held and not check.inconclusive]
    if offered < RATE_TOLERANCE * rate:
        notes.append(
            f"the harness offered {offered:.1f}/s of the planned {rate:g}/s"
            + (
                ""
                if failed
                else ": the harness was the limit (add --workers or machines), no fail of the candidate"
            )
        )
    if failed:
        return "not-held", checks, notes
    if offered < RATE_TOLERANCE * rate or any(check.inconclusive for check in checks):
        return "inconclusive", checks, notes
    return "held", checks, notes


def _p02(purpose: str, histogram: dict, bound_s: float, what: str) -> Check:
    """P-02 for one p95: inconclusive with no sample (a p95 of nothing is not 0 ms)."""
    expected = f"p95 {what} <= {bound_s * 1000:g} ms"
    p95_ms = histogram.get("p95_ms")
    if not histogram.get("count") or p95_ms is None:
        return Check(purpose, False, expected, "no sample measured", inconclusive=True)
    return Check(purpose, p95_ms / 1000 <= bound_s, expected, f"{p95_ms:.1f} ms")
