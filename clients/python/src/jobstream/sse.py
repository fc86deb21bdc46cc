"""An incremental ``text/event-stream`` parser (the WHATWG rules this API needs): ``id``, ``event``, ``data``
(multi-line), ``retry``, comments, and any of CRLF / LF / CR as the line end, also split across chunks."""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Callable, List, Optional

from .errors import JobstreamConnectionError

MAX_LINE_CHARS = 8 << 20


@dataclass(frozen=True)
class SseFrame:
    #: The event's ``id:`` (the job cursor), or None when the event carried none.
    id: Optional[str]
    event: str
    data: str


class SseParser:
    """Feed it bytes as they arrive; it returns the complete events. ``on_retry`` gets ``retry:`` in seconds."""

    def __init__(self, on_retry: Optional[Callable[[float], None]] = None, max_line: int = MAX_LINE_CHARS) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._first = True
        self._skip_lf = False
        self._event = ""
        self._data: List[str] = []
        self._id: Optional[str] = None
        self._on_retry = on_retry
        self._max_line = max_line

    def feed(self, chunk: bytes) -> List[SseFrame]:
        text = self._decoder.decode(chunk)
        if self._first and text:
            self._first = False
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._skip_lf and text:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        self._buf += text
        out: List[SseFrame] = []
        start = 0
        buf = self._buf
        n = len(buf)
        while True:
            cr = buf.find("\r", start)
            lf = buf.find("\n", start)
            if cr < 0 and lf < 0:
                break
            end = lf if cr < 0 else cr if lf < 0 else min(cr, lf)
            line = buf[start:end]
            if buf[end] == "\r":
                if end + 1 < n:
                    start = end + 2 if buf[end + 1] == "\n" else end + 1
                else:
                    start = end + 1
                    self._skip_lf = True  # a LF may open the next chunk: it belongs to this line end
            else:
                start = end + 1
            frame = self._line(line)
            if frame is not None:
                out.append(frame)
        self._buf = buf[start:]
        if len(self._buf) > self._max_line:
            raise JobstreamConnectionError("protocol", f"SSE line exceeds {self._max_line} characters")
        return out

    def _line(self, line: str) -> Optional[SseFrame]:
        if line == "":
            if not self._data:
                self._event = ""
                return None
            frame = SseFrame(self._id, self._event or "message", "\n".join(self._data))
            self._event = ""
            self._data = []
            self._id = None
            return frame
        if line.startswith(":"):
            return None
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._id = value
        elif field == "retry":
            if value.isdigit() and self._on_retry is not None:
                self._on_retry(int(value) / 1000.0)
        return None
