"""TEST DOUBLE of the HTTP worker protocol's server side (``/v1/worker/claim``, ``/v1/worker/leases/:id/events``,
``/v1/worker/leases/:id/heartbeat``). Written from the contract's text (API.md, "Agents from anywhere" → "Any
language, over HTTP") so the runner's unit tests can drive every rule and fault; it is not the platform: the
end-to-end tests (test/python/python-worker.e2e-spec.ts) run the runner against the real endpoints.

Rules it keeps: worker key only (tenant key ⇒ 403, none/bad ⇒ 401); a claim announces agents and hands out at most
one job of those agents within ``wait_s`` (204 otherwise); ``Producer-Seq`` n = last accepted + 1 ⇒ appended, 200
``{next_producer_seq, cancel_requested, lease_expires_at, last_event_id}``; n ≤ last ⇒ 204 (also after the lease
ended); n > last + 1 ⇒ 409 ``producer_seq_gap`` with ``expected``; a lease no longer current ⇒ 410 ``lease_lost``;
unknown ⇒ 404; a malformed output ⇒ 400 with the path, nothing appended; a terminal output or ``input_required``
ends the lease; every accepted request extends the lease by ``lease_s``.

Faults (``faults``: a list consumed one per append request): ``"503"`` (answered, nothing appended), ``"drop_before"``
(the connection is cut before anything is appended), ``"drop_after"`` (appended, then the connection is cut without
an answer), ``"skew"`` (answered 409 as if two earlier numbers had landed without events).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

WORKER_KEY = "worker-key-0123456789abcdef0123456789"
TENANT_KEY = "tenant-key-0001"
AGENT_TYPES = {"token", "thinking", "tool_call_start", "tool_call_end", "input_required", "done", "error", "cancelled"}
TERMINAL = {"done", "error", "cancelled"}


@dataclass
class FakeJob:
    job_id: str
    agent: str
    input: Dict[str, Any]
    attempt: int = 1
    events: List[Dict[str, Any]] = field(default_factory=list)
    status: str = "queued"
    cancel_requested: bool = False
    #: usage saved when the job parked (sent with the claim, as a platform that restores it would)
    usage: Optional[Dict[str, int]] = None


@dataclass
class FakeLease:
    lease_id: str
    job: FakeJob
    expires: float
    last_accepted: int = -1
    ended: bool = False
    revoked: bool = False


class FakeWorkerServer:
    def __init__(self, lease_s: float = 30.0) -> None:
        self.lease_s = lease_s
        self.lock = threading.Condition()
        self.queue: List[FakeJob] = []
        self.jobs: Dict[str, FakeJob] = {}
        self.leases: Dict[str, FakeLease] = {}
        self.announced: Dict[str, Dict[str, Any]] = {}
        self.worker_ids: List[str] = []
        self.faults: List[str] = []
        #: every append request: (lease_id, Producer-Seq, number of outputs, status answered)
        self.appends: List[Tuple[str, int, int, int]] = []
        self.heartbeats: List[Tuple[str, int]] = []
        self.claims = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                server._handle(self)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the planned connection cuts

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    # -- test controls ------------------------------------------------------------------------------------------

    def enqueue(
        self,
        agent: str,
        input: Dict[str, Any],
        history: Optional[List[Dict[str, Any]]] = None,
        usage: Optional[Dict[str, int]] = None,
    ) -> FakeJob:
        with self.lock:
            job = FakeJob(f"job_{uuid.uuid4().hex[:26].upper()}", agent, input, usage=usage)
            for e in history or []:
                job.events.append(dict(e))
            self.jobs[job.job_id] = job
            self.queue.append(job)
            self.lock.notify_all()
            return job

    def cancel(self, job: FakeJob) -> None:
        with self.lock:
            job.cancel_requested = True

    def revoke(self, job: FakeJob) -> None:
        """The lease stops being current (as when it lapsed or the job moved to another attempt)."""
        with self.lock:
            for lease in self.leases.values():
                if lease.job is job:
                    lease.revoked = True

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for(self, cond: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not cond():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("condition not met in time")
                self.lock.wait(min(left, 0.05))

    # -- the protocol -------------------------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        auth = h.headers.get("Authorization") or ""
        if auth == f"Bearer {TENANT_KEY}":
            return self._answer(h, 403, {"error": {"code": "forbidden", "message": "tenant keys are refused here"}})
        if auth != f"Bearer {WORKER_KEY}":
            return self._answer(h, 401, {"error": {"code": "unauthorized", "message": "a worker key is required"}})
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            return self._answer(h, 400, {"error": {"code": "invalid_request", "message": "body: not JSON"}})
        parts = h.path.split("?")[0].strip("/").split("/")
        if parts == ["v1", "worker", "claim"]:
            return self._claim(h, body)
        if len(parts) == 5 and parts[:3] == ["v1", "worker", "leases"] and parts[4] == "events":
            return self._events(h, parts[3], body)
        if len(parts) == 5 and parts[:3] == ["v1", "worker", "leases"] and parts[4] == "heartbeat":
            return self._heartbeat(h, parts[3])
        return self._answer(h, 404, {"error": {"code": "not_found", "message": "no such route"}})

    def _claim(self, h: BaseHTTPRequestHandler, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("worker_id"), str) or not isinstance(
            body.get("agents"), list
        ):
            return self._answer(h, 400, {"error": {"code": "invalid_request", "message": "body: worker_id, agents"}})
        for i, a in enumerate(body["agents"]):
            if not isinstance(a, dict) or not isinstance(a.get("name"), str) or not isinstance(
                a.get("input_schema"), dict
            ):
                msg = f"agents/{i}: needs name and input_schema"
                return self._answer(h, 400, {"error": {"code": "invalid_request", "message": msg}})
        names = {a["name"] for a in body["agents"]}
        wait_s = float(body.get("wait_s", 0))
        deadline = time.monotonic() + wait_s
        with self.lock:
            self.claims += 1
            self.worker_ids.append(body["worker_id"])
            for a in body["agents"]:
                self.announced[a["name"]] = a
            while True:
                job = next((j for j in self.queue if j.agent in names), None)
                if job is not None:
                    self.queue.remove(job)
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return self._answer(h, 204, None)
                self.lock.wait(left)
            job.status = "running"
            lease = FakeLease(f"lease_{uuid.uuid4().hex}", job, time.monotonic() + self.lease_s)
            self.leases[lease.lease_id] = lease
            history = [e for e in job.events if e.get("attempt") == job.attempt]
            answer = {
                "lease_id": lease.lease_id,
                "job_id": job.job_id,
                "attempt": job.attempt,
                "agent": job.agent,
                "input": job.input,
                "history": history,
                "lease_expires_at": self._iso(lease.expires),
            }
            if job.usage is not None:
                answer["usage"] = job.usage
            self.lock.notify_all()
        self._answer(h, 200, answer)

    def _current(self, lease: FakeLease) -> bool:
        return not lease.ended and not lease.revoked and time.monotonic() < lease.expires

    def _events(self, h: BaseHTTPRequestHandler, lease_id: str, body: Any) -> None:
        fault = None
        with self.lock:
            if self.faults:
                fault = self.faults.pop(0)
        seq_header = h.headers.get("Producer-Seq") or ""
        n = int(seq_header) if seq_header.isdigit() else -1
        if fault == "drop_before":
            return self._drop(h, lease_id, n, body)
        if fault == "503":
            return self._answer(h, 503, {"error": {"code": "unavailable", "message": "try again"}}, lease_id, n, body)
        with self.lock:
            lease = self.leases.get(lease_id)
            if lease is None:
                return self._answer(h, 404, {"error": {"code": "not_found", "message": "no such lease"}}, lease_id, n, body)
            if n < 0:
                msg = "Producer-Seq: a non-negative integer is required"
                return self._answer(h, 400, {"error": {"code": "invalid_request", "message": msg}}, lease_id, n, body)
            if n <= lease.last_accepted:
                return self._answer(h, 204, None, lease_id, n, body)
            if not self._current(lease):
                return self._answer(h, 410, {"error": {"code": "lease_lost", "message": "lease over"}}, lease_id, n, body)
            if fault == "skew":
                lease.last_accepted = n + 1
                err = {"code": "producer_seq_gap", "message": "gap", "expected": n + 2}
                return self._answer(h, 409, {"error": err}, lease_id, n, body)
            if n > lease.last_accepted + 1:
                err = {"code": "producer_seq_gap", "message": "gap", "expected": lease.last_accepted + 1}
                return self._answer(h, 409, {"error": err}, lease_id, n, body)
            problem = self._validate(body)
            if problem:
                return self._answer(h, 400, {"error": {"code": "invalid_request", "message": problem}}, lease_id, n, body)
            job = lease.job
            for out in body:
                job.events.append({**out, "job_id": job.job_id, "seq": len(job.events) + 1, "attempt": job.attempt})
                if out["type"] in TERMINAL:
                    job.status = {"done": "completed", "error": "failed", "cancelled": "cancelled"}[out["type"]]
                    lease.ended = True
                elif out["type"] == "input_required":
                    job.status = "waiting_for_input"
                    lease.ended = True
            lease.last_accepted = n
            lease.expires = time.monotonic() + self.lease_s
            answer = {
                "next_producer_seq": n + 1,
                "cancel_requested": job.cancel_requested,
                "lease_expires_at": self._iso(lease.expires),
                "last_event_id": f"{len(job.events)}-{len(job.events)}-fake",
            }
            self.lock.notify_all()
        if fault == "drop_after":
            return self._drop(h, lease_id, n, body)
        self._answer(h, 200, answer, lease_id, n, body)

    def _validate(self, body: Any) -> Optional[str]:
        if not isinstance(body, list) or not body:
            return "body: a non-empty JSON array of agent outputs"
        for i, out in enumerate(body):
            if not isinstance(out, dict) or out.get("type") not in AGENT_TYPES:
                return f"body/{i}/type: not an agent output type"
            if out["type"] in ("token", "thinking") and not isinstance(out.get("text"), str):
                return f"body/{i}/text: must be string"
            if out["type"] in TERMINAL and not isinstance(out.get("usage"), dict):
                return f"body/{i}/usage: required"
        return None

    def _heartbeat(self, h: BaseHTTPRequestHandler, lease_id: str) -> None:
        with self.lock:
            lease = self.leases.get(lease_id)
            if lease is None:
                return self._answer(h, 404, {"error": {"code": "not_found", "message": "no such lease"}})
            current = self._current(lease)
            self.heartbeats.append((lease_id, 200 if current else 410))
            if not current:
                return self._answer(h, 410, {"error": {"code": "lease_lost", "message": "lease over"}})
            lease.expires = time.monotonic() + self.lease_s
            answer = {"cancel_requested": lease.job.cancel_requested, "lease_expires_at": self._iso(lease.expires)}
            self.lock.notify_all()
        self._answer(h, 200, answer)

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _record(self, lease_id: Optional[str], n: int, body: Any, status: int) -> None:
        if lease_id is not None:
            with self.lock:
                self.appends.append((lease_id, n, len(body) if isinstance(body, list) else 0, status))
                self.lock.notify_all()

    def _answer(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        lease_id: Optional[str] = None,
        n: int = -1,
        req: Any = None,
    ) -> None:
        self._record(lease_id, n, req, status)
        data = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        if data:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        if status == 503:
            h.send_header("Retry-After", "0")
        h.end_headers()
        h.wfile.write(data)

    def _drop(self, h: BaseHTTPRequestHandler, lease_id: str, n: int, body: Any) -> None:
        self._record(lease_id, n, body, 0)
        h.close_connection = True
        try:
            import socket

            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _iso(self, mono: float) -> str:
        wall = time.time() + (mono - time.monotonic())
        return datetime.fromtimestamp(wall, timezone.utc).isoformat().replace("+00:00", "Z")
