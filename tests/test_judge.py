"""LLM judges end to end against a local OpenAI-compatible server: evaluator files, reading replies,
scores stored with the judge's call linked to the judged span, shown where scores show, bounded
concurrency, every fault a span's problem or the run's stop, and cancel."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest

from openai_server import Answer, Fault, OpenAICompatibleServer
from otlp import llm, request, span, write_jsonl
from spanscope.core.analysis.model_comparison import model_scores
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.judge.answer import UnreadableAnswer, json_objects, read_answer
from spanscope.core.judge.evaluator import (
    EvaluatorError,
    ScoreSchema,
    builtin_evaluators,
    find_evaluator,
    load_evaluator,
)
from spanscope.core.judge.run import JudgeArgs, JudgeRun, Progress, is_judge_trace, run
from spanscope.core.judge.targets import Selection, select_in_traces, select_spans
from spanscope.core.store import connect, import_files
from spanscope.core.store.queries import get_span, list_traces
from spanscope.core.store.replays import replay_origin, replays_of
from spanscope.core.store.usage import UsageFilter

TRACES = [f"{n:032x}" for n in range(1, 7)]
ANSWERED_MODEL = "gpt-4o-mini"
ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two numbers",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
    },
}


def recorded_calls(path: Path, traces: list[str] = TRACES) -> Path:
    """An OTLP file: per trace, an agent span over one model call with a question and its answer;
    the first trace's call also holds an Inspect target (a reference answer), the second's a tool."""
    lines = []
    for n, trace in enumerate(traces):
        attrs = {"input.value": f"What is {n} + {n}?", "output.value": f"It is {2 * n}."}
        if n == 0:
            attrs["inspect.target"] = "0"
        if n == 1:
            attrs["llm.tools.0.tool.json_schema"] = json.dumps(ADD_TOOL)
        lines.append(
            request(
                span("a" * 15 + str(n), trace=trace, name="agent", start=n * 10_000, end=n * 10_000 + 5_000),
                llm(
                    "c" * 15 + str(n),
                    "a" * 15 + str(n),
                    ANSWERED_MODEL,
                    10,
                    5,
                    trace=trace,
                    name="chat",
                    start=n * 10_000 + 1_000,
                    end=n * 10_000 + 4_000,
                    attrs=attrs,
                ),
            )
        )
    return write_jsonl(path, *lines)


@pytest.fixture
def store(tmp_path) -> Path:
    db = tmp_path / "store.db"
    import_files(db, [recorded_calls(tmp_path / "calls.jsonl")])
    return db


class State:
    """The plain state `run` is handed: what it reported, and a cancel the test sets."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.reports: list[Progress] = []
        self.cancel_after = cancel_after
        self.stop = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self.stop.is_set()

    def report(self, value: object, final: bool = False) -> None:
        assert isinstance(value, Progress)
        self.reports.append(value)
        if self.cancel_after is not None and value.done >= self.cancel_after:
            self.stop.set()


def targets(store: Path, **kw) -> list[tuple[str, str]]:
    db = connect(store, readonly=True)
    return select_spans(db, lambda t: is_judge_trace(db, t), **kw).targets


def judge(store: Path, server: OpenAICompatibleServer, evaluator="helpfulness", state=None, **kw) -> JudgeRun:
    endpoint = kw.pop("endpoint", Endpoint("test", server.base_url, max_retries=0))
    chosen = kw.pop("targets", None) or targets(store)
    args = JudgeArgs(store, find_evaluator(evaluator), endpoint, "judge-model", chosen, **kw)
    return run(args, state or State())


def answer(score, reasoning="Because.") -> Answer:
    return Answer(text=json.dumps({"reasoning": reasoning, "score": score}))


def stored_judgements(store: Path) -> tuple[list, list]:
    """(scores given by judges, judge traces) in the store."""
    db = connect(store, readonly=True)
    scores = [
        (s.trace_id, s.span_id, score)
        for s in (get_span(db, t, f"{'c' * 15}{n}") for n, t in enumerate(TRACES))
        for score in s.scores
        if (score.source or "").startswith("LLM judge")
    ]
    judges = [row for t in TRACES for row in replays_of(db, t) if row.purpose == "judge"]
    return scores, judges


