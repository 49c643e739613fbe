"""The signed-XML-over-HTTPS exchange family (EFDX 1.0 and RCPX 1.0 are members): the protocol code
every pack of the family runs on, written once against a ``Dialect`` (dialect.py) that each pack
gives. It knows no member: no module here imports a pack.

The protocol core (dialect, codes, catalogue, messages, fields, validation, judge, signals, attacks,
vectors, inbox, offline, spec, pki_gen, reference/) imports only ``conformance.core``; ``suite/``
(the shared steps, deliveries and suite modules) and ``load/`` (the `conformance load` adapter) also
import ``conformance.harness``; ``profile.py`` (``family_profile``, a pack's Profile from its
Dialect) sits on top of them all.
"""
