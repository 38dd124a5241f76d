"""`spanscope serve`: an OTLP/HTTP receiver that stores the spans running apps send it."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spanscope.cli.errors import EXIT_OK, UsageError
from spanscope.cli.stores import Subparsers, command_parser
from spanscope.core.presentation.display import duration
from spanscope.core.receiver import DEFAULT_PORT, OtlpReceiver
from spanscope.core.store import default_store_path
from spanscope.core.store.live import SpanSink

#: Where --token is read from when it is not given (a command line is visible to other users).
TOKEN_VARIABLE = "SPANSCOPE_TOKEN"
#: The signals that stop the receiver cleanly: every request already read is answered first.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers, "serve", "receive spans from running apps over OTLP/HTTP (POST /v1/traces) into a store"
    )
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT})")
    p.add_argument(
        "--token",
        default=os.environ.get(TOKEN_VARIABLE) or None,
        help=f"serve only requests bearing it: 'Authorization: Bearer TOKEN' (default: ${TOKEN_VARIABLE})",
    )
    p.add_argument(
        "--seconds", type=float, default=None, help="stop after this long (default: until Ctrl+C or SIGTERM)"
    )
    return p


def run(args: argparse.Namespace) -> int:
    """Receive spans over OTLP/HTTP until interrupted (SIGINT, SIGTERM, SIGHUP) or `--seconds` pass;
    every request read by then is answered, and every span acknowledged is stored."""
    if args.token is not None and not args.token.strip():
        raise UsageError("--token is empty")
    db = Path(args.db) if args.db else default_store_path()
    with _stop_on_signals() as stop:
        started = time.monotonic()
        try:
            sink = SpanSink(db, f"otlp-http://{args.host}:{args.port}")
        except OSError as exc:
            raise UsageError(f"cannot open the store {db}: {exc}") from exc
        try:
            receiver = OtlpReceiver(sink, args.host, args.port, args.token)
        except OSError as exc:
            sink.close()
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
        receiver.start()
        # What was made so far lives until exit: the cycle collector need not walk it again after
        # every request (about 7% of the receiver's CPU time, measured).
        gc.freeze()
        _introduce(receiver, db, args)
        shown = None
        try:
            deadline = None if args.seconds is None else started + args.seconds
            while not stop.wait(1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))):
                if deadline is not None and time.monotonic() >= deadline:
                    break
                counts = _serve_counts(receiver, sink)
                if counts != shown and sys.stderr.isatty():
                    print(f"\r\033[K{counts}", end="", file=sys.stderr, flush=True)
                shown = counts
        finally:
            receiver.stop()
            sink.close()
    if sys.stderr.isatty() and shown is not None:
        print(file=sys.stderr)
    print(_summary(receiver, sink, time.monotonic() - started), file=sys.stderr)
    return EXIT_OK


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT, SIGTERM or SIGHUP while the receiver runs (the previous handlers after)."""
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _introduce(receiver: OtlpReceiver, db: Path, args: argparse.Namespace) -> None:
    """Where to send spans, and a warning when others than this machine can."""
    print(f"listening on {receiver.address} (OTLP/HTTP, JSON or protobuf); store: {db}", file=sys.stderr)
    print(f"point an app at it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={receiver.address}", file=sys.stderr)
    print(
        f"and for GenAI message events: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT={receiver.logs_address}",
        file=sys.stderr,
    )
    if args.token:
        print("with the token: OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>", file=sys.stderr)
    if not _loopback_only(args.host):
        reach = f"any machine that can reach {args.host} port {receiver.port}"
        if args.token:
            print(
                f"warning: {reach} can send to this receiver; the token travels unencrypted (plain HTTP), "
                "so use it only on a network you trust",
                file=sys.stderr,
            )
        else:
            print(
                f"warning: {reach} can write spans into {db} without a token; "
                f"pass --token (or set {TOKEN_VARIABLE}) to require one",
                file=sys.stderr,
            )


def _loopback_only(host: str) -> bool:
    """Whether every address `host` stands for is a loopback one (127.0.0.0/8, ::1)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    return all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses)


def _serve_counts(receiver: OtlpReceiver, sink: SpanSink) -> str:
    r, s = receiver.stats(), sink.stats()
    text = f"{r.requests:,} requests, {r.spans_accepted:,} spans and {r.logs_accepted:,} log records stored"
    problems = _problems(r.rejected, r.bad_requests, r.refused, r.unauthorized)
    if problems:
        text += f"; {problems}"
    if s.last_error:
        text += f" (last store error: {s.last_error})"
    return text


def _summary(receiver: OtlpReceiver, sink: SpanSink, seconds: float) -> str:
    """What the session stored, on stop."""
    r, s = receiver.stats(), sink.stats()
    text = (
        f"stopped after {duration(int(seconds * 1e9))}: {s.spans_stored:,} spans in {s.traces:,} traces "
        f"and {s.logs_stored:,} log records stored from {r.requests:,} requests"
    )
    problems = _problems(r.rejected, r.bad_requests, r.refused, r.unauthorized)
    return f"{text}; {problems}" if problems else text


def _problems(rejected: int, bad: int, refused: int, unauthorized: int) -> str:
    parts = [
        f"{rejected:,} spans or log records rejected" if rejected else "",
        f"{bad:,} bad requests" if bad else "",
        f"{refused:,} requests refused while the store could not take them (503, retried by senders)"
        if refused
        else "",
        f"{unauthorized:,} requests without the token (401)" if unauthorized else "",
    ]
    return ", ".join(part for part in parts if part)
