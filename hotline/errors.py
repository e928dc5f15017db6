"""One exception hierarchy for the whole service; the web layer maps it to HTTP."""

from __future__ import annotations


class HotlineError(Exception):
    """Base of every error this package raises on purpose."""

    code = "error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(HotlineError):
    """The configuration is invalid; the message names the key and the fix."""

    code = "config_error"


class BadRequest(HotlineError):
    """The caller sent something we cannot accept."""

    code = "bad_request"
    status = 400


class ValidationFailed(BadRequest):
    """A well-formed payload whose fields are wrong."""

    code = "validation_error"
    status = 422


class PayloadTooLarge(HotlineError):
    """A body or attachment over the configured limit."""

    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(HotlineError):
    """A body or attachment of a type we do not accept."""

    code = "unsupported_media_type"
    status = 415


class Unauthorized(HotlineError):
    """No valid credentials."""

    code = "unauthorized"
    status = 401


class Forbidden(HotlineError):
    """Valid credentials without the role the action needs."""

    code = "forbidden"
    status = 403


class NotFound(HotlineError):
    """An unknown id or number."""

    code = "not_found"
    status = 404


class Conflict(HotlineError):
    """The action does not fit the current state."""

    code = "conflict"
    status = 409


class TooManyRequests(HotlineError):
    """Asked again too soon (a phone code within its interval); ``retry_after`` in seconds."""

    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Gone(HotlineError):
    """Something that existed is no longer there to act on (an expired link, a question
    already answered)."""

    code = "gone"
    status = 410


class StorageUnavailable(HotlineError):
    """The database cannot be reached; nothing was acknowledged."""

    code = "database_unavailable"
    status = 503


class UpstreamFailed(HotlineError):
    """A service we depend on (the telephony provider) refused or could not be reached."""

    code = "upstream_failed"
    status = 502


class ChannelError(HotlineError):
    """A channel payload or vendor interaction failed."""

    code = "channel_error"
    status = 400


class ModelError(HotlineError):
    """A trained artifact is missing or incompatible."""

    code = "model_error"
