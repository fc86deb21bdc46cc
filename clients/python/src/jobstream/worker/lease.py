"""One lease: the agent's generator runs in its own thread and fills a bounded buffer; this thread ships the buffer
in batches, one ``Producer-Seq`` per request (0, 1, 2 ... per lease), and heartbeats while the agent is quiet.

The producer rules, so nothing is lost or appended twice:
- a network failure, a 408/429 or a 5xx ⇒ the SAME batch again with the SAME number (the server dedups it);
- ``204`` ⇒ that number was accepted before (the lost answer of an earlier try): go on with the next;
- ``409 producer_seq_gap`` ⇒ the server wants ``error.expected``: the batch again under that number;
- ``410 lease_lost`` / ``404`` ⇒ the lease is gone (lapsed, another attempt, ended): stop the agent, drop the rest;
- ``400``/``413`` (a malformed output; nothing appended) ⇒ stop the agent and end the job with ``error``
  ``invalid_agent_output`` instead.
A terminal output or an ``input_required`` ends the lease: it is the last batch.
"""
from __future__ import annotations

import collections
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Deque, Dict, List, Optional

from ..backoff import Backoff
from ..errors import JobstreamError, is_retryable
from .agent import Agent, AgentContext, Cancelled, Output
from .protocol import Appended, Claim, WorkerApi

log = logging.getLogger("jobstream.worker")

AGENT_TYPES = frozenset(
    {"token", "thinking", "tool_call_start", "tool_call_end", "input_required", "done", "error", "cancelled"}
)
TERMINAL = frozenset({"done", "error", "cancelled"})
ENDS_LEASE = TERMINAL | {"input_required"}


@dataclass(frozen=True)
class LeaseOptions:
    #: Most outputs in one request.
    max_batch_events: int = 500
    #: Most JSON bytes in one request (an output larger than this goes alone); keep it under the API's MAX_BODY_BYTES.
    max_batch_bytes: int = 256 * 1024
    #: How long to wait for more outputs before sending a batch that is not full (0 = send at once).
    linger_s: float = 0.005
    #: Outputs buffered before the agent's ``yield`` blocks (back-pressure).
    max_buffered: int = 10_000
    #: Heartbeat after this many quiet seconds; None = a third of the lease's length as the claim announced it.
    heartbeat_s: Optional[float] = None
    #: Retries of one request (network / 5xx) before the lease is given up (it then lapses: the platform retries).
    retry: Backoff = Backoff(max_retries=12, initial_delay=0.1, max_delay=3.0)


