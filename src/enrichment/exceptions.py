"""Errors raised by the enrichment package."""


class EnrichmentError(RuntimeError):
    """A model could not be loaded or run (missing weights, bad configuration). Not a data error: callers
    retry or crash loudly; no input text ever causes it."""
