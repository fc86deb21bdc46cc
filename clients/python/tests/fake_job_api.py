"""A scripted stand-in for the job API's stream and create endpoints, to provoke what the real server rarely does on
cue (a 503 with Retry-After, a cut mid-frame, a duplicate, a seq gap). The end-to-end test runs the client against the
real API; this double only checks the client's reactions."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

JOB = "job_01TESTTESTTESTTESTTESTTEST"


def event(seq: int, type_: str = "token", **fields: Any) -> Dict[str, Any]:
    e: Dict[str, Any] = {"job_id": JOB, "seq": seq, "ts": "2026-01-01T00:00:00Z", "attempt": 1, "type": type_}
    e.update(fields)
    return e


def frame(e: Dict[str, Any]) -> bytes:
    return f"id: {e['seq']}-c\nevent: {e['type']}\ndata: {json.dumps(e)}\n\n".encode()


class FakeJobApi:
    """``plans``: one dict per stream connection, in order (the last one repeats):
    ``{"status": 503, "retry_after": "0"}`` answers an error; ``{"seqs": [..], "cut": bytes}`` sends those events
    (after the cursor unless ``raw``) and then ends the response, cutting ``cut`` bytes into the next frame when given."""

    def __init__(self, events: List[Dict[str, Any]]) -> None:
        self.events = events
        self.plans: List[Dict[str, Any]] = []
        self.stream_requests: List[Optional[str]] = []  # the Last-Event-ID of each stream request
        self.create_keys: List[Optional[str]] = []
        self.create_failures = 0  # answer this many creates with 503 (after reading them) first
        self.close_idle = False  # close each connection after its answer, without saying so (a keep-alive timeout)
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api._stream(self)

            def do_POST(self) -> None:
                api._create(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _json(self, h: BaseHTTPRequestHandler, status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _create(self, h: BaseHTTPRequestHandler) -> None:
        h.rfile.read(int(h.headers.get("Content-Length") or 0))
        with self.lock:
            self.create_keys.append(h.headers.get("Idempotency-Key"))
            fail = self.create_failures > 0
            if fail:
                self.create_failures -= 1
        if fail:
            self._json(h, 503, {"error": {"code": "unavailable", "message": "store down"}}, {"Retry-After": "0"})
        else:
            self._json(h, 201, {"id": JOB, "status": "queued"})
        if self.close_idle:
            h.close_connection = True

    def _stream(self, h: BaseHTTPRequestHandler) -> None:
        cursor = h.headers.get("Last-Event-ID")
        with self.lock:
            self.stream_requests.append(cursor)
            plan = self.plans.pop(0) if len(self.plans) > 1 else self.plans[0]
        if "status" in plan:
            headers = {"Retry-After": plan["retry_after"]} if "retry_after" in plan else {}
            self._json(h, plan["status"], {"error": {"code": plan.get("code", "x"), "message": "planned"}}, headers)
            return
        after = int(cursor.split("-")[0]) if cursor else 0
        seqs = plan["seqs"] if plan.get("raw") else [s for s in plan["seqs"] if s > after]
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(b"retry: 1\n: hi\n\n")
        for s in seqs:
            h.wfile.write(frame(self.events[s - 1]))
        if "cut" in plan:
            nxt = [s for s in range(1, len(self.events) + 1) if s > (seqs[-1] if seqs else after)]
            if nxt:
                h.wfile.write(frame(self.events[nxt[0] - 1])[: plan["cut"]])
        h.wfile.flush()
        h.close_connection = True