# --- evaluator files -------------------------------------------------------------------------------


def test_the_built_in_evaluators_load_by_name_each_with_its_schema():
    found = {e.name: e for e in builtin_evaluators()}
    assert set(found) == {"correctness", "helpfulness", "tool-use"}
    assert found["correctness"].score.kind == "boolean" and found["correctness"].needs_reference
    assert (found["helpfulness"].score.minimum, found["helpfulness"].score.maximum) == (1, 5)
    assert found["tool-use"].score.values["wrong_tool"] == 0.0
    assert find_evaluator("helpfulness") == found["helpfulness"]
    with pytest.raises(EvaluatorError, match="no evaluator named 'helpfulnes': use one of correctness"):
        find_evaluator("helpfulnes")


def test_an_evaluator_file_is_read_by_path(tmp_path):
    path = tmp_path / "tone.toml"
    path.write_text(
        'prompt = "Is {{ output }} polite?"\n[score]\ntype = "labels"\nlabels = ["polite", "rude"]\n'
    )
    evaluator = find_evaluator(str(path))
    assert (evaluator.name, evaluator.score.labels, evaluator.origin) == (
        "tone",
        ("polite", "rude"),
        str(path),
    )
    assert evaluator.render("q", "Thanks {{input}}", None) == "Is Thanks {{input}} polite?"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('prompt = "{{output}}"\n[score\ntype = "boolean"\n', "bad.toml, line 2: not valid TOML"),
        (
            'prompt = """\nJudge\n{{outptu}}\n"""\n[score]\ntype = "boolean"\n',
            'line 3: unknown placeholder "{{outptu}}"',
        ),
        (
            'prompt = "{{output}}"\n[score]\ntype = "labels"\nlabels = []\n',
            "line 4: [score] labels must be a non-empty",
        ),
        (
            'prompt = "{{output}}"\n[score]\ntype = "labels"\nlabels = ["a", "A"]\n',
            "must differ from each other",
        ),
        (
            'prompt = "{{output}}"\n[score]\ntype = "labels"\nlabels = ["a"]\nvalues = { b = 1 }\n',
            'line 5: [score] values names "b", which is not one of the labels',
        ),
        ('promt = "{{output}}"\n[score]\ntype = "boolean"\n', 'line 1: unknown key "promt" in the evaluator'),
        ('[score]\ntype = "boolean"\n', '"prompt" is missing'),
        (
            'prompt = "Say hi"\n[score]\ntype = "boolean"\n',
            "line 1: the prompt uses neither {{input}} nor {{output}}",
        ),
        (
            'prompt = "{{output}}"\n[score]\ntype = "stars"\n',
            "line 3: [score] type must be one of boolean, scale, labels",
        ),
        (
            'prompt = "{{output}}"\n[score]\ntype = "scale"\nmin = 5\nmax = 1\n',
            "line 5: [score] max (1) must be above min (5)",
        ),
        ('prompt = "{{output}}"\n', "the [score] table is missing"),
    ],
)
def test_a_bad_evaluator_file_names_the_file_the_line_and_the_reason(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(EvaluatorError) as caught:
        load_evaluator(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


# --- reading replies -------------------------------------------------------------------------------


def test_a_verdict_is_read_from_plain_json_prose_or_a_code_fence():
    scale = ScoreSchema("scale", minimum=1, maximum=5)
    assert read_answer('{"reasoning": "ok", "score": 4}', scale).value == 4.0
    fenced = 'Here is my verdict:\n```json\n{"reasoning": "clear {and} short", "score": "5"}\n```\nThanks!'
    assert (read_answer(fenced, scale).value, read_answer(fenced, scale).reasoning) == (
        5.0,
        "clear {and} short",
    )
    boolean = ScoreSchema("boolean")
    assert (read_answer('{"score": false, "reasoning": "wrong"}', boolean).label) == "fail"
    assert (read_answer('{"score": "PASS"}', boolean).value) == 1.0
    labels = ScoreSchema("labels", labels=("right_tool", "wrong_tool"), values={"right_tool": 1.0})
    verdict = read_answer('{"reasoning": "r", "label": "Wrong_Tool"}', labels)
    assert (verdict.label, verdict.value) == ("wrong_tool", None)
    assert json_objects('a {"x": 1} b {broken c {"y": 2}') == [{"x": 1}, {"y": 2}]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I think it is good. " * 30, "holds no JSON object: 'I think it is good."),
        ('{"reasoning": "fine"}', 'has no "score"'),
        ('{"reasoning": "fine", "score": 9}', "score 9 is not a number from 1 to 5"),
        ('{"reasoning": "fine", "score": "great"}', "score 'great' is not a number from 1 to 5"),
    ],
)
def test_a_reply_without_a_verdict_says_why_and_quotes_its_first_200_characters(reply, message):
    with pytest.raises(UnreadableAnswer) as caught:
        read_answer(reply, ScoreSchema("scale"))
    assert message in str(caught.value)
    assert repr(reply[:200]) in str(caught.value)
    assert str(caught.value).endswith("…") == (len(reply) > 200)


