"""Full-text search over a million spans: indexing throughput, index size, and query latency.

    python benchmarks/bench_search.py [--spans 1000000] [--store S] [--rounds 3]

Builds (once, cached in the temp dir) a store of `--spans` spans with LLM-like text written straight
into the schema, payloads packed and compressed in chunks as the importer does (generation is not
measured). A copy of it is then indexed from scratch with `build_index` (spans/s), the index's size
is set against the store's, and each query below is run `--rounds` times through `search()` (the
best 50 hits with snippets, plus the capped count); the median is reported. Target: well under 1 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from spanscope.core.conventions import DERIVATION
from spanscope.core.search.find import search
from spanscope.core.search.index import build_index
from spanscope.core.store import connect, payload
from spanscope.core.store.documents import VERSION_KEY
from spanscope.core.store.schema import SPAN_COLUMNS, TRACE_COLUMNS

SPANS_PER_TRACE = 8
KINDS = ("CHAIN", "RETRIEVER", "LLM", "TOOL", "LLM", "TOOL", "LLM", "CHAIN")
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "gemini-1.5-pro")
#: A word in 10,000 spans, a phrase in 1 of 20, an error in 1 of 30 tool calls.
RARE, PHRASE = "zanzibar", "refund policy"
VOCABULARY = 20_000
TARGET_S = 1.0


def _vocabulary(rng: np.random.Generator) -> np.ndarray:
    syllables = np.array(
        ["ka", "lo", "mi", "ren", "sto", "va", "qu", "el", "dor", "fin", "ta", "nu", "pe", "ri"]
    )
    words = {"".join(rng.choice(syllables, size=rng.integers(2, 5))) for _ in range(VOCABULARY * 2)}
    return np.array(sorted(words)[:VOCABULARY])


class _Words:
    """Zipf-distributed text (a few words everywhere, most rare), drawn from one large sample."""

    POOL = 5_000_000

    def __init__(self, rng: np.random.Generator) -> None:
        self.words = _vocabulary(rng).tolist()
        weights = 1.0 / np.arange(1, len(self.words) + 1)
        self.pool = rng.choice(len(self.words), size=self.POOL, p=weights / weights.sum()).tolist()
        self.at = 0
        self.step = 7919  # a prime: each pass over the pool starts somewhere new

    def text(self, count: int) -> str:
        if self.at + count > self.POOL:
            self.at = (self.at + self.step) % (self.POOL - count)
        picked = self.pool[self.at : self.at + count]
        self.at += count
        return " ".join(map(self.words.__getitem__, picked))


def _traces(spans: int, seed: int) -> Iterator[tuple[list[dict], list[dict], tuple]]:
    rng = np.random.default_rng(seed)
    words = _Words(rng)
    n = 0
    for t in range(spans // SPANS_PER_TRACE):
        trace_id = f"{rng.integers(2**63):016x}{t:016x}"
        start = 1_730_000_000_000_000_000 + t * 10**9
        rows, docs = [], []
        for i, kind in enumerate(KINDS):
            n += 1
            question = words.text(60)
            answer = words.text(40)
            if n % 10_000 == 0:
                question += f" {RARE}"
            if n % 19 == 0:
                answer += f" our {PHRASE} applies"
            error = kind == "TOOL" and n % 30 == 0
            model = MODELS[n % len(MODELS)] if kind == "LLM" else None
            row = dict.fromkeys(SPAN_COLUMNS)
            row.update(
                trace_id=trace_id,
                span_id=f"{n:016x}",
                parent_id=None if i == 0 else f"{n - i:016x}",
                name=f"{kind.lower()}_{i}",
                kind=kind,
                start_ns=start + i * 1000,
                end_ns=start + i * 1000 + 500,
                status="error" if error else "ok",
                status_message="upstream timed out" if error else None,
                model=model,
                service="support-bot",
                source_id=1,
            )
            rows.append(row)
            attrs = {"session.id": f"s-{t // 5}", "tool.args": words.text(5), "model": model}
            doc = {"attributes": attrs, "input": question, "output": answer, "events": []}
            docs.append({VERSION_KEY: DERIVATION, **doc})
        trace = dict.fromkeys(TRACE_COLUMNS)
        trace.update(trace_id=trace_id, root_name="answer_question", start_ns=start, span_count=len(rows))
        yield rows, docs, tuple(trace[k] for k in TRACE_COLUMNS)


def build_store(path: Path, spans: int, seed: int = 11) -> None:
    db = connect(path)
    span_sql = f"INSERT INTO spans ({', '.join(SPAN_COLUMNS)}) VALUES ({', '.join('?' * len(SPAN_COLUMNS))})"
    trace_sql = (
        f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)}) VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"
    )
    chunk, pending_rows, chunk_id = [], [], 0
    with db.conn:
        db.conn.execute("BEGIN")
        db.conn.execute(
            "INSERT INTO sources (id, path, format, size, mtime_ns, imported_at, span_count, skipped) "
            "VALUES (1, 'synthetic', 'synthetic', 0, 0, '', ?, 0)",
            (spans,),
        )
        for rows, docs, trace in _traces(spans, seed):
            for row, doc in zip(rows, docs, strict=True):
                if len(chunk) == payload.CHUNK_SPANS:
                    chunk_id += 1
                    db.conn.execute(
                        "INSERT INTO chunks (id, data) VALUES (?, ?)", (chunk_id, _compress(chunk))
                    )
                    db.conn.executemany(span_sql, pending_rows)
                    chunk, pending_rows = [], []
                row.update(payload_chunk=chunk_id + 1, payload_index=len(chunk))
                chunk.append(doc)
                pending_rows.append(tuple(row[k] for k in SPAN_COLUMNS))
            db.conn.execute(trace_sql, trace)
        if chunk:
            db.conn.execute("INSERT INTO chunks (id, data) VALUES (?, ?)", (chunk_id + 1, _compress(chunk)))
            db.conn.executemany(span_sql, pending_rows)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()


def _compress(docs: list[dict]) -> bytes:
    return payload.compress_many([payload.pack(docs)])[0]


def store_for(spans: int, path: Path | None = None) -> Path:
    """The cached store of `spans` spans (never indexed), built on first use."""
    path = path or Path(tempfile.gettempdir()) / f"spanscope-bench-search-{spans}.db"
    if not path.exists():
        started = time.perf_counter()
        print(f"building {path} with {spans:,} spans ...", flush=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        build_store(partial, spans)
        partial.rename(path)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def _bytes(db_path: Path) -> int:
    db = connect(db_path, readonly=True)
    try:
        return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
    finally:
        db.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, help="the cached unindexed store (default: in the temp dir)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    source = store_for(args.spans, args.store)
    with tempfile.TemporaryDirectory(prefix="spanscope-bench-") as tmp:
        work = Path(tmp) / "store.db"
        shutil.copyfile(source, work)
        store_bytes = _bytes(work)
        started = time.perf_counter()
        status = build_index(work)
        seconds = time.perf_counter() - started
        connect(work).execute("PRAGMA wal_checkpoint(TRUNCATE)")
        index_bytes = _bytes(work) - store_bytes
        print(f"indexed {status.indexed:,} spans in {seconds:.1f} s: {status.indexed / seconds:,.0f} spans/s")
        print(
            f"store {store_bytes / 1e6:,.0f} MB without the index; index {index_bytes / 1e6:,.0f} MB "
            f"({index_bytes / store_bytes:.2f} x the store)"
        )
        db = connect(work, readonly=True)
        trace = db.execute("SELECT trace_id FROM traces LIMIT 1 OFFSET ?", (args.spans // 16,)).fetchone()[0]
        queries = (
            ("rare word", RARE),
            ("phrase", f'"{PHRASE}"'),
            ("prefix", "refu*"),
            ("common word", _common_word()),
            ("two words", "applies refund"),
            ("text + filters", "refund kind:llm model:gpt-4o*"),
            ("filters only", "kind:tool status:error"),
            ("text in a trace", f"{_common_word()} trace:{trace[:12]}"),
        )
        print(f"{'query':<16} {'text':<34} {'hits':>8} {'median':>9}")
        worst = 0.0
        for label, text in queries:
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                result = search(db, text, limit=50)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            worst = max(worst, median)
            count = f"{result.count:,}{'+' if result.more else ''}"
            print(f"{label:<16} {text[:34]:<34} {count:>8} {median * 1000:>7.0f} ms")
        print(f"slowest query: {worst * 1000:.0f} ms (target < {TARGET_S * 1000:.0f} ms)")


def _common_word() -> str:
    """The vocabulary's most frequent word (in nearly every span)."""
    return str(_vocabulary(np.random.default_rng(11))[0])


if __name__ == "__main__":
    main()
