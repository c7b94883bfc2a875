"""Call queues and the call: claiming (queueing.py), the rules (policy.py), the deadline watch
(watch.py). Plain functions over the session and a `now`; they flush, never commit.

Errors carry the HTTP status the API answers with, so routes stay thin."""


class CallError(Exception):
    status = 409

    def __init__(self, message: str, *, field: str | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra


class NotFound(CallError):
    """Missing or outside the user's scope: the two look the same."""
    status = 404


class NotAllowed(CallError):
    """The user's role or flag does not allow the action at all."""
    status = 403


class Conflict(CallError):
    """Someone else holds the task, it is finished, or the caller's copy is stale."""
    status = 409


class Invalid(CallError):
    """Input that breaks a rule (a callback in the past, a caller outside the ward)."""
    status = 422
