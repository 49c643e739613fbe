"""The EFDX 1.0 profile: everything profile-specific lives here."""
