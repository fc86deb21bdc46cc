"""The connection settings every call shares (base URL, key, headers) and the HTTP plumbing over ``http.client``.

JSON calls reuse one keep-alive connection per thread; a request that fails on a *reused* connection before any
answer arrived (the server closed it while idle) is sent once more on a fresh one — every request this package
repeats is safe to repeat (GETs, creates with an ``Idempotency-Key``, appends with a ``Producer-Seq``).
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import quote, urlencode, urlsplit

from .errors import JobstreamConnectionError, JobstreamError, error_from_response

QueryValue = Union[str, int, float, None]
USER_AGENT = "jobstream-python/0.1.0"


@dataclass
class RawResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class Abort:
    """Lets another thread cut a blocking request (a long-poll, a stream) by shutting its socket down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: Optional[socket.socket] = None
        self.aborted = False

    def attach(self, sock: Optional[socket.socket]) -> None:
        with self._lock:
            self._sock = sock
            if self.aborted:
                _shutdown(sock)

    def detach(self) -> None:
        with self._lock:
            self._sock = None

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            _shutdown(self._sock)


def _shutdown(sock: Optional[socket.socket]) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def seg(value: str) -> str:
    """One path segment, percent-encoded (ids come from users)."""
    if not value:
        raise ValueError("jobstream: an id is required")
    return quote(value, safe="")


class Transport:
    def __init__(
        self,
        base_url: str,
        api_key: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: float = 30.0,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        if not base_url:
            raise ValueError("jobstream: base_url is required")
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("jobstream: base_url must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path
        self._api_key = api_key
        self._headers = dict(headers or {})
        self.timeout = timeout
        self._ssl = ssl_context
        self._local = threading.local()

    def path(self, path: str, query: Optional[Mapping[str, QueryValue]] = None) -> str:
        p = self._prefix + path
        if query:
            q = urlencode({k: str(v) for k, v in query.items() if v is not None})
            if q:
                p += "?" + q
        return p

    def headers(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        h = {"User-Agent": USER_AGENT, **self._headers, **(extra or {})}
        if self._api_key:
            h["Authorization"] = f"Bearer {self._api_key}"
        return h

    def connect(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        t = self.timeout if timeout is None else timeout
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=t, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=t)

    def request(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, QueryValue]] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        abort: Optional[Abort] = None,
    ) -> RawResponse:
        """One request; any network failure is a :class:`JobstreamConnectionError` (``network``)."""
        h = self.headers({"Accept": "application/json", **(headers or {})})
        data: Optional[bytes] = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            h["Content-Type"] = "application/json"
        target = self.path(path, query)
        for attempt in (0, 1):
            conn: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = self.connect(timeout)
            self._local.conn = None  # owned by this request until it is known to be reusable
            try:
                conn.timeout = self.timeout if timeout is None else timeout
                if conn.sock is not None:
                    conn.sock.settimeout(conn.timeout)
                else:
                    conn.connect()
                if abort is not None:
                    abort.attach(conn.sock)
                conn.request(method, target, body=data, headers=h)
                res = conn.getresponse()
                payload = res.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as err:
                conn.close()
                if reused and attempt == 0 and not (abort is not None and abort.aborted):
                    continue  # the server closed the idle keep-alive connection: once more on a fresh one
                raise JobstreamConnectionError("network", f"{method} {path} failed: {err!r}") from err
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                raise JobstreamConnectionError("network", f"{method} {path} failed: {err!r}") from err
            finally:
                if abort is not None:
                    abort.detach()
            if res.will_close:
                conn.close()
            else:
                self._local.conn = conn
            return RawResponse(res.status, res.headers, payload)
        raise AssertionError("unreachable")

    def json(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, QueryValue]] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        abort: Optional[Abort] = None,
    ) -> Tuple[int, Any]:
        """A JSON request: the status and parsed body of a 2xx (None for an empty one); raises otherwise."""
        res = self.request(method, path, query, body, headers, timeout, abort)
        if res.status < 200 or res.status >= 300:
            raise error_from_response(res.status, "", res.body, res.headers.get("Retry-After"))
        if not res.body:
            return res.status, None
        try:
            return res.status, json.loads(res.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise JobstreamConnectionError(
                "protocol", f"{method} {path} answered {res.status} with a body that is not JSON"
            ) from err

    def close(self) -> None:
        """Closes this thread's keep-alive connection."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()


def raise_for_status(res: RawResponse) -> None:
    if res.status < 200 or res.status >= 300:
        raise error_from_response(res.status, "", res.body, res.headers.get("Retry-After"))


__all__ = ["Abort", "RawResponse", "Transport", "seg", "raise_for_status", "JobstreamError"]
