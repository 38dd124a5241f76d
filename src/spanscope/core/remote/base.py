"""The contract between Spanscope and a trace server's client: the server a URL names, a page of the
server's trace list, a fetched trace, and the one error every failure becomes.

A client lists traces page by page with the server's own filters and cursors, never all at once, and
fetches one trace whole (every page of its spans) before anything of it is stored: a trace in the
cache is complete or absent. Clients never raise for a bad span: they report it in the fetched
trace's `problems` and go on, as format readers do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from spanscope.core.model import LogRecord, ScoreFor, Span

#: Called with (what is being fetched, how many done, how many in all or None).
FetchProgress = Callable[[str, int, int | None], None]


class RemoteError(Exception):
    """A server call that failed, said for a person: the server, what failed and what to do. `status`
    is the HTTP status when there was one; `retryable` says trying later may succeed (429, 5xx, a
    timeout, a refused connection); `retry_after_s` what a 429 or 503 asked for."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class ServerURL:
    """A server as a URL names it: `kind` from its scheme (phoenix+http://host:6006 is a Phoenix
    server at http://host:6006), `base_url` what its API is under."""

    kind: str
    base_url: str

    @property
    def text(self) -> str:
        return f"{self.kind}+{self.base_url}"

    @property
    def host(self) -> str:
        """host:port, for a cache file's name and a label."""
        return urlsplit(self.base_url).netloc


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """What to list: filters the server applies itself. `project` is a Phoenix project, an MLflow
    experiment (id or name), a Tempo/Jaeger service, a Langfuse project-scoped filter; `filter` the
    server's own filter syntax (MLflow's `filter_string`, Tempo's TraceQL, Jaeger tags, Phoenix's trace
    filter expression such as `latency_ms >= 1000`), passed as written; `cursor` the page to read
    (None: the first)."""

    project: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    filter: str | None = None
    errors_only: bool = False
    page_size: int = 100
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteTrace:
    """One row of a server's trace list (what the server says without fetching the trace)."""

    trace_id: str
    name: str | None
    start_ns: int | None
    duration_ns: int | None = None
    span_count: int | None = None
    error: bool | None = None
    project: str | None = None
    #: Tokens and cost when the server's list carries them.
    total_tokens: int | None = None
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class TracePage:
    traces: list[RemoteTrace]
    #: The next page's cursor; None when this is the last.
    next_cursor: str | None = None


@dataclass(slots=True)
class FetchedTrace:
    """A whole trace as Spanscope stores it: spans (with their scores), scores of spans given apart
    (annotations, assessments) and log records; `problems` the spans or scores left out, with why."""

    trace_id: str
    records: list[Span | ScoreFor | LogRecord] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


class RemoteClient(Protocol):
    """What every server kind's client does."""

    url: ServerURL

    def projects(self) -> list[str]:
        """The server's projects (experiments, services), to choose from."""
        ...

    def list_traces(self, query: TraceQuery) -> TracePage:
        """One page of traces, newest first, filtered on the server."""
        ...

    def fetch_trace(self, trace_id: str, progress: FetchProgress | None = None) -> FetchedTrace:
        """The whole trace, every page of its spans; RemoteError (nothing of it kept) when any page
        fails. A trace the server does not have is RemoteError with status 404."""
        ...


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """What a client module declares: its scheme's kind, a line for `--help`, the port its server
    listens on by default, the environment variables its credentials come from, and how to make a
    client (given the URL and the credentials found, each None when not set)."""

    kind: str
    title: str
    default_port: int
    credential_env: tuple[str, ...]
    make: Callable[[ServerURL, dict[str, str | None]], RemoteClient]
