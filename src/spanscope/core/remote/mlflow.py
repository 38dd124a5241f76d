"""An MLflow tracking server (`mlflow+http://host:5000`) through its REST API: experiments as
projects, MLflow's trace search (its `filter_string` syntax passed through, its page tokens as
cursors), and whole traces with their assessments.

A trace comes whole from `GET /api/3.0/mlflow/traces/get` (MLflow >= 3): its trace info (tags,
request metadata, assessments) and its spans as OTLP protobuf JSON with snake_case names, whose
attribute values MLflow sends decoded (a dict as a key/value list). Each span is put back in the
shape MLflow stores it (attribute values as JSON text) and read by the MLflow store reader
(`formats/mlflow_sqlite.py`), so a trace fetched from a server and one read from its mlflow.db are
the same spans; assessments are put in its assessments-table shape likewise.

Authentication is MLflow's own: MLFLOW_TRACKING_TOKEN as a bearer token, else
MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD as basic auth. Calls go through `json_api`
(429s waited out, every failure one line); the wait for an answer is long by default because MLflow
builds a whole trace before it sends a byte (tens of seconds for 20,000 spans).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import orjson

from spanscope.core.formats.base import RECORD_ERRORS, record_error
from spanscope.core.formats.mlflow_sqlite import (
    MlflowTrace,
    attach_assessments,
    span_from_dict,
    trace_root,
)
from spanscope.core.model import Span
from spanscope.core.remote.base import (
    FetchedTrace,
    FetchProgress,
    RemoteError,
    RemoteTrace,
    ServerSpec,
    ServerURL,
    TracePage,
    TraceQuery,
)
from spanscope.core.remote.json_api import JsonAPI

TOKEN_ENV = "MLFLOW_TRACKING_TOKEN"
USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
#: The most traces MLflow's search returns in one page.
MAX_PAGE = 500
_HEX_ID = re.compile(r"[0-9a-f]{32}")
_EXPERIMENT_PAGE = 1000


class MlflowClient:
    """One MLflow tracking server; every failure is a RemoteError naming it."""

    def __init__(
        self, url: ServerURL, credentials: dict[str, str | None], *, timeout_s: float = 120.0
    ) -> None:
        self.url = url
        headers: dict[str, str] = {}
        auth: httpx.BasicAuth | None = None
        if token := credentials.get(TOKEN_ENV):
            headers["Authorization"] = f"Bearer {token}"
        elif credentials.get(USERNAME_ENV) or credentials.get(PASSWORD_ENV):
            auth = httpx.BasicAuth(credentials.get(USERNAME_ENV) or "", credentials.get(PASSWORD_ENV) or "")
        self._api = JsonAPI(
            url,
            "MLflow server",
            auth=auth,
            headers=headers,
            credential_hint=f"set {TOKEN_ENV}, or {USERNAME_ENV} and {PASSWORD_ENV}",
            timeout_s=timeout_s,
        )
        self._experiment_names: dict[str, str] = {}

    # --- the contract ----------------------------------------------------------------------------

    def projects(self) -> list[str]:
        """The names of the server's active experiments."""
        return [experiment["name"] for experiment in self._experiments()]

    def list_traces(self, query: TraceQuery) -> TracePage:
        body: dict[str, Any] = {
            "locations": [
                {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment}}
                for experiment in self._experiment_ids(query.project)
            ],
            "max_results": max(1, min(query.page_size, MAX_PAGE)),
            "order_by": ["timestamp_ms DESC"],
        }
        if not body["locations"]:
            return TracePage([])
        if conditions := _conditions(query):
            body["filter"] = conditions
        if query.cursor:
            body["page_token"] = query.cursor
        answer = self._call("POST", "/api/3.0/mlflow/traces/search", "the trace search", json=body)
        traces = [self._remote_trace(info) for info in _list(answer.get("traces"))]
        return TracePage(traces, answer.get("next_page_token") or None)

    def fetch_trace(self, trace_id: str, progress: FetchProgress | None = None) -> FetchedTrace:
        if progress:
            progress("spans", 0, None)
        request_id = _mlflow_id(trace_id)
        answer = self._call(
            "GET",
            "/api/3.0/mlflow/traces/get",
            f"trace {trace_id}",
            params={"trace_id": request_id},
            missing=f"it has no trace {trace_id}",
        )
        trace = answer.get("trace")
        if not isinstance(trace, dict) or not isinstance(trace.get("trace_info"), dict):
            raise RemoteError(f"{self._name}: the answer for trace {trace_id} holds no trace")
        fetched = self._fetched(trace, trace_id)
        if progress:
            count = sum(isinstance(record, Span) for record in fetched.records)
            progress("spans", count, count)
        return fetched

    # --- traces ----------------------------------------------------------------------------------

    def _fetched(self, trace: dict[str, Any], asked: str) -> FetchedTrace:
        """The trace's spans read by the MLflow store reader, its assessments on them as scores."""
        info = trace["trace_info"]
        request_id = str(info.get("trace_id") or _mlflow_id(asked))
        experiment = _experiment_of(info)
        mlflow_trace = MlflowTrace(request_id, self._experiment_name(experiment), None)
        mlflow_trace.describe(_texts(info.get("trace_metadata")), _texts(info.get("tags")))
        fetched = FetchedTrace(mlflow_trace.trace_id)
        spans: list[Span] = []
        for number, raw in enumerate(_list(trace.get("spans")), 1):
            try:
                spans.append(span_from_dict(_stored_span(raw), mlflow_trace))
            except RECORD_ERRORS as exc:
                fetched.problems.append((f"trace {asked} span {number}", record_error(exc)))
        if not spans:
            raise RemoteError(f"{self._name}: trace {asked} has no spans that can be read (yet)")
        attach_assessments(_assessment_rows(info.get("assessments")), spans, trace_root(spans, mlflow_trace))
        fetched.records.extend(spans)
        return fetched

    def _remote_trace(self, info: dict[str, Any]) -> RemoteTrace:
        metadata, tags = _texts(info.get("trace_metadata")), _texts(info.get("tags"))
        size = _json_object(metadata.get("mlflow.trace.sizeStats"))
        usage = _json_object(metadata.get("mlflow.trace.tokenUsage"))
        cost = _json_object(metadata.get("mlflow.trace.cost"))
        experiment = _experiment_of(info)
        return RemoteTrace(
            trace_id=MlflowTrace(str(info.get("trace_id") or ""), None, None).trace_id,
            name=tags.get("mlflow.traceName"),
            start_ns=_timestamp_ns(info.get("request_time")),
            duration_ns=_duration_ns(info.get("execution_duration")),
            span_count=_int(size.get("num_spans")),
            error=info.get("state") == "ERROR" if info.get("state") else None,
            project=self._experiment_name(experiment) if experiment else None,
            total_tokens=_int(usage.get("total_tokens")),
            cost_usd=_float(cost.get("total_cost")),
        )

    # --- experiments -----------------------------------------------------------------------------

    def _experiments(self) -> list[dict[str, Any]]:
        """Every active experiment, page by page; their names are remembered by id."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            body: dict[str, Any] = {"max_results": _EXPERIMENT_PAGE, "view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            answer = self._call(
                "POST", "/api/2.0/mlflow/experiments/search", "the experiment list", json=body
            )
            for experiment in _list(answer.get("experiments")):
                if isinstance(experiment, dict) and "experiment_id" in experiment:
                    experiment["name"] = str(experiment.get("name") or experiment["experiment_id"])
                    self._experiment_names[str(experiment["experiment_id"])] = experiment["name"]
                    found.append(experiment)
            token = answer.get("next_page_token")
            if not token:
                return found

    def _experiment_ids(self, project: str | None) -> list[str]:
        """The experiment a project names (by name, else by id), or every experiment for None."""
        if project is None:
            return [str(experiment["experiment_id"]) for experiment in self._experiments()]
        try:
            answer = self._call(
                "GET",
                "/api/2.0/mlflow/experiments/get-by-name",
                f"experiment {project!r}",
                params={"experiment_name": project},
                missing=f"it has no experiment named {project!r}",
            )
        except RemoteError as exc:
            if exc.status != 404 or not project.isdigit():
                raise
            answer = self._call(
                "GET",
                "/api/2.0/mlflow/experiments/get",
                f"experiment {project!r}",
                params={"experiment_id": project},
                missing=f"it has no experiment named or numbered {project!r}",
            )
        experiment = answer.get("experiment")
        if not isinstance(experiment, dict) or "experiment_id" not in experiment:
            raise RemoteError(f"{self._name}: the answer for experiment {project!r} names none")
        experiment_id = str(experiment["experiment_id"])
        self._experiment_names[experiment_id] = str(experiment.get("name") or experiment_id)
        return [experiment_id]

    def _experiment_name(self, experiment_id: str | None) -> str | None:
        """An experiment's name (asked once per client), its id when the server will not say."""
        if experiment_id is None:
            return None
        if experiment_id not in self._experiment_names:
            try:
                answer = self._call(
                    "GET",
                    "/api/2.0/mlflow/experiments/get",
                    f"experiment {experiment_id}",
                    params={"experiment_id": experiment_id},
                )
                name = (answer.get("experiment") or {}).get("name")
            except RemoteError as exc:
                if exc.status is None or exc.status >= 500 or exc.status in (401, 403, 429):
                    raise
                name = None
            self._experiment_names[experiment_id] = str(name or experiment_id)
        return self._experiment_names[experiment_id]

    # --- HTTP ------------------------------------------------------------------------------------

    @property
    def _name(self) -> str:
        return self._api.name

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        missing: str | None = None,
    ) -> dict[str, Any]:
        """One API call's JSON object (MLflow answers every call with one)."""
        if method == "POST":
            answer = self._api.post(path, json or {}, what=what, missing=missing)
        else:
            answer = self._api.get(path, params, what=what, missing=missing)
        if not isinstance(answer, dict):
            raise RemoteError(
                f"{self._name}: {what} is not a JSON object; is {self.url.base_url} MLflow's API?"
            )
        return answer


