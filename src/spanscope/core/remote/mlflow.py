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
MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD as basic auth.
"""

from __future__ import annotations

import re
import time
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

TOKEN_ENV = "MLFLOW_TRACKING_TOKEN"
USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
#: The most traces MLflow's search returns in one page.
MAX_PAGE = 500
#: 429 and 503 answers are tried again this many times, waiting what Retry-After asks (at most 30 s).
RETRIES = 3
_HEX_ID = re.compile(r"[0-9a-f]{32}")
_EXPERIMENT_PAGE = 1000


class MlflowClient:
    """One MLflow tracking server; every failure is a RemoteError naming it."""

    def __init__(
        self, url: ServerURL, credentials: dict[str, str | None], *, timeout_s: float = 120.0
    ) -> None:
        self.url = url
        headers = {"Accept": "application/json"}
        auth: httpx.BasicAuth | None = None
        if token := credentials.get(TOKEN_ENV):
            headers["Authorization"] = f"Bearer {token}"
        elif credentials.get(USERNAME_ENV) or credentials.get(PASSWORD_ENV):
            auth = httpx.BasicAuth(credentials.get(USERNAME_ENV) or "", credentials.get(PASSWORD_ENV) or "")
        self._with_credentials = bool(token or auth)
        self._http = httpx.Client(
            base_url=url.base_url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
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
            missing=f"has no trace {trace_id}",
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
                missing=f"has no experiment named {project!r}",
            )
        except RemoteError as exc:
            if exc.status != 404 or not project.isdigit():
                raise
            answer = self._call(
                "GET",
                "/api/2.0/mlflow/experiments/get",
                f"experiment {project!r}",
                params={"experiment_id": project},
                missing=f"has no experiment named or numbered {project!r}",
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
        return f"MLflow server {self.url.base_url}"

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
        """One API call's JSON object; 429 and 503 tried again as the server asks, every failure a
        RemoteError naming the server and `what` was asked (`missing`: what a 404 means)."""
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, params=params, json=json)
            except httpx.TimeoutException as exc:
                raise RemoteError(
                    f"{self._name} did not answer {what} in time ({type(exc).__name__})", retryable=True
                ) from None
            except httpx.HTTPError as exc:
                raise RemoteError(f"cannot reach {self._name}: {exc}", retryable=True) from None
            if response.status_code in (429, 503) and attempt < RETRIES:
                asked = _retry_after(response)
                time.sleep(min(2.0**attempt if asked is None else asked, 30.0))
                attempt += 1
                continue
            return self._answer(response, what, missing)

    def _answer(self, response: httpx.Response, what: str, missing: str | None) -> dict[str, Any]:
        status = response.status_code
        if status == 200:
            try:
                answer = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                answer = None
            if not isinstance(answer, dict):
                raise RemoteError(f"{self._name} answered {what} with something other than MLflow's JSON")
            return answer
        message = _server_message(response)
        if status in (401, 403):
            hint = (
                f"check {TOKEN_ENV} (or {USERNAME_ENV} and {PASSWORD_ENV})"
                if self._with_credentials
                else f"set {TOKEN_ENV}, or {USERNAME_ENV} and {PASSWORD_ENV}"
            )
            refused = "refused the credentials" if self._with_credentials else "needs credentials"
            raise RemoteError(
                f"{self._name} {refused} ({status}{message and ': ' + message}): {hint}", status=status
            )
        if status == 404 and missing:
            raise RemoteError(f"{self._name} {missing}", status=404)
        retryable = status == 429 or status >= 500
        raise RemoteError(
            f"{self._name} refused {what} ({status}){': ' + message if message else ''}",
            status=status,
            retryable=retryable,
            retry_after_s=_retry_after(response) if retryable else None,
        )


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


def _server_message(response: httpx.Response) -> str:
    """MLflow's error message (`message` of its JSON) on one line, else the body's start."""
    try:
        body = orjson.loads(response.content)
        text = body.get("message") if isinstance(body, dict) else None
    except orjson.JSONDecodeError:
        text = None
    text = str(text) if text else response.text
    return " ".join(text.split())[:500]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


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
