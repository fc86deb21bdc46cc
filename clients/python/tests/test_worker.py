"""The worker runner against FakeWorkerServer, a test double of the not-yet-built /v1/worker/* endpoints."""
import importlib.util
import os
import threading
import time
import unittest
from typing import Any, Dict, Iterator, List

from jobstream.worker import Agent, AgentContext, LeaseOptions, Output, Worker, WorkerConfigError

from .fake_worker_server import TENANT_KEY, WORKER_KEY, FakeJob, FakeWorkerServer

_spec = importlib.util.spec_from_file_location(
    "echo_agent", os.path.join(os.path.dirname(__file__), "..", "examples", "echo_agent.py")
)
assert _spec and _spec.loader
echo_agent = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(echo_agent)
PY_ECHO: Agent = echo_agent.py_echo

MESSAGE = "Python agents stream over HTTP, batch by batch, exactly once. " * 5
FAST = LeaseOptions(linger_s=0.002)


def text(job: FakeJob) -> str:
    return "".join(e.get("text", "") for e in job.events if e["type"] == "token")


class WorkerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.server = FakeWorkerServer()
        self.workers: List[Worker] = []

    def tearDown(self) -> None:
        for w in self.workers:
            w.stop()
            w.join(10)
        self.server.close()

    def worker(self, agents: List[Agent], key: str = WORKER_KEY, **kw: Any) -> Worker:
        kw.setdefault("lease", FAST)
        kw.setdefault("wait_s", 1)
        w = Worker(agents, self.server.url, key, **kw)
        self.workers.append(w)
        return w.start()

    def ended(self, job: FakeJob, status: str = "completed") -> None:
        self.server.wait_for(lambda: job.status == status)

    def seqs_of(self, job: FakeJob) -> List[List[int]]:
        """Producer-Seqs sent per lease of the job, in order."""
        out: Dict[str, List[int]] = {}
        for lease_id, n, _, _ in self.server.appends:
            if self.server.leases[lease_id].job is job:
                out.setdefault(lease_id, []).append(n)
        return list(out.values())

    # -- the happy path, batching ------------------------------------------------------------------------------

    def test_announces_claims_and_appends_the_output_in_batches(self) -> None:
        self.worker([PY_ECHO], worker_id="w-1")
        job = self.server.enqueue("py-echo", {"message": MESSAGE})
        self.ended(job)
        self.assertEqual(text(job), MESSAGE)
        self.assertEqual(job.events[-1]["type"], "done")
        self.assertEqual(job.events[-1]["output"], {"text": MESSAGE})
        self.assertEqual(job.events[-1]["usage"], {"input_tokens": 50, "output_tokens": 50})
        self.assertEqual([e["seq"] for e in job.events], list(range(1, len(job.events) + 1)))
        [seqs] = self.seqs_of(job)
        self.assertEqual(seqs, list(range(len(seqs))))  # 0, 1, 2 ... one number per request
        self.assertLess(len(seqs), len(job.events))  # batched: fewer requests than events
        self.assertEqual(self.server.announced["py-echo"]["input_schema"], PY_ECHO.input_schema)
        self.assertEqual(self.server.announced["py-echo"]["description"], "Echoes the message token by token (Python).")
        self.assertIn("w-1", self.server.worker_ids)

    def test_a_batch_respects_the_event_cap(self) -> None:
        self.worker([PY_ECHO], lease=LeaseOptions(max_batch_events=4, linger_s=0.01))
        job = self.server.enqueue("py-echo", {"message": MESSAGE})
        self.ended(job)
        self.assertEqual(text(job), MESSAGE)
        sizes = [k for lease, _, k, st in self.server.appends if st == 200]
        self.assertTrue(all(k <= 4 for k in sizes), sizes)

    # -- retries, 204, 409 ---------------------------------------------------------------------------------------

    def test_retries_the_same_batch_with_the_same_producer_seq(self) -> None:
        self.server.faults = ["503", "drop_before", "drop_after"]
        self.worker([PY_ECHO])
        job = self.server.enqueue("py-echo", {"message": MESSAGE})
        self.ended(job)
        self.assertEqual(text(job), MESSAGE)  # nothing lost, nothing twice
        self.server.wait_for(lambda: len(self.workers[0].finished) == 1)
        first = [(n, k, st) for _, n, k, st in self.server.appends[:4]]
        # 503, cut before, cut after appending: always number 0 and the same batch; then 204 = it had landed
        self.assertEqual([n for n, _, _ in first], [0, 0, 0, 0])
        self.assertEqual(len({k for _, k, _ in first}), 1)
        self.assertEqual([st for _, _, st in first], [503, 0, 0, 204])
        self.assertEqual(self.workers[0].finished[0].producer_seq, 1)  # and on with the next number

    def test_resyncs_to_the_expected_number_on_a_gap(self) -> None:
        self.server.faults = ["skew"]
        self.worker([PY_ECHO])
        job = self.server.enqueue("py-echo", {"message": MESSAGE})
        self.ended(job)
        self.assertEqual(text(job), MESSAGE)
        [seqs] = self.seqs_of(job)
        self.assertEqual(seqs[:2], [0, 2])  # 409 expected 2: the same batch again under 2
        self.assertEqual(seqs[2:], list(range(3, 3 + len(seqs) - 2)))
        self.assertEqual(self.server.appends[0][3], 409)

    # -- lease lost, cancel, heartbeats --------------------------------------------------------------------------

    def test_a_lost_lease_stops_the_agent_and_nothing_more_is_sent(self) -> None:
        stopped = threading.Event()

        def slow(ctx: AgentContext) -> Iterator[Output]:
            try:
                for i in range(1000):
                    yield {"type": "token", "text": f"t{i} "}
                    ctx.sleep(0.01)
                yield {"type": "done", "output": {"text": ""}}
            finally:
                stopped.set()

        self.worker([Agent("slow", slow)])
        job = self.server.enqueue("slow", {})
        self.server.wait_for(lambda: len(job.events) >= 3)
        self.server.revoke(job)
        self.assertTrue(stopped.wait(5))
        self.server.wait_for(lambda: any(st == 410 for *_, st in self.server.appends))
        w = self.workers[0]
        self.server.wait_for(lambda: len(w.finished) == 1)
        self.assertEqual(w.finished[0].outcome, "lost")
        after = [a for a in self.server.appends if a[3] == 410]
        self.assertEqual(len(after), 1)  # no retry of a 410
        self.assertFalse(any(e["type"] in ("done", "error", "cancelled") for e in job.events))

    def test_cancel_requested_stops_the_agent_and_appends_cancelled_with_usage(self) -> None:
        self.worker([PY_ECHO], lease=LeaseOptions(heartbeat_s=0.05, linger_s=0.0))
        job = self.server.enqueue("py-echo", {"message": "a b c d e f g h i j k l", "delay_ms": 300})
        self.server.wait_for(lambda: len(job.events) >= 1)
        self.server.cancel(job)
        self.ended(job, "cancelled")
        last = job.events[-1]
        self.assertEqual(last["type"], "cancelled")
        self.assertEqual(last["usage"]["input_tokens"], 12)
        self.assertGreaterEqual(last["usage"]["output_tokens"], 1)
        self.assertLess(len(text(job)), len("a b c d e f g h i j k l"))

    def test_heartbeats_keep_a_quiet_agent_s_lease(self) -> None:
        self.server.lease_s = 1.5  # generous against a loaded machine: a heartbeat is due every 0.1 s

        def thinker(ctx: AgentContext) -> Iterator[Output]:
            yield {"type": "thinking", "text": "hmm"}
            ctx.sleep(3.5)  # quiet for more than two leases
            yield {"type": "token", "text": "42"}
            yield {"type": "done", "output": {"text": "42"}}

        self.worker([Agent("thinker", thinker)], lease=LeaseOptions(heartbeat_s=0.1))
        job = self.server.enqueue("thinker", {})
        self.ended(job)
        self.assertEqual(text(job), "42")
        ok = [hb for hb in self.server.heartbeats if hb[1] == 200]
        self.assertGreaterEqual(len(ok), 5)
        self.assertFalse(any(st == 410 for *_, st in self.server.appends))

    # -- input_required and history ------------------------------------------------------------------------------

    def test_input_required_parks_and_the_answer_continues_from_history(self) -> None:
        self.worker([PY_ECHO])
        msg = "one two three four five"
        job = self.server.enqueue("py-echo", {"message": msg, "ask": {"after": 2}})
        self.ended(job, "waiting_for_input")
        req = job.events[-1]
        self.assertEqual(req["type"], "input_required")
        self.assertEqual(text(job), "one two ")
        # the platform's part, done by hand here: the answer is appended and the job is claimable again
        with self.server.lock:
            job.events.append({"type": "input_received", "request_id": "r1", "input": {"approved": True},
                               "seq": len(job.events) + 1, "attempt": 1})
            req["request_id"] = "r1"
        self.server.queue.append(job)
        with self.server.lock:
            self.server.lock.notify_all()
        self.ended(job)
        self.assertEqual(text(job), msg)
        self.assertEqual(job.events[-1]["output"], {"text": msg})
        self.assertEqual(len(self.seqs_of(job)), 2)  # two leases, each numbered from 0
        self.assertTrue(all(s[0] == 0 for s in self.seqs_of(job)))

    def test_usage_sent_with_a_claim_is_the_attempt_s_usage_so_far(self) -> None:
        def adds(ctx: AgentContext) -> Iterator[Output]:
            ctx.usage["output_tokens"] += 1
            yield {"type": "token", "text": "x"}
            yield {"type": "done", "output": {"text": "x"}}

        self.worker([Agent("adds", adds)])
        job = self.server.enqueue("adds", {}, usage={"input_tokens": 3, "output_tokens": 7})
        self.ended(job)
        self.assertEqual(job.events[-1]["usage"], {"input_tokens": 3, "output_tokens": 8})

    # -- failures of the agent -----------------------------------------------------------------------------------

    def test_a_raising_agent_ends_with_agent_crashed_and_a_silent_one_with_agent_incomplete(self) -> None:
        def boom(ctx: AgentContext) -> Iterator[Output]:
            yield {"type": "token", "text": "so far "}
            raise RuntimeError("kaput")

        def silent(ctx: AgentContext) -> Iterator[Output]:
            yield {"type": "token", "text": "bye"}

        self.worker([Agent("boom", boom), Agent("silent", silent)])
        a = self.server.enqueue("boom", {})
        b = self.server.enqueue("silent", {})
        self.ended(a, "failed")
        self.ended(b, "failed")
        self.assertEqual((a.events[-1]["code"], a.events[-1]["retryable"]), ("agent_crashed", False))
        self.assertIn("kaput", a.events[-1]["message"])
        self.assertEqual(b.events[-1]["code"], "agent_incomplete")

    def test_a_refused_output_ends_the_job_with_invalid_agent_output(self) -> None:
        def bad(ctx: AgentContext) -> Iterator[Output]:
            yield {"type": "token", "text": 42}
            yield {"type": "done", "output": {"text": ""}}

        self.worker([Agent("bad", bad)])
        job = self.server.enqueue("bad", {})
        self.ended(job, "failed")
        self.assertEqual([e["type"] for e in job.events], ["error"])
        self.assertEqual(job.events[0]["code"], "invalid_agent_output")
        self.assertIn("body/0/text", job.events[0]["message"])

    # -- concurrency, stop, credentials ----------------------------------------------------------------------------

    def test_runs_up_to_concurrency_jobs_at_once(self) -> None:
        running = 0
        peak = 0
        lock = threading.Lock()
        gate = threading.Event()

        def held(ctx: AgentContext) -> Iterator[Output]:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            while not gate.is_set():
                ctx.sleep(0.01)
            with lock:
                running -= 1
            yield {"type": "done", "output": {"text": ""}}

        self.worker([Agent("held", held)], concurrency=3)
        jobs = [self.server.enqueue("held", {}) for _ in range(5)]
        self.server.wait_for(lambda: sum(j.status == "running" for j in jobs) == 3)
        self.server.wait_for(lambda: peak == 3)
        gate.set()
        for j in jobs:
            self.ended(j)
        self.assertEqual(peak, 3)

    def test_stop_lets_a_running_job_finish_within_the_grace(self) -> None:
        w = self.worker([PY_ECHO], shutdown_grace_s=10)
        job = self.server.enqueue("py-echo", {"message": "a b c d e", "delay_ms": 50})
        self.server.wait_for(lambda: len(job.events) >= 1)
        w.stop()
        w.join(10)
        self.assertEqual(job.status, "completed")
        self.assertEqual(text(job), "a b c d e")
        self.assertEqual(w.finished[0].outcome, "ended")

    def test_stop_hands_back_what_outlives_the_grace(self) -> None:
        w = self.worker([PY_ECHO], shutdown_grace_s=0.2)
        job = self.server.enqueue("py-echo", {"message": "a b c d e f g h", "delay_ms": 1000})
        self.server.wait_for(lambda: len(job.events) >= 1)
        claims = self.server.claims
        started = time.monotonic()
        w.stop()
        w.join(10)
        self.assertLess(time.monotonic() - started, 5)
        self.assertFalse(w._thread.is_alive())  # type: ignore[union-attr]
        self.assertEqual(w.finished[0].outcome, "handed_back")
        self.assertEqual(job.status, "running")  # no terminal event: the lease lapses and the platform retries
        self.assertFalse(any(e["type"] in ("done", "error", "cancelled") for e in job.events))
        self.assertEqual(self.server.claims, claims)  # no new claim after stop

    def test_a_wrong_key_or_a_tenant_key_stops_the_worker_with_a_config_error(self) -> None:
        for key, status in (("not-the-worker-key-000000000000000000", 401), (TENANT_KEY, 403)):
            w = self.worker([PY_ECHO], key=key)
            w.join(10)
            self.assertIsInstance(w.error, WorkerConfigError)
            self.assertEqual(w.error.error.status, status)  # type: ignore[union-attr]
            self.assertNotIn(key, str(w.error))

    def test_no_job_means_long_polls_that_answer_204(self) -> None:
        self.worker([PY_ECHO], wait_s=0)
        self.server.wait_for(lambda: self.server.claims >= 3)
        self.assertEqual(self.server.appends, [])


if __name__ == "__main__":
    unittest.main()