# --- running ---------------------------------------------------------------------------------------


def test_scores_are_stored_as_scripted_with_their_judge_traces_linked(store):
    with OpenAICompatibleServer() as server:
        scripted = [3, 5, 1, 4, 2, 5]
        server.answers.extend(answer(s, f"Reason {s}.\nMore detail.") for s in scripted)
        result = judge(store, server, concurrency=1)
        sent = server.requests
    assert result.failures == [] and not result.cancelled and result.stopped is None
    assert len(result.scored) == 6
    # newest first: the last trace's call got the first scripted answer
    expected = dict(zip(reversed(TRACES), scripted, strict=True))
    scores, judges = stored_judgements(store)
    assert {t: score.value for t, _, score in scores} == expected
    for trace_id, span_id, score in scores:
        assert score.name == "helpfulness" and score.label is None
        assert score.comment == f"Reason {int(score.value)}.\nMore detail."
        assert score.source == "LLM judge judge-model"
        (link,) = [row for row in judges if row.of_trace_id == trace_id]
        assert (link.trace_id, link.of_span_id, link.model) == (score.key, span_id, "judge-model")
    db = connect(store, readonly=True)
    origin = replay_origin(db, scores[0][2].key)
    assert [(o.purpose, o.of_trace_id) for o in origin] == [("judge", scores[0][0])]
    judge_call = get_span(db, scores[0][2].key, origin[0].span_id)
    assert judge_call.output[0]["content"] == json.dumps(
        {"reasoning": scores[0][2].comment, "score": expected[scores[0][0]]}
    )
    assert "What is" in judge_call.input[1]["content"]
    # the prompt held the span's input and output; the answer's schema was asked for
    assert "[user] What is 5 + 5?" not in sent[0]["messages"][1]["content"]  # plain text input
    assert (
        "What is 5 + 5?" in sent[0]["messages"][1]["content"]
        and "It is 10." in sent[0]["messages"][1]["content"]
    )
    assert sent[0]["response_format"]["json_schema"]["schema"]["properties"]["score"]["enum"] == [
        1,
        2,
        3,
        4,
        5,
    ]
    # a judge's own call is never judged
    assert sorted(targets(store)) == sorted(("%032x" % (n + 1), "c" * 15 + str(n)) for n in range(6))


