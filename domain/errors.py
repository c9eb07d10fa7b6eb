"""Domain errors: every rule the model enforces fails with one of these, carrying a clear message."""


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


class ApprovalRefused(DomainError):
    """The person may not approve this package (role, four-eyes rule, or state)."""


class NotFound(DomainError):
    """A referenced record (draft, package, area, user...) does not exist."""
