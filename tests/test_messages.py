"""The message table: every reason reads in both languages with the same values."""

from __future__ import annotations

import re
import string

import pytest

from build_tools.messages import REASONS, Reason

CJK = re.compile(r"[\u4e00-\u9fff]")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(REASONS))
def test_each_reason_has_the_same_values_in_both_languages(code):
    english, chinese = REASONS[code]
    assert fields(english) == fields(chinese)
    assert CJK.search(chinese) and not CJK.search(english)
    reason = Reason.of(code, **dict.fromkeys(fields(english), "x"))
    assert "{" not in reason.english() + reason.chinese()


def test_a_reason_is_english_for_scripts_and_chinese_for_readers():
    reason = Reason.of("no_file", name="paper.pdf", folder="files/001").followed_by(
        Reason.of("did_you_mean", name="Paper.pdf")
    )
    assert str(reason) == "no file 'paper.pdf' in files/001; did you mean 'Paper.pdf'?"
    assert reason.chinese() == "files/001 中没有文件「paper.pdf」；是否指「Paper.pdf」？"
    with pytest.raises(KeyError):
        Reason.of("no_such_code")
