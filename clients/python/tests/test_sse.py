import unittest
from typing import List

from jobstream.errors import JobstreamConnectionError
from jobstream.sse import SseFrame, SseParser

STREAM = (
    "\ufeffretry: 2000\r\n: keepalive\r\n\r\n"
    "id: 1-1-a\r\nevent: status\r\ndata: {\"seq\":1}\r\n\r\n"
    "id: 2-2-a\nevent: token\ndata: {\"text\":\"h\u00e9 \u2713\"}\n\n"
    "id: 3-3-a\revent: token\rdata: line one\rdata: line two\r\r"
    "data:no-space\n\n"
).encode("utf-8")

EXPECTED = [
    SseFrame("1-1-a", "status", '{"seq":1}'),
    SseFrame("2-2-a", "token", '{"text":"h\u00e9 \u2713"}'),
    SseFrame("3-3-a", "token", "line one\nline two"),
    SseFrame(None, "message", "no-space"),
]


class SseParserTest(unittest.TestCase):
    def test_whole_stream(self) -> None:
        retries: List[float] = []
        p = SseParser(on_retry=retries.append)
        self.assertEqual(p.feed(STREAM), EXPECTED)
        self.assertEqual(retries, [2.0])

    def test_every_split_point_gives_the_same_frames(self) -> None:
        # line ends (CR LF across chunks too) and multi-byte UTF-8 characters cut anywhere
        for i in range(len(STREAM) + 1):
            p = SseParser()
            frames = p.feed(STREAM[:i]) + p.feed(STREAM[i:])
            self.assertEqual(frames, EXPECTED, f"split at {i}")

    def test_byte_by_byte(self) -> None:
        p = SseParser()
        frames = []
        for b in STREAM:
            frames += p.feed(bytes([b]))
        self.assertEqual(frames, EXPECTED)

    def test_comments_and_empty_events_dispatch_nothing(self) -> None:
        p = SseParser()
        self.assertEqual(p.feed(b": keepalive\n\n: again\n\nevent: x\n\n"), [])

    def test_id_with_nul_is_ignored(self) -> None:
        p = SseParser()
        self.assertEqual(p.feed(b"id: a\x00b\ndata: x\n\n"), [SseFrame(None, "message", "x")])

    def test_runaway_line_is_a_protocol_error(self) -> None:
        p = SseParser(max_line=100)
        with self.assertRaises(JobstreamConnectionError) as ctx:
            p.feed(b"data: " + b"x" * 200)
        self.assertEqual(ctx.exception.reason, "protocol")


if __name__ == "__main__":
    unittest.main()
