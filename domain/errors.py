"""Domain errors: every rule the model enforces fails with one of these, carrying a clear message.

One taxonomy for every entry point: ``web.app.HTTP_STATUS`` maps these classes to HTTP statuses and
``cli.main.EXIT_CODES`` to exit statuses, each in one table. Subclass these (never ``Exception``) so a new
error gets its status for free.
"""


class DomainError(Exception):
    """Base class for rule violations. ``str(err)`` is a one-line message fit for an operator."""


class InvalidInput(DomainError):
    """Input failed validation (empty draft, unknown area or language, bad priority...)."""


class InvalidTransition(DomainError):
    """A state machine was asked to move along an edge its transition table does not have."""

    def __init__(self, machine: str, current: str, target: str) -> None:
        super().__init__(f"{machine}: cannot go from '{current}' to '{target}'")
        self.machine = machine
        self.current = current
        self.target = target


class ManifestMismatch(DomainError):
    """An approval or a publish refers to a manifest that is not the package's current one."""


class Forbidden(DomainError):
    """The acting person may not do this (role, area, four-eyes rule). The one "forbidden": HTTP 403 and
    CLI exit status 4 (see ``web.app.http_status`` and ``cli.main.EXIT_CODES``)."""


class ApprovalRefused(Forbidden):
    """The person may not approve this package (role, four-eyes rule, or state)."""


class Conflict(DomainError):
    """The request collides with what is already stored (HTTP 409)."""


class Unauthenticated(DomainError):
    """The caller did not prove who they are (HTTP 401)."""


class NotFound(DomainError):
    """A referenced record (draft, package, area, user...) does not exist."""
