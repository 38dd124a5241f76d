"""A store of synthetic model calls written straight into the schema, for the dashboard benchmark.

Generation is not what is measured, so rows go in with one executemany per table instead of through
a trace file and the importer; the values are plausible: several models and services, lognormal
latencies, a few errors, some costs reported by the source and the rest left to be priced.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from spanscope.core.store import connect
from spanscope.core.store.schema import SPAN_COLUMNS, TRACE_COLUMNS

MODELS = (
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-3-5-sonnet-20241022", "anthropic"),
    ("gemini-1.5-pro", "google"),
    ("llama-3.1-70b-instruct", "meta"),
)
SERVICES = ("support-bot", "travel-agent", "search-api")
NAMES = ("answer_question", "support_turn", "triage_ticket", "plan_trip", "summarize")
START_NS = 1_730_000_000_000_000_000
DAYS = 30
CALLS_PER_TRACE = 5


def _rows(calls: int, seed: int) -> Iterator[tuple[list[tuple], tuple]]:
    """(span rows, trace row) per trace, spread evenly over DAYS days."""
    rng = random.Random(seed)
    traces = calls // CALLS_PER_TRACE
    step = DAYS * 86_400 * 10**9 // max(traces, 1)
    for t in range(traces):
        trace_id = f"{rng.getrandbits(128):032x}"
        service, name = rng.choice(SERVICES), rng.choice(NAMES)
        session, user = f"sess-{t // 4}", f"user-{rng.randrange(2000)}"
        at = START_NS + t * step
        spans, tokens_in, tokens_out, errors, models = [], 0, 0, 0, set()
        for c in range(CALLS_PER_TRACE):
            model, provider = MODELS[min(int(rng.expovariate(0.7)), len(MODELS) - 1)]
            duration = int(rng.lognormvariate(20.5, 0.8))
            n_in, n_out = rng.randrange(50, 8000), rng.randrange(1, 1200)
            error = rng.random() < 0.03
            cost = n_in * 2.5e-6 + n_out * 1e-5 if rng.random() < 0.3 else None
            row = dict.fromkeys(SPAN_COLUMNS)
            row.update(
                trace_id=trace_id,
                span_id=f"{rng.getrandbits(64):016x}",
                name=f"{provider}.chat",
                kind="LLM",
                start_ns=at,
                end_ns=at + duration,
                status="error" if error else "ok",
                model=model,
                provider=provider,
                input_tokens=n_in,
                output_tokens=n_out,
                total_tokens=n_in + n_out,
                cache_read_tokens=n_in // 4 if c % 2 else None,
                cost_usd=cost,
                session_id=session,
                user_id=user,
                service=service,
                source_id=1,
                counted=1,
            )
            spans.append(tuple(row[k] for k in SPAN_COLUMNS))
            at += duration
            tokens_in, tokens_out, errors = tokens_in + n_in, tokens_out + n_out, errors + error
            models.add(model)
        trace = dict.fromkeys(TRACE_COLUMNS)
        trace.update(
            trace_id=trace_id,
            root_name=name,
            start_ns=spans[0][SPAN_COLUMNS.index("start_ns")],
            end_ns=at,
            duration_ns=at - spans[0][SPAN_COLUMNS.index("start_ns")],
            span_count=CALLS_PER_TRACE,
            error_count=errors,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            total_tokens=tokens_in + tokens_out,
            models=",".join(sorted(models)),
            session_id=session,
            user_id=user,
            service=service,
        )
        yield spans, tuple(trace[k] for k in TRACE_COLUMNS)


def build_store(path: Path, calls: int, seed: int = 7) -> None:
    db = connect(path)
    db.execute("PRAGMA cache_size = -500000")
    span_sql = f"INSERT INTO spans ({', '.join(SPAN_COLUMNS)}) VALUES ({', '.join('?' * len(SPAN_COLUMNS))})"
    trace_sql = (
        f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)}) VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"
    )
    with db.conn:
        db.conn.execute("BEGIN")
        db.conn.execute(
            "INSERT INTO sources (id, path, format, size, mtime_ns, imported_at, span_count, skipped) "
            "VALUES (1, 'synthetic', 'synthetic', 0, 0, '', ?, 0)",
            (calls,),
        )
        for spans, trace in _rows(calls, seed):
            db.conn.executemany(span_sql, spans)
            db.conn.execute(trace_sql, trace)
    db.execute("ANALYZE")
    db.conn.close()


def store_for(calls: int, path: Path | None = None) -> Path:
    """The cached store for `calls` model calls, built on first use."""
    path = path or Path(tempfile.gettempdir()) / f"spanscope-bench-dashboard-{calls}.db"
    if not path.exists():
        started = time.perf_counter()
        print(f"building {path} with {calls:,} model calls ...", flush=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        build_store(partial, calls)
        partial.rename(path)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    return path
