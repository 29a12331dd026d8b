"""Measure search quality on a question set: Recall@1, Recall@5 and MRR@10 per ranker,
and how often search says "no good match" where it should and where it should not.

A question file has one question a line: ``question<TAB>expected[<TAB>expected...]``.
Each expected string is text that a right passage contains; when the answer stands in
several documents a line lists several, and any of them counts. A line whose only
expected string is ``-`` is off-topic: the documents do not answer it, and the right
answer is "no good match".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from kb.embedding import Embedder
from kb.search import VectorIndex, search

OFF_TOPIC = "-"


class QuestionFileError(ValueError):
    """A question file line that is not ``question<TAB>expected[<TAB>expected...]``."""


@dataclass(frozen=True)
class Question:
    """A question and the strings a passage answering it contains (any one counts).

    No expected strings: the question is off-topic and the right answer is "no good match".
    """

    text: str
    expected: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        """Whether the documents answer this question."""
        return bool(self.expected)


@dataclass
class Scores:
    """Quality of one ranker over the answerable questions of a set."""

    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float

    def as_dict(self) -> dict[str, float]:
        """The JSON form used by ``kb eval --json``."""
        return {
            "recall@1": round(self.recall_at_1, 4),
            "recall@5": round(self.recall_at_5, 4),
            "mrr@10": round(self.mrr_at_10, 4),
        }


@dataclass
class EvalReport:
    """Scores per ranker (dense is None without a model), passage length, misses, and the
    "no good match" shares of the default ranker.

    Attributes:
        answerable: how many questions the documents answer.
        off_topic: how many are off-topic.
        off_topic_flagged: the share of off-topic questions answered "no good match"
            (None when the set has none).
        answerable_flagged: the share of answerable questions wrongly answered so.
    """

    lexical: Scores
    dense: Scores | None
    hybrid: Scores
    mean_passage_chars: float
    misses: list[dict[str, str]] = field(default_factory=list)
    answerable: int = 0
    off_topic: int = 0
    off_topic_flagged: float | None = None
    answerable_flagged: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """The one-line JSON object ``kb eval --json`` prints."""
        return {
            "lexical": self.lexical.as_dict(),
            "dense": self.dense.as_dict() if self.dense else None,
            "hybrid": self.hybrid.as_dict(),
            "mean_passage_chars": round(self.mean_passage_chars, 1),
            "misses": self.misses,
            "answerable": self.answerable,
            "off_topic": self.off_topic,
            "off_topic_flagged": (
                None if self.off_topic_flagged is None else round(self.off_topic_flagged, 4)
            ),
            "answerable_flagged": round(self.answerable_flagged, 4),
        }


def load_questions(path: Path) -> list[Question]:
    """Read a question file (see the module docstring); blank lines and ``#`` comments
    are skipped.

    Raises:
        QuestionFileError: a line without a question or an expected string, or one that
            mixes ``-`` with expected strings; the message names the file and line.
    """
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        question, *rest = line.split("\t")
        expected = [part.strip() for part in rest if part.strip()]
        if not question.strip() or not expected:
            raise QuestionFileError(
                f"{path}:{number}: 每行应为“问题<Tab>答案所在段落包含的文字”"
                "（可再加 <Tab> 列出其他文件中的答案；无答案的问题写 -）"
            )
        if OFF_TOPIC in expected and len(expected) > 1:
            raise QuestionFileError(f"{path}:{number}: “-”表示没有答案，不能与答案文字同列")
        questions.append(
            Question(question.strip(), () if expected == [OFF_TOPIC] else tuple(expected))
        )
    return questions


def _flat(text: str) -> str:
    return "".join(text.split())


def answer_text(heading_path: str, text: str) -> str:
    """What a hit shows as its answer: its own heading, then the passage.

    An answer that is a heading (``l、全面学习``) is found when search returns a passage
    standing directly under it.
    """
    return f"{heading_path.split(' › ')[-1]}\n{text}"


def rank_of(texts: Sequence[str], expected: Sequence[str]) -> int | None:
    """The 1-based rank of the first text containing any expected string (spaces ignored)."""
    needles = [_flat(e) for e in expected]
    for rank, text in enumerate(texts, start=1):
        flat = _flat(text)
        if any(needle in flat for needle in needles):
            return rank
    return None


def score_ranks(values: Sequence[int | None]) -> Scores:
    """Recall@1, Recall@5 and MRR@10 from each question's rank (None: not found)."""
    n = max(len(values), 1)
    return Scores(
        sum(1 for r in values if r is not None and r <= 1) / n,
        sum(1 for r in values if r is not None and r <= 5) / n,
        sum(1 / r for r in values if r is not None and r <= 10) / n,
    )


def evaluate(
    db: sqlite_utils.Database,
    questions: list[Question],
    embedder: Embedder | None,
    index: VectorIndex | None = None,
    k: int = 10,
) -> EvalReport:
    """Run every question through each available ranker and score them.

    Recall and MRR count the answerable questions; the "no good match" shares are those
    of the default ranker (hybrid, or lexical without a model), the one the search page
    uses.
    """
    index = index or VectorIndex()
    methods = ["lexical", "hybrid"] + (["dense"] if embedder is not None else [])
    ranks: dict[str, list[int | None]] = {m: [] for m in methods}
    passage_chars: list[int] = []
    misses: list[dict[str, str]] = []
    flagged = {True: 0, False: 0}
    for question in questions:
        for method in methods:
            result = search(
                db, question.text, embedder=embedder, index=index, k=max(k, 10), method=method
            )
            if method == "hybrid":
                flagged[question.answerable] += result.weak
            if not question.answerable:
                continue
            texts = [answer_text(hit.heading_path, hit.text) for hit in result.hits]
            rank = rank_of(texts, question.expected)
            ranks[method].append(rank)
            if method == "hybrid":
                passage_chars.extend(len(hit.text) for hit in result.hits[:k])
                if rank is None or rank > k:
                    misses.append(
                        {
                            "question": question.text,
                            "expected": " | ".join(question.expected),
                            "top": result.hits[0].text if result.hits else "",
                        }
                    )
    answerable = sum(1 for q in questions if q.answerable)
    off_topic = len(questions) - answerable
    return EvalReport(
        lexical=score_ranks(ranks["lexical"]),
        dense=score_ranks(ranks["dense"]) if "dense" in ranks else None,
        hybrid=score_ranks(ranks["hybrid"]),
        mean_passage_chars=sum(passage_chars) / max(len(passage_chars), 1),
        misses=misses,
        answerable=answerable,
        off_topic=off_topic,
        off_topic_flagged=flagged[False] / off_topic if off_topic else None,
        answerable_flagged=flagged[True] / max(answerable, 1),
    )
