"""RCPX 1.0, the RCEP electronic Certificate of Origin Exchange Profile, as a pack (../shared/RCPX-1.0.md)."""
