"""The message table: every reason reads in both languages with the same values."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from build_tools.messages import REASONS, Reason

CJK = re.compile(r"[\u4e00-\u9fff]")
CJK_WORD = re.compile(r"[\u4e00-\u9fff]{2}")


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


def _texts(tree: ast.AST) -> list[ast.Constant]:
    """A module's string constants, f-strings' parts included; not docstrings (a string standing
    alone as a statement: of a module, class or function, or after an assignment)."""
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_every_chinese_text_a_page_shows_comes_from_the_message_table():
    """The pages' writers (render/) and the MkDocs adapter (hooks/) hold no Chinese of their own: what a
    reader sees is written once, in messages.py."""
    root = Path(__file__).resolve().parent.parent
    modules = sorted((root / "build_tools" / "render").glob("*.py")) + sorted((root / "hooks").glob("*.py"))
    assert len(modules) > 10
    found = [
        f"{path.relative_to(root)}:{node.lineno}: {node.value[:40]!r}"
        for path in modules
        for node in _texts(ast.parse(path.read_text(encoding="utf-8")))
        if CJK_WORD.search(node.value)  # words, not a character range of a pattern
    ]
    assert found == []


def test_a_name_in_a_reason_cannot_reverse_the_words_around_it():
    """A title holding RIGHT-TO-LEFT OVERRIDE (and a lone POP DIRECTIONAL ISOLATE) reversed the
    health page's `」？）` and counts after it: on the site each name is isolated, its own direction
    controls left out; `kb … --json` (English) and `chinese()` keep the name as written."""
    title = "开源报告\u202eXYZ\u2069"
    reason = Reason.of("not_in_corpus").followed_by(Reason.of("did_you_mean", name=title))
    shown = reason.chinese(isolated=True)
    assert "\u2068开源报告XYZ\u2069" in shown and "\u202e" not in shown
    assert shown.count("\u2068") == shown.count("\u2069") == 1
    assert title in reason.chinese() and repr(title) in reason.english()
