"""``run_worker`` / :class:`Worker`: serve Python agents over the HTTP worker protocol.

A claim loop long-polls ``POST /v1/worker/claim`` (announcing the agents each time; ``204`` = no job) while a slot
is free (``concurrency``); each claimed lease runs in its own thread (:class:`~.lease.LeaseRunner`).

Graceful stop (``stop()``, SIGTERM, SIGINT): no new claims (a claim in flight is cut), running jobs get
``shutdown_grace_s`` to finish; then the rest are handed back: their agents are stopped and nothing more is sent,
so each lease lapses and the platform runs the job again as its next attempt (the HTTP protocol has no explicit
release; a hand-back costs the job up to ``WORKER_LEASE_S`` and one attempt).
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from typing import Any, Dict, List, Optional, Sequence

from .._http import Abort, Transport
from ..backoff import Backoff
from ..errors import JobstreamError, is_retryable
from .agent import Agent
from .lease import LeaseOptions, LeaseRunner
from .protocol import WorkerApi

log = logging.getLogger("jobstream.worker")


class WorkerConfigError(Exception):
    """The platform refused the worker itself (bad key, an agent's schema refused at announce time): retrying
    cannot help."""

    def __init__(self, err: JobstreamError) -> None:
        super().__init__(f"the platform refused this worker: {err}")
        self.error = err


class Worker:
    def __init__(
        self,
        agents: Sequence[Agent],
        base_url: str,
        worker_key: str,
        *,
        worker_id: Optional[str] = None,
        concurrency: int = 1,
        wait_s: int = 20,
        shutdown_grace_s: float = 5.0,
        lease: LeaseOptions = LeaseOptions(),
        claim_retry: Backoff = Backoff(max_retries=10**9, initial_delay=0.5, max_delay=15.0),
        timeout: float = 30.0,
    ) -> None:
        if not agents:
            raise ValueError("jobstream: run_worker needs at least one agent")
        names = [a.name for a in agents]
        if len(set(names)) != len(names):
            raise ValueError(f"jobstream: two agents share a name: {names}")
        if concurrency < 1:
            raise ValueError("jobstream: concurrency must be at least 1")
        self.agents: Dict[str, Agent] = {a.name: a for a in agents}
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency
        self.wait_s = max(0, min(30, int(wait_s)))
        self.grace_s = shutdown_grace_s
        self.lease_options = lease
        self.claim_retry = claim_retry
        self.api = WorkerApi(Transport(base_url, worker_key, None, timeout))
        self._announce: List[Dict[str, Any]] = [a.announcement() for a in agents]
        self._stopping = threading.Event()
        self._hand_back = threading.Event()
        self._claim_abort: Optional[Abort] = None
        self._lock = threading.Lock()
        self._leases: Dict[str, LeaseRunner] = {}
        self._threads: List[threading.Thread] = []
        self._slots = threading.Semaphore(concurrency)
        self._thread: Optional[threading.Thread] = None
        #: outcomes of finished leases, oldest first (for logs and tests)
        self.finished: List[LeaseRunner] = []
        self.error: Optional[BaseException] = None

    # -- control ----------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Claims and runs jobs until :meth:`stop`; then waits out the grace and hands back what still runs."""
        log.info("worker %s serving %s (concurrency %d)", self.worker_id, ", ".join(self.agents), self.concurrency)
        try:
            self._claim_loop()
        except BaseException as err:
            self.error = err
            self._stopping.set()
            raise
        finally:
            self._drain()

    def start(self) -> "Worker":
        """Runs :meth:`run` in a background thread."""
        self._thread = threading.Thread(target=self._run_quietly, name=f"worker-{self.worker_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops claiming (cuts a claim in flight); running jobs get the grace, then are handed back. Safe from a
        signal handler or another thread; returns at once."""
        self._stopping.set()
        with self._lock:
            abort = self._claim_abort
        if abort is not None:
            abort.abort()

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> List[LeaseRunner]:
        with self._lock:
            return list(self._leases.values())

    # -- internals --------------------------------------------------------------------------------------------

    def _run_quietly(self) -> None:
        try:
            self.run()
        except BaseException as err:  # noqa: BLE001 — kept in self.error for whoever joins
            log.error("worker %s stopped: %r", self.worker_id, err)

    def _claim_loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue
            abort = Abort()
            with self._lock:
                self._claim_abort = abort
            if self._stopping.is_set():
                self._slots.release()
                break
            try:
                claim = self.api.claim(self.worker_id, self._announce, self.wait_s, abort)
            except Exception as err:  # noqa: BLE001 — classified below
                self._slots.release()
                if self._stopping.is_set():
                    break
                if isinstance(err, JobstreamError) and not is_retryable(err):
                    raise WorkerConfigError(err) from err
                failures += 1
                delay = self.claim_retry.delay(failures, None, getattr(err, "retry_after", None))
                log.warning("worker %s: claim failed (%s); again in %.1f s", self.worker_id, err, delay)
                self._stopping.wait(delay)
                continue
            finally:
                with self._lock:
                    self._claim_abort = None
            failures = 0
            if claim is None:
                self._slots.release()
                continue
            runner = LeaseRunner(self.api, claim, self.agents.get(claim.agent), self.lease_options, self._hand_back)
            t = threading.Thread(target=self._run_lease, args=(runner,), name=f"lease-{claim.lease_id}", daemon=True)
            with self._lock:
                self._leases[claim.lease_id] = runner
                self._threads.append(t)
            t.start()

    def _run_lease(self, runner: LeaseRunner) -> None:
        try:
            outcome = runner.run()
            log.info("job %s attempt %d: %s", runner.claim.job_id, runner.claim.attempt, outcome)
        except Exception as err:  # noqa: BLE001 — one lease's failure must not stop the others
            log.error("lease %s failed: %r", runner.claim.lease_id, err)
        finally:
            with self._lock:
                self._leases.pop(runner.claim.lease_id, None)
                self.finished.append(runner)
            self._slots.release()

    def _drain(self) -> None:
        with self._lock:
            threads = list(self._threads)
        deadline = _now() + self.grace_s
        for t in threads:
            t.join(max(0.0, deadline - _now()))
        if any(t.is_alive() for t in threads):
            log.warning("worker %s: handing back %d job(s) after the grace", self.worker_id, len(self.running))
            self._hand_back.set()
            for r in self.running:
                r.ctx.stop("shutdown")
            for t in threads:
                t.join(5.0)
        self.api.t.close()


def _now() -> float:
    return time.monotonic()


def run_worker(
    agents: Sequence[Agent],
    base_url: str,
    worker_key: str,
    *,
    install_signal_handlers: bool = True,
    **options: Any,
) -> Worker:
    """Serves ``agents`` until SIGTERM/SIGINT (or until the platform refuses the worker: raises
    :class:`WorkerConfigError`). Options: ``worker_id``, ``concurrency``, ``wait_s``, ``shutdown_grace_s``,
    ``lease`` (:class:`LeaseOptions`), ``timeout``. Call it from the main thread to get the signal handlers."""
    worker = Worker(agents, base_url, worker_key, **options)
    previous: Dict[signal.Signals, Any] = {}
    if install_signal_handlers and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: worker.stop())
    try:
        worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return worker


__all__ = ["Worker", "WorkerConfigError", "run_worker", "LeaseOptions"]
