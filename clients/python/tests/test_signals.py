"""run_worker in its own process (examples/echo_agent.py) against the worker-protocol test double: SIGTERM lets
a running job finish within the grace, or hands it back when the grace runs out; either way the process exits 0."""
import os
import signal
import subprocess
import sys
import unittest

from .fake_worker_server import WORKER_KEY, FakeWorkerServer

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "echo_agent.py")


class SigtermTest(unittest.TestCase):
    def setUp(self) -> None:
        self.server = FakeWorkerServer()

    def tearDown(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.server.close()

    def spawn(self, grace_s: float) -> None:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONDONTWRITEBYTECODE": "1",
            "JOBSTREAM_URL": self.server.url,
            "JOBSTREAM_WORKER_KEY": WORKER_KEY,
            "SHUTDOWN_GRACE_S": str(grace_s),
        }
        self.proc = subprocess.Popen(
            [sys.executable, EXAMPLE], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def test_sigterm_lets_the_running_job_finish(self) -> None:
        self.spawn(grace_s=30)
        job = self.server.enqueue("py-echo", {"message": "a b c d e f", "delay_ms": 100})
        self.server.wait_for(lambda: len(job.events) >= 1)
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(20), 0)
        self.assertEqual(job.status, "completed")
        self.assertEqual("".join(e.get("text", "") for e in job.events if e["type"] == "token"), "a b c d e f")
        self.assertNotIn(WORKER_KEY, self.proc.stderr.read().decode() if self.proc.stderr else "")

    def test_sigterm_hands_back_a_job_that_outlives_the_grace(self) -> None:
        self.spawn(grace_s=0.2)
        job = self.server.enqueue("py-echo", {"message": "a b c d e f g h i j", "delay_ms": 2000})
        self.server.wait_for(lambda: len(job.events) >= 1)
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(20), 0)
        self.assertEqual(job.status, "running")  # no terminal event: its lease lapses and the platform retries it
        self.assertFalse(any(e["type"] in ("done", "error", "cancelled") for e in job.events))


if __name__ == "__main__":
    unittest.main()
