"""Helpers for agents that continue a job after an answer: read what the attempt already did from ``ctx.history``.
(Count text, not events: the platform may merge consecutive ``token`` texts into one event.)"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence


@dataclass
class AskedRequest:
    #: The ``input_required`` event as it is in the log.
    request: Mapping[str, Any]
    #: The accepted answer, or None while unanswered.
    answer: Optional[Dict[str, Any]]


def requests_in(history: Sequence[Mapping[str, Any]]) -> List[AskedRequest]:
    """Every question the attempt asked, in order, with its answer."""
    out: List[AskedRequest] = []
    by_id: Dict[str, AskedRequest] = {}
    for e in history:
        if e.get("type") == "input_required":
            r = AskedRequest(e, None)
            out.append(r)
            by_id[str(e.get("request_id"))] = r
        elif e.get("type") == "input_received":
            asked = by_id.get(str(e.get("request_id")))
            if asked is not None:
                asked.answer = dict(e.get("input") or {})
    return out


def text_in(history: Sequence[Mapping[str, Any]], type_: str = "token") -> str:
    """The concatenated text of the history's ``token`` (or ``thinking``) events."""
    return "".join(str(e.get("text", "")) for e in history if e.get("type") == type_)


def count_in(history: Sequence[Mapping[str, Any]], type_: str) -> int:
    return sum(1 for e in history if e.get("type") == type_)


def tool_call_ended(history: Sequence[Mapping[str, Any]], call_id: str) -> bool:
    return any(e.get("type") == "tool_call_end" and e.get("call_id") == call_id for e in history)
