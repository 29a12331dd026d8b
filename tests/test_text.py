"""base.text.fold: the one folding behind search terms, highlighting, quotes and fill answers."""

from __future__ import annotations

from base.text import fold
from kb.lexical import normalize
from kb.words import fold_chars
from quizzes.bank import normalize_quote
from quizzes.grading import normalize_fill


def test_fold_options():
    text = "ＡＢｃ　７０％\n全面 学习"
    assert fold(text) == "abc 70%\n全面 学习"
    assert fold(text, spaces=False) == "abc70%全面学习"
    assert fold(text, case=False, spaces=False) == "ABc70%全面学习"


def test_every_user_of_folding_folds_the_same_way():
    text = "Ｐｌａｎ　７０％ 学习"
    assert normalize(text) == fold(text)
    assert "".join(fold_chars(text)) == fold(text)
    assert normalize_quote(text) == fold(text, case=False, spaces=False)
    # fill answers fold further (punctuation, numerals, traditional characters) on top
    assert normalize_fill(text) == "plan70%学习"
