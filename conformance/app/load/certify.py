"""Whether a load run certifies the capacity a candidate claims, and its evidence and certificate.

EFDX errata 2: capacity (P-01..P-03) is judged and certified by a load run, not by the functional
suite. A load run certifies only what it really exercised: a real candidate that claims a capacity,
run at the declared rate, for the declared duration, with at least the declared share of partner
faults, over mutual TLS, every record merged, not interrupted, and its evidence signed with a site
key that is not test material. Anything less is a rehearsal that says why. A held, certifying run
earns certificate.html (and .pdf with Chromium), naming the evidence bundle's SHA-256.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from conformance.core.trust import Credential
from conformance.results import safe_write
from conformance.results.evidence import write_evidence
from conformance.results.html import write_load_certificate
from conformance.results.pdf import PdfError, find_chromium, print_pdf

LOAD_FILES = ("results.json", "report.html")  # what the bundle holds besides its manifest and signature
CERTIFICATE = "certificate.html"


def reasons(results: dict, *, config_given: bool, signer_problem: str | None) -> list[str]:
    """Why this load run cannot certify ([] when it can): read from its results, as a partner would."""
    load = results["load"]
    capacity = load.get("capacity")
    offered = load["offered"]
    found = []
    if not config_given or results["sut"].get("reference"):
        found.append("the candidate is the embedded reference NSW")
    if capacity is None:
        found.append("no capacity is claimed ([candidate.capacity]): nothing to certify")
    else:
        if offered["rate_per_s"] < capacity["rate_per_s"]:
            found.append(
                f"run at {offered['rate_per_s']:g}/s, below the declared {capacity['rate_per_s']:g}/s"
            )
        if offered["duration_s"] < capacity["duration_s"]:
            found.append(
                f"run {offered['duration_s']:g} s, shorter than the declared {capacity['duration_s']:g} s"
            )
        if offered["gateway_fault_share"] < capacity["gateway_fault_share"]:
            found.append(
                f"partner faults on {offered['gateway_fault_share']:.0%} of sends, below the declared "
                f"{capacity['gateway_fault_share']:.0%} (P-03)"
            )
    if not offered["tls"]:
        found.append("plain HTTP: mutual TLS was not exercised")
    if not load["merged"]["complete"] or any("interrupted" in note for note in load["notes"]):
        found.append("the run was interrupted or not every record was merged")
    if signer_problem:
        found.append(signer_problem)
    return found


def write_evidence_and_certificate(folder: Path, results: dict, signer: Credential) -> list[Path]:
    """evidence.zip (results.json and report.html, signed by ``signer``), and for a held run that
    can certify, the certificate; returns the certificate files written."""
    digest = write_evidence(folder, results, folder / "evidence.zip", signer, files=LOAD_FILES)
    if results["verdict"] != "held" or not results["certification"]["can_certify"]:
        return []
    page = folder / CERTIFICATE
    safe_write.unlink_links(folder, (CERTIFICATE, "certificate.pdf"))
    write_load_certificate(results, digest, page)
    written = [page]
    if find_chromium() is not None:
        with contextlib.suppress(PdfError):
            written.append(print_pdf(page, folder / "certificate.pdf"))
    return written
