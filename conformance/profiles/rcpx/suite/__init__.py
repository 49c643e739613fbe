"""The RCPX 1.0 suite: EFDX's tests run with RCPX's dialect (RCPX is written as a difference from
EFDX), the single-message tests over RCPX's own manifest. The shared tests name EFDX's IDs; RCPX's
catalogue maps them (its ALIASES), and a test of a rule RCPX lacks keeps only its other IDs."""
