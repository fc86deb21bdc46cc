"""``JobStream``: a job's events as an iterator of :class:`~jobstream.types.Event`, reconnecting by itself.

Guarantees (the TypeScript SDK's):

- events come in ``seq`` order, each once: a duplicate (``seq`` <= the last delivered) is dropped; a gap
  (``seq`` > last + 1) closes the connection and resumes from the last delivered event's cursor, except onto an
  ``attempt`` event with reason ``log_rollback`` (the server voids events a broker failover lost);
- the terminal event (``done``, ``error``, ``cancelled``) is delivered and then the iteration ends;
- a response that ends without a terminal event, a network failure, an idle connection (no byte, not even a
  ``: keepalive``, for ``idle_timeout`` seconds), a 408, 429 or 5xx is a drop: reconnect with full-jitter backoff
  (honouring the server's ``retry:`` and ``Retry-After``) sending ``Last-Event-ID``; ``max_retries`` consecutive
  failures without a new event raise the last error;
- other 4xx (400, 401, 403, 404, 409, 410 ``cursor_expired``, 413) are raised at once;
- :meth:`JobStream.close` (from any thread) or leaving the ``for`` loop ends it quietly.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence, Union

from ._http import Abort, Transport, seg
from .backoff import Backoff
from .errors import JobstreamConnectionError, JobstreamError, error_from_response, is_retryable
from .sse import SseParser
from .models import Event


@dataclass
class ReconnectInfo:
    #: 1 for the first retry after a failure, 2 for the next consecutive one, ...
    failures: int
    #: Seconds the stream waits before reconnecting.
    delay: float
    error: BaseException
    #: The cursor the next connection resumes after (None = from the start).
    last_event_id: Optional[str]


@dataclass
class StreamStats:
    connections: int = 0
    reconnects: int = 0
    duplicates_dropped: int = 0
    gaps: int = 0
    bytes_read: int = 0


class JobStream:
    """Iterate it once (``for event in stream``). See the module docstring for what it guarantees."""

    def __init__(
        self,
        transport: Transport,
        job_id: str,
        after: Optional[str] = None,
        reconnect: Union[Backoff, bool] = True,
        idle_timeout: float = 60.0,
        types: Optional[Sequence[str]] = None,
        on_reconnect: Optional[Callable[[ReconnectInfo], None]] = None,
        on_connect: Optional[Callable[[int, Optional[str]], None]] = None,
    ) -> None:
        self._t = transport
        self._path = f"/v1/jobs/{seg(job_id)}/stream"
        self.job_id = job_id
        resume = (after or "").strip()
        #: Cursor of the last delivered event: store it to resume later with ``after=``.
        self.last_event_id: Optional[str] = resume if resume and resume != "0" else None
        #: ``seq`` of the last delivered event (0 before the first from the start; None after an opaque cursor).
        self.last_seq: Optional[int] = None if self.last_event_id else 0
        #: The last ``retry:`` the server sent, in seconds.
        self.server_retry: Optional[float] = None
        self.stats = StreamStats()
        if reconnect is False:
            self._backoff = Backoff(max_retries=0)
        elif reconnect is True:
            self._backoff = Backoff()
        else:
            self._backoff = reconnect
        self._idle = idle_timeout
        self._types = list(types) if types else None
        self._on_reconnect = on_reconnect
        self._on_connect = on_connect
        self._abort = Abort()
        self._closed = threading.Event()
        self._iterated = False

    def close(self) -> None:
        """Stops streaming (safe from another thread); the iteration ends quietly. Idempotent."""
        self._closed.set()
        self._abort.abort()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __iter__(self) -> Iterator[Event]:
        if self._iterated:
            raise TypeError("jobstream: a JobStream can be iterated once")
        self._iterated = True
        return self._run()

    def _run(self) -> Iterator[Event]:
        failures = 0
        while not self._closed.is_set():
            error: BaseException
            conn: Optional[http.client.HTTPConnection] = None
            try:
                conn, res = self._open()
                parser = SseParser(on_retry=self._set_retry)
                while True:
                    chunk = res.read1(65536)
                    if not chunk:
                        raise JobstreamConnectionError("dropped", "the stream ended before a terminal event")
                    self.stats.bytes_read += len(chunk)
                    for frame in parser.feed(chunk):
                        if frame.event == "snapshot":
                            continue  # never asked for here
                        event = self._parse(frame.data, frame.id)
                        if self.last_seq is not None and event.seq <= self.last_seq:
                            self.stats.duplicates_dropped += 1
                            continue
                        rollback = event.type == "attempt" and event.get("reason") == "log_rollback"
                        if (
                            self._types is None
                            and not rollback
                            and self.last_seq is not None
                            and event.seq > self.last_seq + 1
                        ):
                            self.stats.gaps += 1
                            raise JobstreamConnectionError(
                                "gap", f"event seq jumped from {self.last_seq} to {event.seq}"
                            )
                        self.last_seq = event.seq
                        if frame.id:
                            self.last_event_id = frame.id
                        failures = 0  # progress: the next failure starts the backoff afresh
                        yield event
                        if event.terminal:
                            return
            except socket.timeout as err:  # TimeoutError on 3.10+
                error = JobstreamConnectionError("idle_timeout", f"no data for {self._idle} s")
                error.__cause__ = err
            except (OSError, http.client.HTTPException) as err:
                error = JobstreamConnectionError("network", f"stream interrupted: {err!r}")
                error.__cause__ = err
            except (JobstreamConnectionError, JobstreamError) as err:
                error = err
            finally:
                self._abort.detach()
                if conn is not None:
                    conn.close()
            if self._closed.is_set():
                return
            if not is_retryable(error):
                raise error
            failures += 1
            if failures > self._backoff.max_retries:
                raise error
            retry_after = error.retry_after if isinstance(error, JobstreamError) else None
            delay = self._backoff.delay(failures, self.server_retry, retry_after)
            self.stats.reconnects += 1
            if self._on_reconnect is not None:
                self._on_reconnect(ReconnectInfo(failures, delay, error, self.last_event_id))
            if self._closed.wait(delay):
                return

    def _open(self) -> "tuple[http.client.HTTPConnection, http.client.HTTPResponse]":
        conn = self._t.connect(self._idle if self._idle > 0 else None)
        headers = self._t.headers({"Accept": "text/event-stream", "Cache-Control": "no-cache"})
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        query = {"types": ",".join(self._types)} if self._types else None
        try:
            conn.connect()
            self._abort.attach(conn.sock)
            conn.request("GET", self._t.path(self._path, query), headers=headers)
            res = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        if res.status != 200:
            body = res.read()
            conn.close()
            raise error_from_response(res.status, res.reason, body, res.headers.get("Retry-After"))
        ctype = (res.headers.get("Content-Type") or "").lower()
        if not ctype.startswith("text/event-stream"):
            conn.close()
            raise JobstreamConnectionError("protocol", f'expected text/event-stream, got {res.status} "{ctype}"')
        self.stats.connections += 1
        if self._on_connect is not None:
            self._on_connect(self.stats.connections, self.last_event_id)
        return conn, res

    def _set_retry(self, seconds: float) -> None:
        self.server_retry = seconds

    def _parse(self, data: str, cursor: Optional[str]) -> Event:
        try:
            obj = json.loads(data)
        except ValueError as err:
            raise JobstreamConnectionError("protocol", "an SSE event carried data that is not JSON") from err
        seq = obj.get("seq") if isinstance(obj, dict) else None
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str) or type(seq) is not int or seq < 1:
            raise JobstreamConnectionError("protocol", "an SSE event is not a job event (needs type and a seq >= 1)")
        if "job_id" in obj and obj["job_id"] != self.job_id:
            raise JobstreamConnectionError("protocol", f"an SSE event belongs to job {obj['job_id']}, not {self.job_id}")
        return Event.from_json(obj, cursor)
