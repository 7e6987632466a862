"""The strict JSON reader refuses lone surrogates, so no caller meets one when encoding later."""

import pytest

from keys import MalformedError, check_note_key_name, json_loads_strict


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDFFF", "\\udbff\\u0041", "x\\udc00"])
def test_strict_reader_refuses_lone_surrogates_anywhere(escape):
    for doc in (f'{{"a": "{escape}"}}', f'{{"{escape}": 1}}', f'[[1, ["{escape}"]]]'):
        with pytest.raises(MalformedError, match="surrogate"):
            json_loads_strict(doc.encode(), max_size=1000, what="t")
        with pytest.raises(MalformedError, match="surrogate"):
            json_loads_strict(doc, max_size=1000, what="t")


def test_strict_reader_keeps_pairs_and_escaped_backslashes():
    assert json_loads_strict('["\\ud83d\\ude00"]', max_size=100) == ["\U0001f600"]
    assert json_loads_strict('{"k": "\\\\ud800"}', max_size=100) == {"k": "\\ud800"}


def test_a_note_key_name_with_a_lone_surrogate_is_malformed():
    with pytest.raises(MalformedError, match="lone surrogate"):
        check_note_key_name("log\udcff.example")
