"""EFDX 1.0's reference NSW: its seeded faults (faults.py). The reference NSW itself is the family's
(conformance/family/reference/), run with EFDX's dialect."""
