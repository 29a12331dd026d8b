"""Linking questions and passages: which passage answers a question, which questions a
passage answers (for "test me on this"), and related passages for a wrong answer."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from kb.documents import Passage, find_quote
from kb.embedding import Embedder
from kb.errors import QueryError
from kb.search import Hit, VectorIndex, search
from quizzes.bank import Bank, Question


@dataclass(frozen=True)
class CitedQuestion:
    """A question of the bank, with the quiz it belongs to."""

    quiz_id: str
    quiz_title: str
    question: Question


def source_passage(db: sqlite_utils.Database, question: Question) -> Passage | None:
    """The indexed passage that holds the question's source quote, or None if gone."""
    return find_quote(db, question.source.document, question.source.quote)


def questions_by_passage(db: sqlite_utils.Database, bank: Bank) -> dict[int, list[CitedQuestion]]:
    """Every unflagged question, grouped by the id of the passage its quote stands in."""
    grouped: dict[int, list[CitedQuestion]] = {}
    for quiz in bank.quizzes.values():
        for question in quiz.active_questions:
            passage = source_passage(db, question)
            if passage is not None:
                grouped.setdefault(passage.chunk_id, []).append(
                    CitedQuestion(quiz.id, quiz.title, question)
                )
    return grouped


def quizzes_submitted(db: sqlite_utils.Database, employee_no: str) -> set[str]:
    """The quizzes of which ``employee_no`` has submitted a graded attempt (or had one
    graded when its time ran out): their answers are no longer a secret to them."""
    return {
        row[0]
        for row in db.execute(
            "SELECT DISTINCT quiz_id FROM attempts "
            "WHERE employee_no = ? AND status IN ('submitted', 'expired')",
            [employee_no.strip()],
        )
    }


def practisable(
    db: sqlite_utils.Database, employee_no: str, cited: list[CitedQuestion]
) -> tuple[list[CitedQuestion], list[CitedQuestion]]:
    """Split a passage's questions into those ``employee_no`` may practise (answers shown)
    and those held back: questions of a quiz they have not yet submitted an attempt of,
    whose answers would otherwise be read before the graded attempt."""
    taken = quizzes_submitted(db, employee_no)
    return (
        [c for c in cited if c.quiz_id in taken],
        [c for c in cited if c.quiz_id not in taken],
    )


def related_passages(
    db: sqlite_utils.Database,
    question: Question,
    embedder: Embedder | None,
    index: VectorIndex | None = None,
    k: int = 3,
) -> list[Hit]:
    """Other passages that search finds on the question's point (the cited one left out)."""
    cited = source_passage(db, question)
    try:
        result = search(
            db, question.stem.replace("____", " "), embedder=embedder, index=index, k=k + 1
        )
    except QueryError:
        return []
    return [h for h in result.hits if cited is None or h.chunk_id != cited.chunk_id][:k]
