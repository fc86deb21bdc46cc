"""The worker runner: serve Python agents over the HTTP worker protocol (``/v1/worker/*``)."""
from .agent import Agent, AgentContext, Cancelled, Output, agent
from .history import AskedRequest, count_in, requests_in, text_in, tool_call_ended
from .lease import LeaseOptions, LeaseRunner
from .protocol import Appended, Claim, WorkerApi
from .runner import Worker, WorkerConfigError, run_worker

__all__ = [
    "Agent",
    "AgentContext",
    "Appended",
    "AskedRequest",
    "Cancelled",
    "Claim",
    "LeaseOptions",
    "LeaseRunner",
    "Output",
    "Worker",
    "WorkerApi",
    "WorkerConfigError",
    "agent",
    "count_in",
    "requests_in",
    "run_worker",
    "text_in",
    "tool_call_ended",
]