# --- what the server sends -----------------------------------------------------------------------


def _stored_span(raw: Any) -> dict[str, Any]:
    """An OTLP-JSON span of MLflow's answer as MLflow stores the span: attribute values as JSON text."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    return {
        "span_id": raw.get("span_id"),
        "parent_span_id": raw.get("parent_span_id") or None,
        "name": raw.get("name"),
        "start_time_unix_nano": raw.get("start_time_unix_nano"),
        "end_time_unix_nano": raw.get("end_time_unix_nano"),
        "status": raw.get("status") if isinstance(raw.get("status"), dict) else {},
        "attributes": {
            key: orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
            for key, value in _key_values(raw.get("attributes")).items()
        },
        "events": [
            {
                "name": event.get("name"),
                "time_unix_nano": event.get("time_unix_nano"),
                "attributes": _key_values(event.get("attributes")),
            }
            for event in _list(raw.get("events"))
            if isinstance(event, dict)
        ],
    }


def _key_values(items: Any) -> dict[str, Any]:
    """An OTLP key/value list (protobuf JSON, snake_case) as a dict of native values."""
    return {
        str(item.get("key")): _native(item.get("value"))
        for item in _list(items)
        if isinstance(item, dict) and "key" in item
    }


def _native(value: Any) -> Any:
    """An OTLP AnyValue (protobuf JSON, snake_case) as a Python value; bytes stay base64 text."""
    if not isinstance(value, dict):
        return None
    if "kvlist_value" in value:
        return _key_values((value["kvlist_value"] or {}).get("values"))
    if "array_value" in value:
        return [_native(item) for item in _list((value["array_value"] or {}).get("values"))]
    if "int_value" in value:
        return int(value["int_value"])
    for key in ("string_value", "bool_value", "double_value", "bytes_value"):
        if key in value:
            return value[key]
    return None


def _assessment_rows(items: Any) -> list[tuple]:
    """The trace's current assessments as rows of MLflow's assessments table (values as JSON text)."""
    rows = []
    for item in _list(items):
        if not isinstance(item, dict) or item.get("valid") is False:
            continue
        kind = "expectation" if "expectation" in item else "feedback"
        body = item.get(kind) if isinstance(item.get(kind), dict) else {}
        serialized = body.get("serialized_value")
        if isinstance(serialized, dict) and isinstance(serialized.get("value"), str):
            value = serialized["value"]
        else:
            value = orjson.dumps(body.get("value")).decode()
        error = body.get("error")
        source = item.get("source") if isinstance(item.get("source"), dict) else {}
        rows.append(
            (
                item.get("assessment_id"),
                item.get("assessment_name"),
                kind,
                value,
                source.get("source_type"),
                item.get("span_id"),
                item.get("rationale"),
                orjson.dumps(error).decode() if error else None,
            )
        )
    return rows


def _conditions(query: TraceQuery) -> str | None:
    """The query's filter and its time range and error switch, in MLflow's filter syntax."""
    parts = [query.filter.strip() if query.filter else None]  # MLflow has AND only, no parentheses
    if query.since_ns is not None:
        parts.append(f"trace.timestamp_ms >= {query.since_ns // 1_000_000}")
    if query.until_ns is not None:
        parts.append(f"trace.timestamp_ms <= {query.until_ns // 1_000_000}")
    if query.errors_only:
        parts.append("trace.status = 'ERROR'")
    found = [part for part in parts if part]
    return " AND ".join(found) if found else None


def _mlflow_id(trace_id: str) -> str:
    """The id MLflow knows a trace by: Spanscope's 32-hex id is MLflow's `tr-` id without the prefix."""
    trace_id = trace_id.strip()
    return f"tr-{trace_id.lower()}" if _HEX_ID.fullmatch(trace_id.lower()) else trace_id


def _experiment_of(info: dict[str, Any]) -> str | None:
    location = info.get("trace_location")
    experiment = (location.get("mlflow_experiment") or {}) if isinstance(location, dict) else {}
    found = experiment.get("experiment_id") if isinstance(experiment, dict) else None
    return str(found) if found is not None else None


def _timestamp_ns(text: Any) -> int | None:
    """A protobuf Timestamp in JSON (RFC 3339, "Z") as Unix nanoseconds."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    fraction = re.search(r"\.(\d+)", text)
    nanos = int(fraction.group(1)[:9].ljust(9, "0")) if fraction else 0
    return int(moment.replace(microsecond=0).timestamp()) * 1_000_000_000 + nanos


def _duration_ns(text: Any) -> int | None:
    """A protobuf Duration in JSON ("1.5s") as nanoseconds."""
    if not isinstance(text, str) or not re.fullmatch(r"-?\d+(\.\d{1,9})?s", text):
        return None
    whole, _, fraction = text[:-1].partition(".")
    return int(whole) * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


def _texts(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _list(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else []


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


SPEC = ServerSpec(
    kind="mlflow",
    title="MLflow tracking server: experiments, trace search (filter_string), assessments as scores",
    default_port=5000,
    credential_env=(TOKEN_ENV, USERNAME_ENV, PASSWORD_ENV),
    make=MlflowClient,
)
