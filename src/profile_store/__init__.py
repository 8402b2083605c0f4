"""Customer profiles: the profile contract, SQLAlchemy tables, repositories and segment rules."""
