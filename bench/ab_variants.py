"""Copies of the app with the submit-path changes measured in bench/README_load.md, for A/B
runs of bench/load_sessions.py (``--project DEST/<variant>``). The checkout is not touched.

    .venv/bin/python bench/ab_variants.py /tmp/ab          # makes /tmp/ab/A, /tmp/ab/B, /tmp/ab/C
    .venv/bin/python bench/load_sessions.py --project /tmp/ab/C

A: 提交试卷 submits in the button's on_click callback (no re-render of the attempt page, no
   st.rerun); the run that follows shows the result.
B: A, and the result page's review of wrong answers as one Markdown element per question.
C: A, and the review shown on demand (a toggle) instead of in the submit's run.

The edits are text replacements of ui/quiz_pages.py as it stood when measured; if that file
has changed since, the script says which edit no longer applies.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(".venv", ".git", "data", "__pycache__", ".pytest_cache")

SUBMIT_OLD = """    if st.button("提交试卷", type="primary", key=f"submit-{attempt.id}"):
        _submit(attempt)
"""
SUBMIT_NEW = """    st.button(
        "提交试卷",
        type="primary",
        key=f"submit-{attempt.id}",
        on_click=_submit_clicked,
        args=(attempt.id, attempt.employee_no),
    )


def _submit_clicked(attempt_id: int, employee_no: str) -> None:
    # A callback runs before the script: the run that follows shows the result directly.
    try:
        submit_attempt(get_db(), attempt_id, employee_no, _now(), get_bank())
    except AttemptError as exc:
        st.session_state["quiz_save_error"] = str(exc)
        return
    st.query_params.pop("attempt", None)
    st.query_params["result"] = str(attempt_id)
"""
REVIEW_START = """    for number, item in enumerate(wrong, start=1):
        question = quiz.question(item.question_id)
        with st.container(border=True):"""
REVIEW_END = """    if st.button("返回测验列表"):"""
REVIEW_COMPACT = """    for number, item in enumerate(wrong, start=1):
        question = quiz.question(item.question_id)
        # one Markdown element per question instead of about ten
        lines = [
            f"**{number}\\\\.** " + md_text(question.stem),
            *(md_text(f"{key}. {text}") for key, text in question.options),
            md_text(f"你的答案：{format_answer(question, item.answer)}（得 {item.points:g} 分）"),
            md_text(f"正确答案：{format_answer(question, question.answer)}"),
        ]
        if question.explanation:
            lines.append(md_text(f"解析：{question.explanation}"))
        passage = source_passage(db, question)
        if passage is not None:
            lines.append(md_text(f"出处：{passage.doc_title} › {passage.heading_path}"))
            lines.append(md_marked(passage.text))
        with st.container(border=True):
            st.markdown("  \\n".join(lines))
"""
REVIEW_ON_DEMAND = """    if wrong and st.toggle("查看错题、解析和原文出处", key=f"review-{attempt_id}"):
        for number, item in enumerate(wrong, start=1):
            question = quiz.question(item.question_id)
            with st.container(border=True):
                show_question_stem(number, question)
                show_options_with_keys(question)
                st.markdown(
                    md_text(
                        f"你的答案：{format_answer(question, item.answer)}（得 {item.points:g} 分）"
                    )
                )
                st.markdown(md_text(f"正确答案：{format_answer(question, question.answer)}"))
                if question.explanation:
                    st.markdown(md_text(f"解析：{question.explanation}"))
                show_source(source_passage(db, question), question)
"""


def patched(source: str, variant: str) -> str:
    if SUBMIT_OLD not in source:
        raise SystemExit("ui/quiz_pages.py: the 提交试卷 button is no longer as measured")
    source = source.replace(SUBMIT_OLD, SUBMIT_NEW)
    if variant == "A":
        return source
    start, end = source.find(REVIEW_START), source.find(REVIEW_END)
    if start < 0 or end < start:
        raise SystemExit("ui/quiz_pages.py: the result review is no longer as measured")
    if variant == "C":
        return source[:start] + REVIEW_ON_DEMAND + source[end:]
    source = source[:start] + REVIEW_COMPACT + source[end:]
    # the compact review marks the passage itself and no longer lists options one by one
    source = source.replace("    show_options_with_keys,\n", "")
    return source.replace(
        "from ui.render import md_text\n", "from ui.render import md_marked, md_text\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__)
        return 2
    dest = Path(args[0])
    original = (ROOT / "ui" / "quiz_pages.py").read_text(encoding="utf-8")
    for variant in ("A", "B", "C"):
        target = dest / variant
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT, target, ignore=IGNORE)
        (target / "ui" / "quiz_pages.py").write_text(patched(original, variant), encoding="utf-8")
        print(f"{target}: variant {variant}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
