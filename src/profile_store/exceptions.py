"""Errors raised by the profile store."""


class ProfileNotFound(LookupError):
    """No profile for the given customer id or identity key."""
