"""``Client``: the REST endpoints of the job API and ``stream()``. Non-2xx answers raise
:class:`~jobstream.errors.JobstreamError`; network failures :class:`~jobstream.errors.JobstreamConnectionError`.

Safe calls (reads, creates with their ``Idempotency-Key``, cancel, the same answer again) are retried on network
failures, 408, 429 and 5xx with full-jitter backoff (``retry=``), honouring ``Retry-After``.
"""
from __future__ import annotations

import math
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, TypeVar, Union, cast

from ._http import Transport, seg
from .backoff import Backoff
from .errors import JobstreamError, JobstreamTimeoutError, is_retryable
from .stream import JobStream, ReconnectInfo
from .models import TERMINAL_STATUSES, Event, EventsPage, Job, JobPage

T = TypeVar("T")


class Client:
    """A client of one jobstream API (``base_url`` like ``https://jobs.example.com``; a path prefix is kept)."""

    def __init__(
        self,
        base_url: str,
        api_key: Optional[str] = None,
        *,
        timeout: float = 30.0,
        headers: Optional[Mapping[str, str]] = None,
        retry: Backoff = Backoff(max_retries=3, initial_delay=0.25, max_delay=5.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = Transport(base_url, api_key, headers, timeout)
        self._retry = retry
        self._sleep = sleep

    # -- jobs ---------------------------------------------------------------------------------------------------

    def create(
        self,
        agent: str,
        input: Mapping[str, Any],
        *,
        metadata: Optional[Mapping[str, Any]] = None,
        idempotency_key: Optional[str] = None,
    ) -> Job:
        """``POST /v1/jobs``. Always sends an ``Idempotency-Key`` (generated when not given) and reuses it on every
        retry, so a retried create never makes a second job."""
        return self.create_with_info(agent, input, metadata=metadata, idempotency_key=idempotency_key)[0]

    def create_with_info(
        self,
        agent: str,
        input: Mapping[str, Any],
        *,
        metadata: Optional[Mapping[str, Any]] = None,
        idempotency_key: Optional[str] = None,
    ) -> "tuple[Job, bool]":
        """Like :meth:`create`, also telling whether the server answered 200 for an idempotent replay."""
        key = idempotency_key or f"py-{uuid.uuid4()}"
        body: Dict[str, Any] = {"agent": agent, "input": dict(input)}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        status, job = self._call("POST", "/v1/jobs", body=body, headers={"Idempotency-Key": key})
        return cast(Job, job), status == 200

    def get(self, job_id: str) -> Job:
        """``GET /v1/jobs/:id``"""
        return cast(Job, self._call("GET", f"/v1/jobs/{seg(job_id)}")[1])

    def list(self, *, status: Optional[str] = None, limit: Optional[int] = None, cursor: Optional[str] = None) -> JobPage:
        """``GET /v1/jobs`` — one page of the tenant's jobs, newest first."""
        query = {"status": status, "limit": limit, "cursor": cursor}
        return cast(JobPage, self._call("GET", "/v1/jobs", query=query)[1])

    def list_all(self, *, status: Optional[str] = None, limit: Optional[int] = None) -> Iterator[Job]:
        """Every job matching ``status``, following ``next_cursor``."""
        cursor: Optional[str] = None
        while True:
            page = self.list(status=status, limit=limit, cursor=cursor)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def cancel(self, job_id: str, reason: Optional[str] = None) -> Job:
        """``POST /v1/jobs/:id/cancel`` — idempotent; the job as it is right after the request."""
        body = {"reason": reason} if reason is not None else {}
        return cast(Job, self._call("POST", f"/v1/jobs/{seg(job_id)}/cancel", body=body)[1])

    def input(self, job_id: str, request_id: str, input: Mapping[str, Any]) -> Job:
        """``POST /v1/jobs/:id/input`` — answers the open ``input_required``. The same answer again is fine;
        another answer raises ``already_answered``, one to a request that is not open ``not_waiting``, one that fails
        the request's schema ``invalid_request``."""
        body = {"request_id": request_id, "input": dict(input)}
        return cast(Job, self._call("POST", f"/v1/jobs/{seg(job_id)}/input", body=body)[1])

    answer = input

    def events(
        self, job_id: str, *, after: Optional[str] = None, limit: Optional[int] = None, types: Optional[Sequence[str]] = None
    ) -> EventsPage:
        """``GET /v1/jobs/:id/events`` — the polling fallback: a page of events after the cursor (each with ``id``)."""
        query = {"after": after, "limit": limit, "types": ",".join(types) if types else None}
        return cast(EventsPage, self._call("GET", f"/v1/jobs/{seg(job_id)}/events", query=query)[1])

    def wait(self, job_id: str, *, timeout_s: Optional[float] = None, until_terminal: bool = False) -> Job:
        """``GET /v1/jobs/:id/wait`` — the job once terminal (or waiting for input), or as it is when the server-side
        wait ends. ``until_terminal=True`` keeps waiting across server-side timeouts until the job has ended and
        raises :class:`JobstreamTimeoutError` when ``timeout_s`` (then the total) passes first."""
        if not until_terminal:
            secs = None if timeout_s is None else min(300, max(0, math.ceil(timeout_s)))  # whole seconds, 0-300
            query = {"timeout_s": secs}
            t = self.transport.timeout + (secs if secs is not None else 30)
            return cast(Job, self._call("GET", f"/v1/jobs/{seg(job_id)}/wait", query=query, timeout=t)[1])
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            left = 30.0 if deadline is None else max(0.0, deadline - time.monotonic())
            job = self.wait(job_id, timeout_s=min(30.0, left))
            if job.get("status") in TERMINAL_STATUSES:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise JobstreamTimeoutError(f"job {job_id} did not end within {timeout_s} s")
            if job.get("status") == "waiting_for_input":
                # the server answers at once while a question is open: poll gently instead of spinning
                self._sleep(min(1.0, left))

    def stream(
        self,
        job_id: str,
        after: Optional[str] = None,
        *,
        reconnect: Union[Backoff, bool] = True,
        idle_timeout: float = 60.0,
        types: Optional[Sequence[str]] = None,
        on_reconnect: Optional[Callable[[ReconnectInfo], None]] = None,
        on_connect: Optional[Callable[[int, Optional[str]], None]] = None,
    ) -> JobStream:
        """``GET /v1/jobs/:id/stream`` as an iterator of :class:`Event` (see :mod:`jobstream.stream`): after the
        cursor ``after`` (or from the first event), reconnecting with ``Last-Event-ID``, until the terminal event."""
        return JobStream(
            self.transport,
            job_id,
            after=after,
            reconnect=reconnect,
            idle_timeout=idle_timeout,
            types=types,
            on_reconnect=on_reconnect,
            on_connect=on_connect,
        )

    def stream_text(self, job_id: str, after: Optional[str] = None) -> "tuple[str, Event]":
        """Streams the job to its end: the text of its ``token`` events (of the last attempt) and the terminal event."""
        parts: List[str] = []
        for event in self.stream(job_id, after):
            if event.type == "attempt":
                parts = []  # output of earlier attempts is void
            elif event.type == "token":
                parts.append(event.text)
            if event.terminal:
                return "".join(parts), event
        raise AssertionError("unreachable: a stream ends with its terminal event")

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> "tuple[int, Any]":
        failures = 0
        while True:
            try:
                return self.transport.json(method, path, query, body, headers, timeout)
            except Exception as err:
                if not is_retryable(err):
                    raise
                failures += 1
                if failures > self._retry.max_retries:
                    raise
                retry_after = err.retry_after if isinstance(err, JobstreamError) else None
                self._sleep(self._retry.delay(failures, None, retry_after))

