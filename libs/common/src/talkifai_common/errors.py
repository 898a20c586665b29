"""The base of every error the services raise on purpose.

Hierarchy:
    TalkifaiError
    ├── ValidationFailed      bad input, with the field and the rule (HTTP 400/422)
    ├── NotFound              the resource does not exist for this caller (HTTP 404)
    ├── Conflict              the change collides with existing state (HTTP 409)
    ├── Unauthenticated       no or bad credentials (HTTP 401)
    ├── Forbidden             authenticated, but the role does not allow it (HTTP 403)
    └── TooManyRequests       the caller holds too much of a limited resource (HTTP 429)
Services subclass these; HTTP edges map them with `talkifai_common.web`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One field that broke one rule."""

    field: str
    message: str


class TalkifaiError(Exception):
    """Base of all deliberate errors; `retryable` tells callers whether trying again may help."""

    status_code = 500
    title = "Internal error"
    retryable = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(TalkifaiError):
    """Input broke a rule; `errors` names each field and its rule."""

    status_code = 422
    title = "Validation failed"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []

    @classmethod
    def for_field(cls, field_name: str, message: str) -> ValidationFailed:
        """A failure of one field whose message is also the detail."""
        return cls(message, [FieldError(field_name, message)])


class NotFound(TalkifaiError):
    """The resource does not exist, or belongs to another organization."""

    status_code = 404
    title = "Not found"


class Conflict(TalkifaiError):
    """The change collides with the current state."""

    status_code = 409
    title = "Conflict"


class Unauthenticated(TalkifaiError):
    """Credentials are missing, malformed, expired or forged."""

    status_code = 401
    title = "Unauthenticated"


class Forbidden(TalkifaiError):
    """The caller's role does not allow this action."""

    status_code = 403
    title = "Forbidden"


class TooManyRequests(TalkifaiError):
    """The caller already holds as many of a limited resource as it may; retrying later may help."""

    status_code = 429
    title = "Too many requests"
    retryable = True
