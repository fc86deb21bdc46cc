"""Errors the client and the worker raise, so callers branch on classes and codes, never on message text.

- :class:`JobstreamError`: the API answered with a non-2xx status and (normally) the contract's error body
  ``{"error": {"code", "message"}}``.
- :class:`JobstreamConnectionError`: no usable answer (network failure, a stream that ended before its terminal
  event, an idle connection, bytes that break the SSE contract, a ``seq`` gap). Always worth a retry.
- :class:`JobstreamTimeoutError`: a client-side deadline passed.

A job that *fails* is not an exception: it arrives as a normal ``error`` event on the stream.
"""
from __future__ import annotations

import email.utils
import json
import time
from typing import Any, Literal, Mapping, Optional

ConnectionFailureReason = Literal["network", "dropped", "idle_timeout", "protocol", "gap"]


class JobstreamError(Exception):
    """The API answered with an error status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        retry_after: Optional[float] = None,
        body: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        #: HTTP status (400, 401, 404, 409, 410, 413, 429, 503, ...).
        self.status = status
        #: The contract's machine-readable code (``invalid_request``, ``cursor_expired``, ...), or ``http_<status>``.
        self.code = code
        self.message = message
        #: Seconds from a ``Retry-After`` header (429/503), when the server sent one.
        self.retry_after = retry_after
        #: The whole ``error`` object of the body (e.g. ``expected`` of a ``producer_seq_gap``), or ``{}``.
        self.details: Mapping[str, Any] = body or {}

    @property
    def retryable(self) -> bool:
        return self.status == 408 or self.status == 429 or self.status >= 500


class JobstreamConnectionError(Exception):
    """A connection-level failure: retryable by nature."""

    def __init__(self, reason: ConnectionFailureReason, message: str) -> None:
        super().__init__(message)
        self.reason: ConnectionFailureReason = reason

    @property
    def retryable(self) -> bool:
        return True


class JobstreamTimeoutError(Exception):
    """A client-side deadline passed."""


def is_retryable(err: BaseException) -> bool:
    """Connection failures, 408, 429 and 5xx are worth another try; every other 4xx is final."""
    if isinstance(err, JobstreamConnectionError):
        return True
    if isinstance(err, JobstreamError):
        return err.retryable
    return False


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """``Retry-After`` (delta seconds or an HTTP date) as seconds from now."""
    if value is None:
        return None
    v = value.strip()
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        at = email.utils.parsedate_to_datetime(v).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, at - (time.time() if now is None else now))


def error_from_response(status: int, reason: str, body: bytes, retry_after: Optional[str]) -> JobstreamError:
    """Builds a :class:`JobstreamError` from a non-2xx answer; a body that is not the contract's keeps the status."""
    code = f"http_{status}"
    message = reason or f"HTTP {status}"
    details: Mapping[str, Any] = {}
    try:
        parsed = json.loads(body.decode("utf-8")) if body else None
    except (ValueError, UnicodeDecodeError):
        parsed = None  # a proxy's HTML page, an empty body
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        err = parsed["error"]
        details = err
        if isinstance(err.get("code"), str):
            code = err["code"]
        if isinstance(err.get("message"), str):
            message = err["message"]
    return JobstreamError(status, code, message, parse_retry_after(retry_after), details)
