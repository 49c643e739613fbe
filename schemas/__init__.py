"""XML schemas of the EFDX 1.0 profile, shipped as package data (conformance.schemas)."""
