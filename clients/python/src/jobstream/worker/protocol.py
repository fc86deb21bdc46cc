"""The HTTP worker protocol's three calls, as thin typed wrappers: claim (long-poll), append a batch with a
``Producer-Seq``, heartbeat. Worker keys are accepted only under ``/v1/worker/``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .._http import Abort, Transport, raise_for_status, seg


@dataclass
class Claim:
    lease_id: str
    job_id: str
    attempt: int
    agent: str
    input: Dict[str, Any]
    history: List[Dict[str, Any]]
    lease_expires_at: str
    #: The attempt's usage so far when the job continues after an answer, if the platform sends it.
    usage: Optional[Dict[str, int]] = None


@dataclass
class Appended:
    """The answer to an append: ``duplicate`` (204) = this Producer-Seq was accepted before, nothing appended."""

    duplicate: bool
    next_producer_seq: Optional[int] = None
    cancel_requested: bool = False
    cancel_reason: Optional[str] = None
    lease_expires_at: Optional[str] = None
    last_event_id: Optional[str] = None


class WorkerApi:
    def __init__(self, transport: Transport) -> None:
        self.t = transport

    def claim(
        self, worker_id: str, agents: Sequence[Mapping[str, Any]], wait_s: float, abort: Optional[Abort] = None
    ) -> Optional[Claim]:
        """``POST /v1/worker/claim``: announces the agents; a job, or None when none came within ``wait_s``."""
        body = {"worker_id": worker_id, "agents": list(agents), "wait_s": int(wait_s)}
        res = self.t.request("POST", "/v1/worker/claim", body=body, timeout=self.t.timeout + wait_s, abort=abort)
        if res.status == 204:
            return None
        status, c = _json(res)
        return Claim(
            lease_id=str(c["lease_id"]),
            job_id=str(c["job_id"]),
            attempt=int(c.get("attempt", 1)),
            agent=str(c["agent"]),
            input=dict(c.get("input") or {}),
            history=list(c.get("history") or []),
            lease_expires_at=str(c.get("lease_expires_at", "")),
            usage=_usage(c.get("usage")),
        )

    def append(self, lease_id: str, producer_seq: int, outputs: Sequence[Mapping[str, Any]]) -> Appended:
        """``POST /v1/worker/leases/:id/events`` with ``Producer-Seq``. Raises JobstreamError for 409
        (``producer_seq_gap``, ``details["expected"]``), 410 ``lease_lost``, 404 and every other error."""
        res = self.t.request(
            "POST",
            f"/v1/worker/leases/{seg(lease_id)}/events",
            body=list(outputs),
            headers={"Producer-Seq": str(producer_seq)},
        )
        if res.status == 204:
            return Appended(duplicate=True)
        _, b = _json(res)
        return Appended(
            duplicate=False,
            next_producer_seq=_int(b.get("next_producer_seq")),
            cancel_requested=bool(b.get("cancel_requested")),
            cancel_reason=b.get("cancel_reason") if isinstance(b.get("cancel_reason"), str) else None,
            lease_expires_at=b.get("lease_expires_at"),
            last_event_id=b.get("last_event_id"),
        )

    def heartbeat(self, lease_id: str) -> Appended:
        """``POST /v1/worker/leases/:id/heartbeat``: extends the lease; says whether a cancel was asked for."""
        res = self.t.request("POST", f"/v1/worker/leases/{seg(lease_id)}/heartbeat", body={})
        _, b = _json(res)
        return Appended(
            duplicate=False,
            cancel_requested=bool(b.get("cancel_requested")),
            cancel_reason=b.get("cancel_reason") if isinstance(b.get("cancel_reason"), str) else None,
            lease_expires_at=b.get("lease_expires_at"),
        )


def _json(res: Any) -> "tuple[int, Dict[str, Any]]":
    import json

    raise_for_status(res)
    try:
        body = json.loads(res.body.decode("utf-8")) if res.body else {}
    except ValueError:
        body = {}
    return res.status, body if isinstance(body, dict) else {}


def _usage(v: Any) -> Optional[Dict[str, int]]:
    if not isinstance(v, dict):
        return None
    return {k: int(v.get(k) or 0) for k in ("input_tokens", "output_tokens")}


def _int(v: Any) -> Optional[int]:
    return v if isinstance(v, int) and not isinstance(v, bool) else None
