"""Alembic migrations of the platform database (profiles, identities, alerts, dead letters)."""
