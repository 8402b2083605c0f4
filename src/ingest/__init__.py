"""Ingest: the ``SocialEvent`` contract, platform adapters, connectors, the producer and the simulator."""
