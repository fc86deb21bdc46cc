"""A Python agent served over the HTTP worker protocol: echoes ``message`` token by token, ``delay_ms`` apart, and
asks for an approval after ``ask.after`` tokens when asked to. It continues from ``ctx.history`` after the answer.

    JOBSTREAM_URL=http://localhost:3000 JOBSTREAM_WORKER_KEY=<a key of WORKER_KEYS> python3 examples/echo_agent.py
"""
from __future__ import annotations

import logging
import os
import re
import sys
from typing import Iterator

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from jobstream.worker import AgentContext, Output, agent, requests_in, run_worker, text_in  # noqa: E402

APPROVAL = {"type": "object", "properties": {"approved": {"type": "boolean"}}, "required": ["approved"]}


@agent(
    "py-echo",
    description="Echoes the message token by token (Python).",
    input_schema={
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "message": {"type": "string", "maxLength": 100000},
            "delay_ms": {"type": "integer", "minimum": 0, "maximum": 10000},
            "ask": {
                "type": "object",
                "properties": {"after": {"type": "integer", "minimum": 0}, "prompt": {"type": "string"}},
                "required": ["after"],
            },
        },
        "required": ["message"],
        "additionalProperties": False,
    },
)
def py_echo(ctx: AgentContext) -> Iterator[Output]:
    message: str = ctx.input["message"]
    tokens = re.findall(r"\S+\s*|\s+", message)
    delay = ctx.input.get("delay_ms", 0) / 1000.0
    ctx.usage["input_tokens"] = len(tokens)

    # continuing after an answer: skip the text already in the log (count text, not events)
    already = len(text_in(ctx.history))
    asked = requests_in(ctx.history)
    ask = ctx.input.get("ask")
    ask_at = min(ask["after"], len(tokens)) if ask else -1
    prompt = ask.get("prompt", "Continue?") if ask else ""

    emitted_chars = 0
    for i, tok in enumerate(tokens + [""]):
        if i == ask_at:
            if not asked:
                yield {"type": "input_required", "kind": "approval", "prompt": prompt, "schema": APPROVAL}
                return  # never reached: the runner closes the generator at the question
            if asked[0].answer is None or asked[0].answer.get("approved") is not True:
                yield {"type": "cancelled", "reason": "rejected"}
                return
        if i == len(tokens):
            break
        emitted_chars += len(tok)
        ctx.usage["output_tokens"] += 1
        if emitted_chars <= already:
            continue
        if i > 0 and delay > 0:
            ctx.sleep(delay)  # raises Cancelled on a cancel: the runner then appends `cancelled` with ctx.usage
        yield {"type": "token", "text": tok}
    yield {"type": "done", "output": {"text": message}}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_worker(
        [py_echo],
        os.environ.get("JOBSTREAM_URL", "http://localhost:3000"),
        os.environ["JOBSTREAM_WORKER_KEY"],
        concurrency=int(os.environ.get("CONCURRENCY", "4")),
        shutdown_grace_s=float(os.environ.get("SHUTDOWN_GRACE_S", "5")),
    )
