"""The one sentence splitter: decimals, abbreviations and bullets do not end a sentence; a newline always does."""

from __future__ import annotations

import pytest

from pipeline.sentences import sentence_around, sentences


def texts(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Pay rose 6.2% more than last year. Demand doubled.",
            ["Pay rose 6.2% more than last year.", "Demand doubled."],
        ),
        ("The U.S. leads, e.g. in San Francisco. Next!", ["The U.S. leads, e.g. in San Francisco.", "Next!"]),
        (
            "- Senior engineers earn $180,000\n- Staff engineers earn more",
            ["- Senior engineers earn $180,000", "- Staff engineers earn more"],
        ),
        (
            "A heading without a stop\nThen a sentence.  And another one.",
            ["A heading without a stop", "Then a sentence.", "And another one."],
        ),
        ("\n\n  \n", []),
    ],
)
def test_sentences(text, expected):
    assert texts(text) == expected


def test_the_sentence_around_a_span_is_the_one_that_holds_it():
    text = "Intro line.\nJuniors earn $90K. Seniors in the U.S. earn $150K a year. Done."
    start = text.index("$150K")
    s, e = sentence_around(text, start, start + 5)
    assert text[s:e] == "Seniors in the U.S. earn $150K a year."
    across = text.index("earn $90K")
    s, e = sentence_around(text, across, text.index("Seniors") + 3)  # a span across two sentences gets both
    assert text[s:e] == "Juniors earn $90K. Seniors in the U.S. earn $150K a year."
