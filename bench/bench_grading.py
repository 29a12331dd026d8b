"""Benchmark fill-in grading: what folding answers costs a submission.

Prints figures; it is not a test. Run from the project root::

    .venv/bin/python bench/bench_grading.py [--rounds 2000]

The rival measured in the same run is the folding grading used before (NFKC, spaces
removed, case folded), which did not accept punctuation, traditional characters or
numerals spelled another way.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from base.settings import Settings  # noqa: E402
from quizzes.bank import load_bank  # noqa: E402
from quizzes.cli_bank import corpus_texts  # noqa: E402
from quizzes.grading import grade_question, normalize_fill  # noqa: E402

# Typed answers as people type them: quoted, with a full stop, traditional, in digits.
TYPED = ("“一次性告知”。", "隊伍", "7", "百分之七十", "勤儉節約", "《心理疏导》", " 文明新风 ")


def old_fold(text: str) -> str:
    """The grading fold before this change."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def per_call_us(fold, texts: list[str], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            fold(text)
    return (time.perf_counter() - start) / (rounds * len(texts)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()

    start = time.perf_counter()
    normalize_fill("載入")  # the first fold loads OpenCC's tables
    print(f"first fold (loads OpenCC's t2s tables): {(time.perf_counter() - start) * 1e3:.0f} ms")

    settings = Settings.from_env({})
    bank = load_bank(settings.quiz_dir, corpus_texts(settings))
    questions = [q for quiz in bank.quizzes.values() for q in quiz.active_questions]
    fills = [q for q in questions if q.type == "fill"]
    texts = [v for q in fills for v in q.answer] + list(TYPED)
    print(f"shipped bank: {len(questions)} questions in service, {len(fills)} fill-in")

    uncached = normalize_fill.__wrapped__  # type: ignore[attr-defined]
    print(
        f"fold, before (NFKC + spaces + case): {per_call_us(old_fold, texts, args.rounds):.1f} µs"
    )
    print(f"fold, now, uncached:                 {per_call_us(uncached, texts, 200):.1f} µs")
    print(
        f"fold, now, cached:                   {per_call_us(normalize_fill, texts, args.rounds):.1f} µs"
    )

    # One submission of each quiz, every question answered right, as attempts grade it;
    # "cold" clears the fold cache first, as after a restart.
    for quiz in bank.quizzes.values():
        sheet = [(q, _right_answer(q)) for q in quiz.active_questions]
        cold, warm = [], []
        for _ in range(20):
            normalize_fill.cache_clear()
            for timings in (cold, warm):
                start = time.perf_counter()
                for question, answer in sheet:
                    grade_question(question, answer)
                timings.append((time.perf_counter() - start) * 1e3)
        print(
            f"grading {quiz.id} ({len(sheet)} questions): median cold {statistics.median(cold):.2f} ms,"
            f" warm {statistics.median(warm):.2f} ms"
        )


def _right_answer(question):
    if question.type == "fill":
        return question.answer[0]
    if question.type == "multiple":
        return list(question.answer)
    return question.answer


if __name__ == "__main__":
    main()
