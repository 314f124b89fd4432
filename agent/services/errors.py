"""Errors that services raise and the API maps to status codes."""


class NotFound(Exception):
    """The resource doesn't exist (404)."""


class Conflict(Exception):
    """The action conflicts with the resource's current state (409)."""


class Invalid(Exception):
    """The request is well-formed but not acceptable (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
