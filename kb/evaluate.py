"""Measure search quality on a question set: Recall@1, Recall@5 and MRR@10 per ranker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from kb.embedding import Embedder
from kb.search import VectorIndex, search


class QuestionFileError(ValueError):
    """A question file line that is not ``question<TAB>expected``."""


@dataclass(frozen=True)
class Question:
    """A question and a string that the passage answering it contains."""

    text: str
    expected: str


@dataclass
class Scores:
    """Quality of one ranker over a question set."""

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
    """Scores per ranker (dense is None without a model), passage length, and misses."""

    lexical: Scores
    dense: Scores | None
    hybrid: Scores
    mean_passage_chars: float
    misses: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The one-line JSON object ``kb eval --json`` prints."""
        return {
            "lexical": self.lexical.as_dict(),
            "dense": self.dense.as_dict() if self.dense else None,
            "hybrid": self.hybrid.as_dict(),
            "mean_passage_chars": round(self.mean_passage_chars, 1),
            "misses": self.misses,
        }


def load_questions(path: Path) -> list[Question]:
    """Read ``question<TAB>expected`` lines; blank lines and ``#`` comments are skipped."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise QuestionFileError(f"{path}:{number}: 每行应为“问题<Tab>答案所在段落包含的文字”")
        questions.append(Question(parts[0].strip(), parts[1].strip()))
    return questions


def _flat(text: str) -> str:
    return "".join(text.split())


def answer_text(heading_path: str, text: str) -> str:
    """What a hit shows as its answer: its own heading, then the passage.

    An answer that is a heading (``l、全面学习``) is found when search returns a passage
    standing directly under it.
    """
    return f"{heading_path.split(' › ')[-1]}\n{text}"


def _rank_of(texts: list[str], expected: str) -> int | None:
    needle = _flat(expected)
    for rank, text in enumerate(texts, start=1):
        if needle in _flat(text):
            return rank
    return None


def evaluate(
    db: sqlite_utils.Database,
    questions: list[Question],
    embedder: Embedder | None,
    index: VectorIndex | None = None,
    k: int = 10,
) -> EvalReport:
    """Run every question through each available ranker and score them."""
    index = index or VectorIndex()
    methods = ["lexical", "hybrid"] + (["dense"] if embedder is not None else [])
    ranks: dict[str, list[int | None]] = {m: [] for m in methods}
    passage_chars: list[int] = []
    misses: list[dict[str, str]] = []
    for question in questions:
        for method in methods:
            result = search(
                db, question.text, embedder=embedder, index=index, k=max(k, 10), method=method
            )
            texts = [answer_text(hit.heading_path, hit.text) for hit in result.hits]
            rank = _rank_of(texts, question.expected)
            ranks[method].append(rank)
            if method == "hybrid":
                passage_chars.extend(len(hit.text) for hit in result.hits[:k])
                if rank is None or rank > k:
                    misses.append(
                        {
                            "question": question.text,
                            "expected": question.expected,
                            "top": result.hits[0].text if result.hits else "",
                        }
                    )

    def score(values: list[int | None]) -> Scores:
        n = max(len(values), 1)
        return Scores(
            sum(1 for r in values if r is not None and r <= 1) / n,
            sum(1 for r in values if r is not None and r <= 5) / n,
            sum(1 / r for r in values if r is not None and r <= 10) / n,
        )

    return EvalReport(
        lexical=score(ranks["lexical"]),
        dense=score(ranks["dense"]) if "dense" in ranks else None,
        hybrid=score(ranks["hybrid"]),
        mean_passage_chars=sum(passage_chars) / max(len(passage_chars), 1),
        misses=misses,
    )
