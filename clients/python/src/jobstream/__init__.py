"""jobstream for Python: a client of the job API (create, stream with exact resume, answer, cancel) and a worker
runner that serves Python agents over the HTTP worker protocol. Standard library only."""
import logging

from .backoff import Backoff
from .client import Client
from .errors import (
    JobstreamConnectionError,
    JobstreamError,
    JobstreamTimeoutError,
    is_retryable,
)
from .stream import JobStream, ReconnectInfo, StreamStats
from .models import TERMINAL_STATUSES, TERMINAL_TYPES, Event, EventType, EventsPage, Job, JobPage, JobStatus, Usage

logging.getLogger("jobstream").addHandler(logging.NullHandler())  # a library logs only where the app says

__version__ = "0.1.0"

__all__ = [
    "Backoff",
    "Client",
    "Event",
    "EventType",
    "EventsPage",
    "Job",
    "JobPage",
    "JobStatus",
    "JobStream",
    "JobstreamConnectionError",
    "JobstreamError",
    "JobstreamTimeoutError",
    "ReconnectInfo",
    "StreamStats",
    "TERMINAL_STATUSES",
    "TERMINAL_TYPES",
    "Usage",
    "is_retryable",
]