def test_a_selection_passes_over_the_judges_own_calls_and_keeps_to_its_limit(store):
    with OpenAICompatibleServer() as server:
        server.answers.extend(answer(3) for _ in range(6))
        judge(store, server)
    db = connect(store, readonly=True)
    judged = lambda trace_id: is_judge_trace(db, trace_id)  # noqa: E731
    # the six judge calls are the newest model calls: the search is asked again for more
    newest = select_spans(db, judged, limit=2)
    assert newest == Selection([(TRACES[5], "c" * 15 + "5"), (TRACES[4], "c" * 15 + "4")], True)
    in_traces = select_in_traces(db, judged, [TRACES[0], TRACES[1], TRACES[2]], limit=2)
    assert in_traces == Selection([(TRACES[0], "c" * 15 + "0"), (TRACES[1], "c" * 15 + "1")], True)
    assert select_in_traces(db, judged, [TRACES[2]], filter_text="kind:tool").targets == []
    assert select_in_traces(db, judged, [TRACES[2]], filter_text="kind:span").targets == [
        (TRACES[2], "a" * 15 + "2")
    ]
    assert select_spans(db, judged, filter_text="kind:span", limit=10).targets == [
        (t, "a" * 15 + str(n)) for n, t in reversed(list(enumerate(TRACES)))
    ]


def test_judged_scores_show_in_the_scores_tab_the_trace_list_and_compare_models(store):
    with OpenAICompatibleServer() as server:
        server.answers.extend(answer(s) for s in (4, 2, 4, 2, 4, 2))
        judge(store, server, concurrency=1)
    db = connect(store, readonly=True)
    call = get_span(db, TRACES[5], "c" * 15 + "5")
    assert [(s.name, s.display_value(), s.given_by) for s in call.scores] == [
        ("helpfulness", "4", "LLM judge judge-model")
    ]
    rows = {t.trace_id: t for t in list_traces(db)}
    assert rows[TRACES[5]].scores == "helpfulness 4" and rows[TRACES[4]].scores == "helpfulness 2"
    assert model_scores(db, UsageFilter())[ANSWERED_MODEL] == {"helpfulness": (3.0, 6)}


def test_a_reference_goes_into_the_prompt_and_spans_without_one_are_not_sent(store):
    with OpenAICompatibleServer() as server:
        server.answers.append(Answer(text=json.dumps({"reasoning": "It says 0.", "score": True})))
        result = judge(store, server, "correctness")
        assert len(server.requests) == 1
        assert "<reference>\n0\n</reference>" in server.requests[0]["messages"][1]["content"]
    assert [(j.trace_id, j.score.label, j.score.value) for j in result.scored] == [(TRACES[0], "pass", 1.0)]
    assert len(result.failures) == 5
    assert {j.problem for j in result.failures} == {
        "no reference answer for this span (the evaluator compares with one)"
    }


def test_the_tools_a_call_could_call_go_into_the_prompt(store):
    with OpenAICompatibleServer() as server:
        server.answers.extend(
            Answer(text=json.dumps({"reasoning": "r", "label": "missing_tool"})) for _ in range(2)
        )
        chosen = [(TRACES[1], "c" * 15 + "1"), (TRACES[2], "c" * 15 + "2")]
        result = judge(store, server, "tool-use", targets=chosen, concurrency=1)
        prompts = [r["messages"][1]["content"] for r in server.requests]
    assert [(j.score.label, j.score.value) for j in result.scored] == [("missing_tool", 0.0)] * 2
    assert '<tools>\n- add: Add two numbers\n  parameters: {"type":"object","properties":{"a":' in prompts[0]
    assert "<tools>\n(none recorded)\n</tools>" in prompts[1]


def test_concurrency_is_held_to_its_word(store):
    with OpenAICompatibleServer(delay_s=0.15) as server:
        server.answers.extend(answer(3) for _ in range(6))
        result = judge(store, server, concurrency=2)
        assert server.max_concurrent == 2
    with OpenAICompatibleServer(delay_s=0.15) as server:
        server.answers.extend(answer(3) for _ in range(6))
        judge(store, server, concurrency=4)
        assert server.max_concurrent == 4
    assert len(result.scored) == 6


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.RATE_LIMITED, "429 rate limited by http://127.0.0.1:"),
        (Fault.SERVER_ERROR, "500 server error from http://127.0.0.1:"),
        (Fault.STALL, "no answer from http://127.0.0.1:"),
        (Fault.MALFORMED_STREAM, "sent an answer that is not valid"),
        (Fault.CUT_STREAM, "ended before the answer was complete"),
    ],
)
def test_a_failed_call_is_that_spans_problem_and_stores_nothing_of_it(store, fault, message):
    with OpenAICompatibleServer(stall_s=1.5) as server:
        server.faults.append(fault)
        server.answers.extend(answer(4) for _ in range(6))  # a stalled or broken stream takes one
        endpoint = Endpoint("test", server.base_url, timeout_s=0.5, max_retries=0)
        result = judge(store, server, concurrency=1, endpoint=endpoint)
    (failed,) = result.failures
    assert message in failed.problem and "\n" not in failed.problem
    assert failed.trace_id == TRACES[5] and len(result.scored) == 5
    scores, judges = stored_judgements(store)
    assert len(scores) == len(judges) == 5
    assert TRACES[5] not in {t for t, _, _ in scores} | {row.of_trace_id for row in judges}


