"""`jsonbody.loads`, the parser of every JSON request body the service takes: each input the
fuzzing found (deep nesting, huge integers, lone surrogates) and each one JSON does not allow
(NaN, Infinity, an overflowing number, bytes that are not UTF-8) is an InvalidInput naming the
field and the problem, never another exception."""

from __future__ import annotations

import pytest

from controlplane import jsonbody
from controlplane.errors import InvalidInput

REFUSED = {
    "nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64"),
    "an integer of 5,000 digits": (b'{"n": ' + b"9" * 5000 + b"}", "more than 4300 digits"),
    "NaN": (b'{"n": NaN}', "NaN is not a JSON number"),
    "-Infinity": (b'[1, -Infinity]', "-Infinity is not a JSON number"),
    "a number beyond a double": (b'{"n": 1e400}', "1e400 is too large"),
    "Latin-1 bytes": ('{"é": 1}'.encode("latin-1"), "not UTF-8 text: byte 2"),
    "an encoded surrogate": (b'["\xed\xa0\x80"]', "not UTF-8 text"),
    "a lone high surrogate": (b'{"labels": {"i": "a\\ud800"}}', "lone surrogate"),
    "a lone low surrogate in a key": (b'[{"\\uDC00": "x"}]', "lone surrogate"),
    "a reversed pair": (b'["\\udc00\\ud800"]', "lone surrogate"),
    "not JSON": (b"{oops", "not valid JSON"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_each_bad_body_is_invalid_input_naming_the_problem(case: str) -> None:
    body, expected = REFUSED[case]
    with pytest.raises(InvalidInput) as err:
        jsonbody.loads(body, field="(body)")
    assert err.value.field == "(body)" and expected in str(err.value)
    assert len(str(err.value)) < 300                    # the value is never echoed whole


def test_the_lone_surrogate_is_located() -> None:
    with pytest.raises(InvalidInput) as err:
        jsonbody.loads(b'[{"labels": {"ok": "x", "instance": "\\ud83d"}}]', field="(body)")
    assert "at [0].labels.instance" in str(err.value)


@pytest.mark.parametrize(("body", "value"), [
    (b'["\\ud83d\\ude00"]', ["\U0001F600"]),            # a surrogate pair is one character
    (b'["\\\\ud800"]', ["\\ud800"]),                    # an escaped backslash, then text
    (b'{"n": 1e308, "i": ' + b"9" * 4300 + b"}", {"n": 1e308, "i": int("9" * 4300)}),
    (b"", None),
])
def test_what_json_allows_still_parses(body: bytes, value: object) -> None:
    assert jsonbody.loads(body, empty=None) == value
