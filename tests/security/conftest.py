"""The abuse suite uses the API tests' stack: a migrated database per backend, the real
pipeline and services, one user and one token per role."""

from tests.api.conftest import client, stack, stack_db  # noqa: F401 - fixtures

