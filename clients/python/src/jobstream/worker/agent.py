"""What a Python agent is: a name, a description, the JSON Schema of its input, and ``run(ctx)``, a generator that
yields the outputs a TypeScript agent yields (dicts with a ``type``):

- ``{"type": "token", "text": ...}``, ``{"type": "thinking", "text": ...}``
- ``{"type": "tool_call_start", "call_id", "name", "arguments"}``, ``{"type": "tool_call_end", "call_id", "name",
  "result" | "error"}``
- ``{"type": "input_required", "kind": "approval" | "text" | "tool_results", "prompt", "schema"?, "tool_calls"?}``
  (the job parks; ``run`` is called again with ``ctx.history`` when the answer comes)
- exactly one terminal output: ``{"type": "done", "usage", "output": {"text"}}``, ``{"type": "error", "code",
  "message", "retryable", "usage"}`` or ``{"type": "cancelled", "reason", "usage"}``; a terminal output without
  ``usage`` gets ``ctx.usage``, an ``error`` without ``retryable`` gets ``False``.

Stopping: when the job is cancelled, the lease is lost or the worker shuts down, ``ctx.cancelled`` turns true,
``ctx.sleep()`` / ``ctx.check()`` raise :class:`Cancelled`, and the runner closes the generator at its next
``yield`` (``finally`` blocks run). For a cancel the runner appends ``cancelled`` with ``ctx.usage``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

Output = Dict[str, Any]
RunFn = Callable[["AgentContext"], Iterable[Output]]


class Cancelled(BaseException):
    """Raised inside an agent (by ``ctx.sleep``/``ctx.check``) when its attempt must stop. A BaseException, so a
    broad ``except Exception`` in agent code does not swallow it."""


@dataclass
class AgentContext:
    job_id: str
    #: 1-based attempt.
    attempt: int
    #: The job's input, validated by the platform against the agent's ``input_schema``.
    input: Dict[str, Any]
    #: This attempt's events so far (empty on a fresh start; after an answer: the agent's own earlier output, its
    #: ``input_required`` and the ``input_received`` answer). Continue from it; never emit again what it holds.
    history: List[Dict[str, Any]]
    #: Tokens read and produced in this attempt; keep it current so a cancel or a failure reports it.
    usage: Dict[str, int] = field(default_factory=lambda: {"input_tokens": 0, "output_tokens": 0})
    agent: str = ""
    lease_id: str = ""
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    #: Why the attempt is stopping: ``cancel_requested``, ``lease_lost`` or ``shutdown`` (None while it runs).
    stop_reason: Optional[str] = None

    @property
    def cancelled(self) -> bool:
        """True once the attempt must stop (cancel, lost lease, shutdown)."""
        return self._stop.is_set()

    def sleep(self, seconds: float) -> None:
        """Waits, or raises :class:`Cancelled` as soon as the attempt must stop."""
        if self._stop.wait(max(0.0, seconds)):
            raise Cancelled(self.stop_reason or "stopped")

    def check(self) -> None:
        """Raises :class:`Cancelled` when the attempt must stop."""
        if self._stop.is_set():
            raise Cancelled(self.stop_reason or "stopped")

    def stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop.set()


@dataclass(frozen=True)
class Agent:
    name: str
    run: RunFn
    description: str = ""
    #: JSON Schema (draft 2020-12) of the input; the platform compiles it at announce time and validates creates.
    input_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("jobstream: an agent needs a name")
        if not isinstance(self.input_schema, Mapping):
            raise ValueError(f"jobstream: agent {self.name}: input_schema must be a JSON Schema object")
        if not callable(self.run):
            raise ValueError(f"jobstream: agent {self.name}: run must be callable")

    def announcement(self) -> Dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": dict(self.input_schema)}


def agent(
    name: str, *, description: str = "", input_schema: Optional[Mapping[str, Any]] = None
) -> Callable[[RunFn], Agent]:
    """Decorator: ``@agent("echo", input_schema={...})`` on a ``def run(ctx): yield ...`` generator."""

    def wrap(fn: RunFn) -> Agent:
        return Agent(name, fn, description or (fn.__doc__ or "").strip(), input_schema or {"type": "object"})

    return wrap
