"""Errors raised by the profile store."""


class ProfileNotFound(LookupError):
    """No profile for the given customer id or identity key."""


class KeyNameTaken(ValueError):
    """An API key with this name exists (or existed: names of revoked keys are not reused)."""


class InvalidSegmentRule(ValueError):
    """A segment rule that does not validate; ``problems`` names each bad part (``all[1]: unknown field
    'lifecyle'``), in the order found."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__("invalid segment rule: " + "; ".join(problems))
        self.problems = problems


class SegmentSyntaxError(InvalidSegmentRule):
    """A rule in the text form that does not parse or validate; ``column`` (1-based) is where."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__((f"column {column}: {message}",))
        self.column = column


class SegmentExists(ValueError):
    """A segment with this name exists."""
