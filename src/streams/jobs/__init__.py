"""Periodic jobs over the stores (network centrality, identity suggestions)."""
