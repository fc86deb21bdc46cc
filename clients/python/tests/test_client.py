import threading
import unittest
from typing import List

from jobstream import Backoff, Client, JobstreamConnectionError, JobstreamError, ReconnectInfo

from .fake_job_api import JOB, FakeJobApi, event

FAST = Backoff(max_retries=10, initial_delay=0.001, max_delay=0.01, honor_server_retry=False)
EVENTS = [event(1, "status", status="running")] + [event(i, text=f"t{i} ") for i in range(2, 10)] + [
    event(10, "done", usage={"input_tokens": 8, "output_tokens": 8}, output={"text": "x"})
]


class StreamResumeTest(unittest.TestCase):
    def setUp(self) -> None:
        self.api = FakeJobApi(EVENTS)
        self.client = Client(self.api.url, "key-for-tests", retry=FAST, sleep=lambda s: None)

    def tearDown(self) -> None:
        self.client.close()
        self.api.close()

    def seqs(self, **kw: object) -> List[int]:
        return [e.seq for e in self.client.stream(JOB, reconnect=FAST, **kw)]  # type: ignore[arg-type]

    def test_cuts_mid_frame_resume_with_last_event_id_without_gap_or_duplicate(self) -> None:
        self.api.plans = [{"seqs": [1, 2, 3], "cut": 17}, {"seqs": [4, 5], "cut": 3}, {"seqs": list(range(1, 11))}]
        self.assertEqual(self.seqs(), list(range(1, 11)))
        self.assertEqual(self.api.stream_requests, [None, "3-c", "5-c"])

    def test_duplicates_are_dropped(self) -> None:
        self.api.plans = [{"seqs": [1, 2, 3, 2, 3, 4, 5, 6, 7, 8, 9, 10], "raw": True}]
        s = self.client.stream(JOB, reconnect=FAST)
        self.assertEqual([e.seq for e in s], list(range(1, 11)))
        self.assertEqual(s.stats.duplicates_dropped, 2)

    def test_a_gap_reconnects_from_the_last_delivered_event(self) -> None:
        self.api.plans = [{"seqs": [1, 2, 5], "raw": True}, {"seqs": list(range(1, 11))}]
        s = self.client.stream(JOB, reconnect=FAST)
        self.assertEqual([e.seq for e in s], list(range(1, 11)))
        self.assertEqual(s.stats.gaps, 1)
        self.assertEqual(self.api.stream_requests, [None, "2-c"])

    def test_503_with_retry_after_is_retried_and_the_floor_is_honoured(self) -> None:
        self.api.plans = [{"status": 503, "retry_after": "0.05"}, {"seqs": list(range(1, 11))}]
        infos: List[ReconnectInfo] = []
        self.assertEqual(self.seqs(on_reconnect=infos.append), list(range(1, 11)))
        self.assertEqual(len(infos), 1)
        self.assertGreaterEqual(infos[0].delay, 0.05)
        self.assertIsInstance(infos[0].error, JobstreamError)

    def test_a_404_is_final(self) -> None:
        self.api.plans = [{"status": 404, "code": "not_found"}]
        with self.assertRaises(JobstreamError) as ctx:
            self.seqs()
        self.assertEqual((ctx.exception.status, ctx.exception.code), (404, "not_found"))
        self.assertEqual(len(self.api.stream_requests), 1)

    def test_gives_up_after_max_retries_without_progress(self) -> None:
        self.api.plans = [{"seqs": [], "raw": True}]
        with self.assertRaises(JobstreamConnectionError) as ctx:
            list(self.client.stream(JOB, reconnect=Backoff(max_retries=2, initial_delay=0.001)))
        self.assertEqual(ctx.exception.reason, "dropped")
        self.assertEqual(len(self.api.stream_requests), 3)

    def test_resume_after_a_stored_cursor(self) -> None:
        self.api.plans = [{"seqs": list(range(1, 11))}]
        s = self.client.stream(JOB, after="7-c", reconnect=FAST)
        self.assertEqual([e.seq for e in s], [8, 9, 10])
        self.assertEqual(self.api.stream_requests, ["7-c"])

    def test_close_from_another_thread_ends_quietly(self) -> None:
        self.api.plans = [{"seqs": [1, 2], "raw": True}]  # then it keeps reconnecting: close() must stop it
        s = self.client.stream(JOB, reconnect=Backoff(max_retries=10**6, initial_delay=0.001, max_delay=0.002))
        seen: List[int] = []
        timer = threading.Timer(0.1, s.close)
        timer.start()
        for e in s:
            seen.append(e.seq)
        self.assertEqual(seen, [1, 2])
        self.assertTrue(s.closed)


class CreateTest(unittest.TestCase):
    def setUp(self) -> None:
        self.api = FakeJobApi(EVENTS)

    def tearDown(self) -> None:
        self.api.close()

    def test_every_create_sends_a_key_and_retries_reuse_it(self) -> None:
        self.api.create_failures = 2
        c = Client(self.api.url, "key-for-tests", retry=FAST, sleep=lambda s: None)
        job = c.create("echo", {"message": "hi"})
        self.assertEqual(job["id"], JOB)
        keys = self.api.create_keys
        self.assertEqual(len(keys), 3)
        self.assertTrue(keys[0] and keys[0].startswith("py-"))
        self.assertEqual(len(set(keys)), 1)
        c.create("echo", {"message": "hi"})
        c.close()
        self.assertNotEqual(self.api.create_keys[3], keys[0])  # a new create, a new key

    def test_a_keep_alive_connection_the_server_closed_is_replaced_without_an_error(self) -> None:
        self.api.close_idle = True
        c = Client(self.api.url, "key-for-tests", retry=Backoff(max_retries=0), sleep=lambda s: None)
        for _ in range(3):
            self.assertEqual(c.create("echo", {"message": "hi"})["id"], JOB)
        c.close()
        self.assertEqual(len(self.api.create_keys), 3)  # each create sent once (no retry was allowed)

    def test_a_given_key_is_sent_as_is_and_a_lasting_503_is_raised(self) -> None:
        self.api.create_failures = 100
        c = Client(self.api.url, "key-for-tests", retry=Backoff(max_retries=1, initial_delay=0.001), sleep=lambda s: None)
        with self.assertRaises(JobstreamError) as ctx:
            c.create("echo", {"message": "hi"}, idempotency_key="mine-1")
        self.assertEqual((ctx.exception.status, ctx.exception.code, ctx.exception.retry_after), (503, "unavailable", 0.0))
        self.assertEqual(self.api.create_keys, ["mine-1", "mine-1"])


if __name__ == "__main__":
    unittest.main()
