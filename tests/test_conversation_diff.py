"""Conversation diffs: what an LLM call's input adds, drops or edits since the previous call."""

from spanscope.core.diff.conversation_diff import diff_messages, message_text, word_diff
from spanscope.core.model import message

SYSTEM = message("system", "You are helpful.")
USER = message("user", "Weather in Lisbon?")
CALL = message(
    "assistant", "Checking.", [{"id": "c1", "name": "get_weather", "arguments": {"city": "Lisbon"}}]
)
RESULT = message("tool", '{"temp": 18}', tool_call_id="c1")


def kinds(changes):
    return [(c.kind, c.index) for c in changes]


def test_first_call_has_every_message_added():
    assert kinds(diff_messages(None, [SYSTEM, USER])) == [("added", 0), ("added", 1)]


def test_identical_conversations_are_all_same():
    changes = diff_messages([SYSTEM, USER], [SYSTEM, USER])
    assert kinds(changes) == [("same", 0), ("same", 1)]
    assert changes[1].before is USER and changes[1].after is USER


def test_agent_loop_appends_the_tool_call_and_its_result():
    changes = diff_messages([SYSTEM, USER], [SYSTEM, USER, CALL, RESULT])
    assert kinds(changes) == [("same", 0), ("same", 1), ("added", 2), ("added", 3)]
    assert changes[3].after["tool_call_id"] == "c1"


def test_trimmed_history_shows_removed_messages_at_their_old_place():
    changes = diff_messages([SYSTEM, USER, CALL, RESULT], [SYSTEM, RESULT])
    assert kinds(changes) == [("same", 0), ("removed", 1), ("removed", 2), ("same", 1)]
    assert changes[1].before is USER and changes[1].after is None


def test_rewritten_message_of_the_same_role_is_edited():
    edited = message("system", "You are terse.")
    changes = diff_messages([SYSTEM, USER], [edited, USER])
    assert kinds(changes) == [("edited", 0), ("same", 1)]
    assert changes[0].before is SYSTEM and changes[0].after is edited


def test_replaced_message_of_another_role_is_removed_and_added():
    changes = diff_messages([SYSTEM, USER], [SYSTEM, message("assistant", "Hi")])
    assert kinds(changes) == [("same", 0), ("removed", 1), ("added", 1)]


def test_tool_messages_differ_by_result_and_by_call_id():
    other_result = message("tool", '{"temp": 18}', tool_call_id="c2")
    assert kinds(diff_messages([RESULT], [other_result])) == [("edited", 0)]
    assert kinds(diff_messages([RESULT], [message("tool", '{"temp": 20}', tool_call_id="c1")])) == [
        ("edited", 0)
    ]


def test_tool_call_arguments_count_as_content():
    moved = message(
        "assistant", "Checking.", [{"id": "c1", "name": "get_weather", "arguments": {"city": "Porto"}}]
    )
    assert kinds(diff_messages([CALL], [moved])) == [("edited", 0)]
    assert message_text(CALL) == 'Checking.\nget_weather({"city": "Lisbon"})'


def test_structured_content_parts_are_read_as_text():
    parts = message("user", [{"type": "text", "text": "Weather in Lisbon?"}])
    assert kinds(diff_messages([USER], [parts])) == [("same", 0)]


def test_word_diff_marks_changed_words():
    assert word_diff("You are helpful.", "You are terse.") == [
        ("same", "You are "),
        ("removed", "helpful."),
        ("added", "terse."),
    ]