class LeaseRunner:
    def __init__(
        self, api: WorkerApi, claim: Claim, agent: Optional[Agent], options: LeaseOptions, sleep_event: threading.Event
    ) -> None:
        self.api = api
        self.claim = claim
        self.agent = agent
        self.o = options
        #: set by the worker when the grace ran out: hand the lease back (stop, send nothing more, let it lapse)
        self.hand_back = sleep_event
        self.ctx = AgentContext(
            job_id=claim.job_id,
            attempt=claim.attempt,
            input=claim.input,
            history=claim.history,
            agent=claim.agent,
            lease_id=claim.lease_id,
        )
        if claim.usage is not None:
            self.ctx.usage.update(claim.usage)
        self.producer_seq = 0
        self.cancel_reason: Optional[str] = None
        self.lost = False
        #: what happened, for logs and tests: "ended", "parked", "lost", "handed_back", "gave_up"
        self.outcome = ""
        self.requests = 0
        self.heartbeats = 0
        self._buf: Deque[Output] = collections.deque()
        self._cond = threading.Condition()
        self._agent_done = False
        self._last_ok = time.monotonic()
        self._heartbeat_s = options.heartbeat_s or _third_of_lease(claim.lease_expires_at)

    # -- the agent's side -----------------------------------------------------------------------------------------

    def _push(self, out: Output) -> bool:
        with self._cond:
            while len(self._buf) >= self.o.max_buffered and not self.ctx.cancelled:
                self._cond.wait(0.5)
            if self.ctx.cancelled and out.get("type") != "cancelled":
                return False
            self._buf.append(out)
            self._cond.notify_all()
            return True

    def _drive_agent(self) -> None:
        ctx = self.ctx
        ended = False
        crashed: Optional[BaseException] = None
        try:
            if self.agent is None:
                self._push(self._error("unknown_agent", f"this worker does not serve agent {self.claim.agent}"))
                ended = True
                return
            gen = iter(self.agent.run(ctx))
            try:
                for raw in gen:
                    if ctx.cancelled:
                        break
                    out = self._normalize(raw)
                    if out is None:
                        continue
                    if not self._push(out):
                        break
                    if out["type"] in ENDS_LEASE:
                        ended = True
                        break
            finally:
                close = getattr(gen, "close", None)
                if close is not None:
                    try:
                        close()  # GeneratorExit at the yield: the agent's finally blocks run
                    except Exception as err:  # noqa: BLE001 — an agent's cleanup failing must not kill the lease
                        log.warning("agent %s: error while closing: %r", ctx.agent, err)
        except Cancelled:
            pass
        except Exception as err:  # noqa: BLE001 — any agent failure ends the job with agent_crashed
            crashed = err
        finally:
            if not ended:
                if ctx.stop_reason == "cancel_requested":
                    reason = self.cancel_reason if self.cancel_reason is not None else "cancel_requested"
                    self._push({"type": "cancelled", "reason": reason, "usage": dict(ctx.usage)})
                elif ctx.cancelled:
                    pass  # lease lost or handed back: nothing more may be appended
                elif crashed is not None:
                    log.error("agent %s crashed on job %s: %r", ctx.agent, ctx.job_id, crashed)
                    self._push(self._error("agent_crashed", f"the agent raised {type(crashed).__name__}: {crashed}"))
                else:
                    self._push(self._error("agent_incomplete", "the agent returned without a terminal event"))
            with self._cond:
                self._agent_done = True
                self._cond.notify_all()

    def _normalize(self, raw: Any) -> Optional[Output]:
        if not isinstance(raw, dict) or raw.get("type") not in AGENT_TYPES:
            kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
            log.error("agent %s yielded %r, which is not an agent output: dropped", self.ctx.agent, kind)
            return None
        out = dict(raw)
        if out["type"] in TERMINAL and "usage" not in out:
            out["usage"] = dict(self.ctx.usage)
        if out["type"] == "error" and "retryable" not in out:
            out["retryable"] = False
        return out

    def _error(self, code: str, message: str) -> Output:
        return {"type": "error", "code": code, "message": message, "retryable": False, "usage": dict(self.ctx.usage)}

    # -- the shipping side ----------------------------------------------------------------------------------------

    def run(self) -> str:
        t = threading.Thread(target=self._drive_agent, name=f"agent-{self.claim.job_id}", daemon=True)
        t.start()
        try:
            self._ship()
        finally:
            if not self.ctx.cancelled and self.outcome not in ("ended", "parked"):
                self.ctx.stop(self.outcome or "lease_lost")
            with self._cond:
                self._cond.notify_all()
            self.api.t.close()  # this thread's keep-alive connection
        t.join(timeout=5.0)
        return self.outcome

    def stop_for_cancel(self, reason: Optional[str]) -> None:
        if reason is not None and self.cancel_reason is None:
            self.cancel_reason = reason
        self.ctx.stop("cancel_requested")
        with self._cond:
            self._cond.notify_all()

    def _ship(self) -> None:
        while True:
            with self._cond:
                while not self._buf and not self._agent_done and not self.hand_back.is_set():
                    left = self._heartbeat_s - (time.monotonic() - self._last_ok)
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if self.hand_back.is_set():
                    self.ctx.stop("shutdown")
                    self.outcome = "handed_back"
                    return
                if not self._buf and self._agent_done:
                    self.outcome = "ended"  # nothing to send (the agent's last output was already shipped)
                    return
                if self._buf and self.o.linger_s > 0 and not self._agent_done:
                    if len(self._buf) < self.o.max_batch_events and self._buf[-1]["type"] not in ENDS_LEASE:
                        self._cond.wait(self.o.linger_s)
                batch = self._take()
            if not batch:
                if not self._heartbeat():
                    return
                continue
            ends = any(o["type"] in ENDS_LEASE for o in batch)
            if not self._send(batch):
                return
            with self._cond:
                for _ in batch:
                    self._buf.popleft()
                self._cond.notify_all()
            if ends:
                self.outcome = "parked" if batch[-1]["type"] == "input_required" else "ended"
                return

    def _take(self) -> List[Output]:
        batch: List[Output] = []
        size = 2
        for out in self._buf:
            n = len(json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode("utf-8")) + 1
            if batch and (len(batch) >= self.o.max_batch_events or size + n > self.o.max_batch_bytes):
                break
            batch.append(out)
            size += n
            if out["type"] in ENDS_LEASE:
                break
        return batch

    def _send(self, batch: List[Output]) -> bool:
        """Ships one batch under the current number until the server settles it; False = the lease is over."""
        failures = 0
        resyncs = 0
        while True:
            if self.hand_back.is_set():
                self.ctx.stop("shutdown")
                self.outcome = "handed_back"
                return False
            try:
                self.requests += 1
                res = self.api.append(self.claim.lease_id, self.producer_seq, batch)
            except Exception as err:  # noqa: BLE001 — classified below
                if isinstance(err, JobstreamError) and err.code == "producer_seq_gap" and resyncs < 3:
                    expected = err.details.get("expected")
                    if isinstance(expected, int) and not isinstance(expected, bool) and expected >= 0:
                        log.warning("lease %s: Producer-Seq %d refused, the server expects %d",
                                    self.claim.lease_id, self.producer_seq, expected)
                        self.producer_seq = expected
                        resyncs += 1
                        continue
                if isinstance(err, JobstreamError) and err.status in (404, 410):
                    self._lose(err)
                    return False
                if isinstance(err, JobstreamError) and err.status in (400, 413, 422):
                    return self._refused(batch, err)
                if not is_retryable(err):
                    self._lose(err)
                    return False
                failures += 1
                if failures > self.o.retry.max_retries:
                    log.error("lease %s: giving up after %d failed tries: %s", self.claim.lease_id, failures, err)
                    self.ctx.stop("lease_lost")
                    self.outcome = "gave_up"
                    return False
                retry_after = err.retry_after if isinstance(err, JobstreamError) else None
                if self.hand_back.wait(self.o.retry.delay(failures, None, retry_after)):
                    continue
                continue
            self._accepted(res)
            return True

    def _accepted(self, res: Appended) -> None:
        self._last_ok = time.monotonic()
        if res.duplicate:
            self.producer_seq += 1
            return
        nxt = res.next_producer_seq
        self.producer_seq = nxt if nxt is not None and nxt > self.producer_seq else self.producer_seq + 1
        if res.cancel_requested and not self.ctx.cancelled:
            self.stop_for_cancel(res.cancel_reason)

    def _refused(self, batch: List[Output], err: JobstreamError) -> bool:
        log.error("lease %s: the platform refused a batch (%s): %s", self.claim.lease_id, err.code, err.message)
        if batch[-1].get("code") == "invalid_agent_output":
            self._lose(err)
            return False
        self.ctx.stop("invalid_output")
        with self._cond:
            self._buf.clear()
            self._buf.append(self._error("invalid_agent_output", f"the platform refused an output: {err.message}"))
        replacement = [self._buf[0]]
        if not self._send(replacement):
            return False
        with self._cond:
            self._buf.clear()
        self.outcome = "ended"
        return False

    def _heartbeat(self) -> bool:
        try:
            self.heartbeats += 1
            res = self.api.heartbeat(self.claim.lease_id)
        except JobstreamError as err:
            if err.status in (404, 410) or not is_retryable(err):
                self._lose(err)
                return False
            self._last_ok = time.monotonic() - self._heartbeat_s * 0.75  # retry soon
            return True
        except Exception as err:  # noqa: BLE001 — network: try again soon; the lease outlives a few misses
            log.warning("lease %s: heartbeat failed: %r", self.claim.lease_id, err)
            self._last_ok = time.monotonic() - self._heartbeat_s * 0.75
            return True
        self._last_ok = time.monotonic()
        if res.cancel_requested and not self.ctx.cancelled:
            self.stop_for_cancel(res.cancel_reason)
        return True

    def _lose(self, err: BaseException) -> None:
        log.warning("lease %s of job %s is over: %s", self.claim.lease_id, self.claim.job_id, err)
        self.lost = True
        self.outcome = "lost"
        self.ctx.stop("lease_lost")


def _third_of_lease(expires_at: str) -> float:
    """A third of the lease's remaining length (the server's clock vs ours: clamped to 1-10 s)."""
    try:
        at = datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return 10.0
    return min(10.0, max(1.0, (at - time.time()) / 3))
