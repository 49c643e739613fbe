"""The family's reference NSW: a complete, conforming implementation of any profile of the family (its
Dialect: EFDX 1.0, RCPX 1.0), with named seeded faults (each pack's ``reference/seeded_faults.py``)."""
