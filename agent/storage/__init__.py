"""Storage: SQLAlchemy 2 models, engine setup, Alembic migrations and repositories."""
