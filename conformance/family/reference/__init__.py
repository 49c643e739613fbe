"""The reference NSW: a complete, conforming EFDX 1.0 implementation with named seeded faults."""
