"""End-to-end scenarios of the Python client against a real jobstream API; run by test/python/python-client.e2e-spec.ts
(not by unittest discovery). Reads JOBSTREAM_URL, JOBSTREAM_KEY, JOBSTREAM_PROXY_URL (a proxy that cuts connections)
and SDK_JOB_ID (a job the TypeScript SDK created); prints one JSON object with what it saw, for the Jest test to check.
Each scenario also asserts here, so a failure names its line."""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from jobstream import Backoff, Client, Event, JobstreamError  # noqa: E402

URL = os.environ["JOBSTREAM_URL"]
KEY = os.environ["JOBSTREAM_KEY"]
PROXY = os.environ["JOBSTREAM_PROXY_URL"]
SDK_JOB = os.environ["SDK_JOB_ID"]
FAST = Backoff(max_retries=60, initial_delay=0.005, max_delay=0.1)
MESSAGE = "Streams survive flaky networks: every token arrives once, in order, ünïcödé included ✓. "

client = Client(URL, KEY)
out: Dict[str, Any] = {}


def text_of(events: List[Event]) -> str:
    return "".join(e.text for e in events if e.type == "token")


def dense(events: List[Event]) -> bool:
    return [e.seq for e in events] == list(range(1, len(events) + 1))


# 1. drop mid-stream (the client closes it) and resume exactly from the stored cursor
job = client.create("echo", {"message": MESSAGE, "repeat": 3, "delay_ms": 1})
first: List[Event] = []
s1 = client.stream(job["id"], reconnect=FAST)
for e in s1:
    first.append(e)
    if len(first) == 6:
        break
s1.close()
rest = list(client.stream(job["id"], after=s1.last_event_id, reconnect=FAST))
both = first + rest
assert rest[0].seq == first[-1].seq + 1, (first[-1].seq, rest[0].seq)
assert text_of(both) == MESSAGE * 3
assert dense(both)
assert both[-1].type == "done" and both[-1]["output"]["text"] == MESSAGE * 3
out["resume"] = {
    "seqs": [e.seq for e in both],
    "text": text_of(both),
    "cursor": s1.last_event_id,
    "first_of_rest": rest[0].seq,
    "terminal": both[-1].type,
}

# 2. the stream reconnects by itself through a proxy that cuts every connection at random bytes
job = client.create("echo", {"message": MESSAGE, "repeat": 4, "delay_ms": 1})
flaky = Client(PROXY, KEY)
reconnects: List[str] = []
s2 = flaky.stream(job["id"], reconnect=FAST, on_reconnect=lambda i: reconnects.append(type(i.error).__name__))
events = list(s2)
assert text_of(events) == MESSAGE * 4, text_of(events)
assert dense(events)
out["flaky"] = {
    "seqs": [e.seq for e in events],
    "text": text_of(events),
    "reconnects": len(reconnects),
    "connections": s2.stats.connections,
    "duplicates_dropped": s2.stats.duplicates_dropped,
}

# 3. an approval: answer the input_required seen on the stream; the same stream goes on to done
job = client.create("echo", {"message": "Send the quarterly report to all staff.", "ask": {"after": 3}})
seen: List[Event] = []
for e in client.stream(job["id"], reconnect=FAST):
    seen.append(e)
    if e.type == "input_required":
        answered = client.input(job["id"], e["request_id"], {"approved": True})
        again = client.input(job["id"], e["request_id"], {"approved": True})  # idempotent
        try:
            client.input(job["id"], e["request_id"], {"approved": False})
            raise AssertionError("another answer was accepted")
        except JobstreamError as err:
            assert err.status == 409 and err.code == "already_answered", err
assert dense(seen)
assert text_of(seen) == "Send the quarterly report to all staff."
out["ask"] = {"types": [e.type for e in seen], "text": text_of(seen), "seqs": [e.seq for e in seen]}

# 4. cancel a running job: the stream ends with `cancelled`
job = client.create("echo", {"message": " ".join(f"w{i}" for i in range(200)), "delay_ms": 100})
cancelled: List[Event] = []
for e in client.stream(job["id"], reconnect=FAST):
    cancelled.append(e)
    if e.type == "token" and len([x for x in cancelled if x.type == "token"]) == 2:
        client.cancel(job["id"], reason="python says stop")
final = client.wait(job["id"], timeout_s=10, until_terminal=True)
assert cancelled[-1].type == "cancelled", cancelled[-1]
assert final["status"] == "cancelled"
out["cancel"] = {
    "terminal": cancelled[-1].data,
    "status": final["status"],
    "tokens": len([x for x in cancelled if x.type == "token"]),
}

# 5. a job the TypeScript SDK created, streamed here
text, terminal = client.stream_text(SDK_JOB)
out["sdk_job"] = {"text": text, "terminal": terminal.type, "output": terminal.get("output")}

# 6. idempotent create, get, list, events page, wait; errors as exceptions with the API's code
key = "py-e2e-idem-0001"
a, replay_a = client.create_with_info("echo", {"message": "same"}, idempotency_key=key)
b, replay_b = client.create_with_info("echo", {"message": "same"}, idempotency_key=key)
assert a["id"] == b["id"] and not replay_a and replay_b
try:
    client.create("echo", {"message": "other"}, idempotency_key=key)
    raise AssertionError("another body under the same key was accepted")
except JobstreamError as err:
    conflict = {"status": err.status, "code": err.code}
waited = client.wait(a["id"], timeout_s=10, until_terminal=True)
page = client.events(a["id"], after="0", limit=2)
page2 = client.events(a["id"], after=page["next_after"])
listed = [j["id"] for j in client.list(limit=100)["items"]]
errors: Dict[str, Any] = {}
try:
    client.get("job_00000000000000000000000000")
except JobstreamError as err:
    errors["not_found"] = {"status": err.status, "code": err.code}
try:
    Client(URL, "wrong-key-123456").get(a["id"])
except JobstreamError as err:
    errors["bad_key"] = {"status": err.status, "code": err.code, "leaks_key": "wrong-key-123456" in str(err)}
try:
    client.create("echo", {"message": 42})
except JobstreamError as err:
    errors["bad_input"] = {"status": err.status, "code": err.code}
out["misc"] = {
    "idempotent_same_id": a["id"] == b["id"],
    "replayed": [replay_a, replay_b],
    "conflict": conflict,
    "waited": waited["status"],
    "page_seqs": [e["seq"] for e in page["events"]] + [e["seq"] for e in page2["events"]],
    "page_has_more": page["has_more"],
    "listed": a["id"] in listed,
    "errors": errors,
}

print(json.dumps(out, ensure_ascii=False))
