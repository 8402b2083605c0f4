"""Errors raised by the profile store."""


class ProfileNotFound(LookupError):
    """No profile for the given customer id or identity key."""


class KeyNameTaken(ValueError):
    """An API key with this name exists (or existed: names of revoked keys are not reused)."""
