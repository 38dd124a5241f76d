"""`spanscope serve`: an OTLP/HTTP receiver that stores the spans running apps send it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from spanscope.cli.errors import EXIT_OK, EXIT_PARTIAL, UsageError
from spanscope.cli.stores import Subparsers, command_parser
from spanscope.core.receiver import DEFAULT_PORT, OtlpReceiver
from spanscope.core.store import default_store_path
from spanscope.core.store.live import SpanSink


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers, "serve", "receive spans from running apps over OTLP/HTTP (POST /v1/traces) into a store"
    )
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT})")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl+C)")
    return p


def run(args: argparse.Namespace) -> int:
    """Receive spans over OTLP/HTTP until interrupted, then store what is still pending."""
    db = Path(args.db) if args.db else default_store_path()
    try:
        sink = SpanSink(db, f"otlp-http://{args.host}:{args.port}")
    except OSError as exc:
        raise UsageError(f"cannot open the store {db}: {exc}") from exc
    try:
        receiver = OtlpReceiver(sink, args.host, args.port)
    except OSError as exc:
        sink.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    receiver.start()
    print(f"listening on {receiver.address} (OTLP/HTTP, JSON or protobuf); store: {db}", file=sys.stderr)
    print(f"point an app at it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={receiver.address}", file=sys.stderr)
    print(
        f"and for GenAI message events: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT={receiver.logs_address}",
        file=sys.stderr,
    )
    shown = None
    try:
        while args.seconds is None or args.seconds > 0:
            time.sleep(1.0 if args.seconds is None else min(1.0, args.seconds))
            if args.seconds is not None:
                args.seconds -= 1.0
            counts = _serve_counts(receiver, sink)
            if counts != shown and sys.stderr.isatty():
                print(f"\r\033[K{counts}", end="", file=sys.stderr, flush=True)
            shown = counts
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
        sink.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(_serve_counts(receiver, sink), file=sys.stderr)
    return EXIT_OK if sink.stats().spans_failed == 0 else EXIT_PARTIAL


def _serve_counts(receiver: OtlpReceiver, sink: SpanSink) -> str:
    r, s = receiver.stats(), sink.stats()
    text = (
        f"{r.requests:,} requests, {r.spans_accepted:,} spans and {r.logs_accepted:,} log records accepted, "
        f"{s.spans_stored:,} stored"
    )
    if r.spans_rejected or r.bad_requests:
        text += f", {r.spans_rejected:,} spans rejected, {r.bad_requests:,} bad requests"
    if s.last_error:
        text += f" ({s.last_error})"
    return text
