"""The Profile of a pack of the family: EFDX 1.0, and every profile written as a difference from it
(RCPX 1.0), share the protocol code and differ in their Dialect. This builds the one object the
engine is given from a pack's dialect and the few facts the dialect does not carry (``pack.py`` of
each pack calls it). It sits on top of the family: it reaches the suite steps and the load adapter,
which import the harness."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from conformance.core.profile import Profile, ReferenceSettings
from conformance.family.dialect import Dialect


class FamilyHooks:
    """What the engine calls into the family for one dialect: each hook a small method of this object,
    which the pack's Profile holds (the family's modules are imported when a hook is first used)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def make_inbox(self, party: str, **options: Any) -> Any:
        from conformance.family.inbox import HarnessInbox

        return HarnessInbox(party, dialect=self.dialect, **options)

    def build_vector(self, vector_id: str, day: date, pki: Any, **options: Any) -> bytes:
        from conformance.family.vectors import build_vector

        return build_vector(vector_id, day, pki, dialect=self.dialect, **options)

    def new_build(self, **fields: Any) -> Any:
        from conformance.family.vectors import Build

        return Build(dialect=self.dialect, **fields)

    def after_suite(self, harness: Any) -> None:
        from conformance.family.suite import steps

        steps.second_answers(harness)

    def nsw_settings(self, settings: ReferenceSettings) -> Any:
        from conformance.family.reference.nsw import Settings

        return Settings(
            party=settings.party,
            db=settings.db,
            peers=settings.peers,
            fault=settings.fault,
            retry_schedule=settings.retry_schedule,
            outbound_timeout=settings.outbound_timeout,
            trigger_token=settings.trigger_token,
            tls=settings.tls,
            status_delay=settings.status_delay,
            outbox_workers=settings.outbox_workers,
            gateway=settings.gateway,
            direct_peers=settings.direct_peers,
            dialect=self.dialect,
        )

    @contextlib.contextmanager
    def start_reference(self, settings: ReferenceSettings) -> Iterator[Any]:
        from conformance.family.reference.runner import RunningReference

        with RunningReference(self.nsw_settings(settings)) as reference:
            yield reference

    def serve_reference(
        self,
        settings: ReferenceSettings,
        host: str,
        port: int,
        announce: Callable[[str], None],
        others: tuple[tuple[Profile, ReferenceSettings], ...] = (),
    ) -> None:
        """One process, one port: this profile's reference NSW and those of other profiles of the
        family on their own paths (RCPX section 4: a candidate may serve both on one base URL)."""
        from conformance.family.reference.nsw import ReferenceNsw
        from conformance.family.reference.server import run_until_signalled, serve

        nsws = [ReferenceNsw(self.nsw_settings(settings))]
        for other, other_settings in others:
            if not isinstance(other.extras.get("dialect"), Dialect):
                raise ValueError(f"{other.title} is not of the EFDX family: it needs a process of its own")
            nsws.append(ReferenceNsw(other.extras["reference_settings"](other_settings)))
        server = serve(nsws[0], host, port, tls=settings.tls, also=nsws[1:], reuse_port=settings.reuse_port)
        scheme = "https" if settings.tls else "http"
        run_until_signalled(nsws, server, lambda running: announce(f"{scheme}://{host}:{running.port}"))

    def validator(self, receiver: str) -> Any:
        from conformance.family.offline import validator

        return validator(receiver, self.dialect)

    def load(self) -> Any:
        from conformance.family.load.adapter import FamilyLoad

        return FamilyLoad(self.dialect)

    def build_vectors(self, day: date, out: Path) -> list[Path]:
        from conformance.family.vectors import build_all

        return build_all(out, day, dialect=self.dialect)


def family_profile(
    dialect: Dialect,
    *,
    description: str,
    suite_package: str,
    reference_party: str,
    spec: Any,  # the pack's spec module: describe(id), spec_text(), spec_path()
    extras: dict[str, Any] | None = None,
) -> Profile:
    codes, hooks = dialect.codes, FamilyHooks(dialect)
    return Profile(
        key=dialect.key,
        title=codes.TITLE,
        description=description,
        parties=codes.PARTIES,
        capabilities=dialect.catalogue.CAPABILITIES,
        catalogue=dialect.catalogue.catalogue,
        suite_package=suite_package,
        trigger_header=codes.TRIGGER_HEADER,
        inbox_path=codes.INBOX_PATH,
        trigger_path=codes.TRIGGER_PATH,
        load_pki=dialect.load_pki,
        make_inbox=hooks.make_inbox,
        build_vector=hooks.build_vector,
        new_build=hooks.new_build,
        after_suite=hooks.after_suite,
        start_reference=hooks.start_reference,
        serve_reference=hooks.serve_reference,
        reference_party=reference_party,
        partner_party=dialect.vector_parties["sender"],
        faults=dialect.faults,
        spec_text=spec.describe,
        spec_document=spec.spec_text,
        clause_trace=spec.clause_trace,
        namespaces=(codes.ENVELOPE_NS, codes.PAYLOAD_NS),
        validator=hooks.validator,
        build_vectors=hooks.build_vectors,
        load=hooks.load,
        extras={"dialect": dialect, "reference_settings": hooks.nsw_settings, **(extras or {})},
    )
