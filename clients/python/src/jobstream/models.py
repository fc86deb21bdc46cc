"""The contract's shapes: job events (a typed wrapper around the event JSON), jobs and pages (TypedDicts)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Mapping, Optional, TypedDict

EventType = Literal[
    "status",
    "token",
    "thinking",
    "tool_call_start",
    "tool_call_end",
    "attempt",
    "input_required",
    "input_received",
    "done",
    "error",
    "cancelled",
]
JobStatus = Literal["queued", "running", "waiting_for_input", "completed", "failed", "cancelled"]
TERMINAL_TYPES = frozenset({"done", "error", "cancelled"})
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


class Usage(TypedDict):
    input_tokens: int
    output_tokens: int


class PendingInput(TypedDict, total=False):
    request_id: str
    kind: str
    prompt: str
    schema: Dict[str, Any]
    tool_calls: List[Dict[str, Any]]
    expires_at: str


class Job(TypedDict, total=False):
    id: str
    agent: str
    status: JobStatus
    created_at: str
    started_at: Optional[str]
    finished_at: Optional[str]
    attempt: int
    last_event_id: Optional[str]
    usage: Optional[Usage]
    error: Optional[Dict[str, Any]]
    stream_url: str
    events_url: str
    pending_input: Optional[PendingInput]
    metadata: Optional[Dict[str, Any]]
    thread_id: Optional[str]
    turn: Optional[int]
    rerun_of: Optional[str]


class JobPage(TypedDict):
    items: List[Job]
    next_cursor: Optional[str]


@dataclass(frozen=True)
class Event:
    """One job event: the envelope as attributes, every field in :attr:`data` (the event JSON as sent)."""

    #: The SSE cursor: hand it back (``stream(job_id, after=...)``) to resume after this event.
    id: Optional[str]
    seq: int
    type: str
    job_id: str
    attempt: int
    ts: str
    data: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], cursor: Optional[str]) -> "Event":
        return cls(
            id=cursor,
            seq=int(obj["seq"]),
            type=str(obj["type"]),
            job_id=str(obj.get("job_id", "")),
            attempt=int(obj.get("attempt", 1)),
            ts=str(obj.get("ts", "")),
            data=obj,
        )

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES

    @property
    def text(self) -> str:
        """``text`` of a ``token`` or ``thinking`` event, else ``""``."""
        t = self.data.get("text")
        return t if isinstance(t, str) else ""


class EventsPage(TypedDict):
    events: List[Dict[str, Any]]
    next_after: Optional[str]
    has_more: bool
    status: JobStatus