def test_an_unreadable_reply_is_that_spans_problem_quoting_it(store):
    with OpenAICompatibleServer() as server:
        server.answers.append(Answer(text="Sure! I would give it a solid four out of five."))
        server.answers.extend(answer(4) for _ in range(5))
        result = judge(store, server, concurrency=1)
    (failed,) = result.failures
    assert failed.problem == (
        "the judge's reply holds no JSON object: 'Sure! I would give it a solid four out of five.'"
    )
    scores, judges = stored_judgements(store)
    assert len(scores) == len(judges) == 5


def test_a_refused_key_stops_the_run_and_stores_nothing(store):
    with OpenAICompatibleServer(api_key="right") as server:
        result = judge(store, server, api_key="wrong", concurrency=2)
        assert len(server.requests) <= 2  # the calls under way when it was refused, no more
    assert result.stopped.startswith(f"401 from {server.base_url}: the API key was refused")
    assert "wrong" not in result.stopped
    assert result.scored == [] and stored_judgements(store) == ([], [])


def test_cancel_stops_the_run_and_keeps_what_was_stored(store):
    state = State(cancel_after=2)
    with OpenAICompatibleServer(delay_s=0.2) as server:
        server.answers.extend(answer(4) for _ in range(6))
        result = judge(store, server, state=state, concurrency=1)
        assert len(server.requests) <= 3
    assert result.cancelled and len(result.scored) == 2
    scores, judges = stored_judgements(store)
    assert len(scores) == len(judges) == 2
    assert state.reports[-1] == Progress(2, 6, 0)


class _NoSchemaServer(OpenAICompatibleServer):
    """An endpoint that refuses response_format with 400, as some OpenAI-compatible servers do."""

    def _handler(self):
        base = super()._handler()

        class Handler(base):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "response_format" in json.loads(body):
                    self._error(400, "response_format is not supported", "invalid_request_error")
                    return
                self.rfile = io.BytesIO(body)
                super().do_POST()

        return Handler


def test_an_endpoint_refusing_the_json_schema_is_asked_in_words(store):
    with _NoSchemaServer() as server:
        server.answers.extend(answer(5) for _ in range(6))
        result = judge(store, server, concurrency=1)
        assert len(server.requests) == 6 and "response_format" not in server.requests[0]
    assert len(result.scored) == 6


def test_a_huge_input_is_sent_capped_with_its_middle_said_left_out():
    from spanscope.core.judge.evaluator import builtin_evaluators
    from spanscope.core.judge.prompt import PLACEHOLDER_CHARS, judge_request
    from spanscope.core.model import Kind, Span

    huge = "start " + "x" * 5_000_000 + " end"
    judged = Span("a" * 32, "b" * 16, None, "chat", 0, 1, kind=Kind.LLM, input=huge, output="fine")
    evaluator = next(e for e in builtin_evaluators() if e.name == "helpfulness")
    prompt = judge_request(evaluator, "judge-model", judged, None).messages[-1]["content"]
    assert len(prompt) < PLACEHOLDER_CHARS + 10_000
    assert (
        "start " in prompt
        and " end" in prompt
        and f"{len(huge) - PLACEHOLDER_CHARS:,} characters left out" in prompt
    )
    assert "fine" in prompt
