"""What a staff member does in the app, as steps over :class:`bench.st_client.StreamlitSession`.

Each step sends one interaction, checks that the page shows what a person would expect
(no error box, no exception, the right page or query parameter) and returns the run.
A step that does not get there raises :class:`StepFailed` naming the step and why.
"""

from __future__ import annotations

import random

from bench.st_client import ClientError, RunResult, StreamlitSession, trigger, widget_value

QUIZ_ID = "plan-basics"
SEARCH_LABEL = "用自己的话提问或输入关键词"
SEARCH_QUERIES = (
    "没有按期完成任务的责任单位",
    "满意率",
    "创建文明单位的指导思想",
    "全面学习阶段要做什么",
    "志愿服务活动",
    "责任考核",
    "环境信访",
    "职业道德建设",
    "窗口单位文明服务",
    "组织领导",
    "宣传发动",
    "社会主义核心价值观",
)


class StepFailed(Exception):
    """A step did not reach what a person expects; ``str()`` says which and why."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


def _checked(step: str, result: RunResult) -> RunResult:
    if result.errors:
        raise StepFailed(step, f"error shown: {result.errors[:3]}")
    if result.page_not_found:
        raise StepFailed(step, "page not found")
    return result


async def run_step(step: str, coro) -> RunResult:
    """Await one interaction; turn protocol trouble into StepFailed."""
    try:
        return _checked(step, await coro)
    except ClientError as exc:
        raise StepFailed(step, str(exc)) from exc


async def open_app(session: StreamlitSession) -> RunResult:
    result = await run_step("open", session.open())
    if not any(e.kind == "text_input" and e.label == "工号" for e in result.elements):
        raise StepFailed("open", "no login form")
    return result


async def login(session: StreamlitSession, employee_no: str, password: str) -> RunResult:
    result = await run_step("login", session.login(employee_no, password))
    if "政策检索" not in result.headings:
        raise StepFailed("login", f"not on the search page after login: {result.headings}")
    return result


async def open_page(session: StreamlitSession, page: str, heading: str) -> RunResult:
    result = await run_step(f"page {page}", session.rerun(page=page))
    if heading not in result.headings:
        raise StepFailed(f"page {page}", f"heading {heading!r} missing: {result.headings}")
    return result


async def start_quiz(session: StreamlitSession, quizzes: RunResult) -> RunResult:
    """Press 开始测验 (or 继续作答) on the quiz; the attempt opens (?attempt=ID)."""
    try:
        button = quizzes.widget("button", key=f"start-{QUIZ_ID}")
    except ClientError as exc:
        raise StepFailed("start", str(exc)) from exc
    result = await run_step("start", session.rerun([trigger(button)]))
    if not session.query_string.startswith("attempt="):
        raise StepFailed("start", f"no attempt opened (query {session.query_string!r})")
    if not result.of_kind("radio"):
        raise StepFailed("start", "the attempt shows no questions")
    return result


def attempt_id(session: StreamlitSession) -> int:
    return int(session.query_string.split("=", 1)[1].split("&", 1)[0])


async def answer(
    session: StreamlitSession, attempt: RunResult, index: int, rng: random.Random
) -> RunResult:
    """Pick an option of the index-th radio question (its on_change saves it at once)."""
    radios = attempt.of_kind("radio")
    if index >= len(radios):
        raise StepFailed("answer", f"only {len(radios)} radio questions")
    radio = radios[index]
    choice = rng.randrange(len(radio.proto.options))
    result = await run_step("answer", session.rerun([widget_value(radio, choice)]))
    if not result.of_kind("radio"):
        raise StepFailed("answer", "the attempt page went away")
    return result


async def ask_to_submit(session: StreamlitSession, attempt: RunResult) -> RunResult:
    """Press 提交试卷; the page asks to confirm (with the unanswered questions listed)."""
    try:
        button = attempt.widget("button", label="提交试卷")
    except ClientError as exc:
        raise StepFailed("ask", str(exc)) from exc
    result = await run_step("ask", session.rerun([trigger(button)]))
    try:
        result.widget("button", label="确认提交")
    except ClientError as exc:
        raise StepFailed("ask", f"no confirmation: {exc}") from exc
    return result


async def submit(session: StreamlitSession, attempt: RunResult) -> RunResult:
    """Press 确认提交 (after :func:`ask_to_submit`); the result page opens (?result=ID)."""
    try:
        button = attempt.widget("button", label="确认提交")
    except ClientError as exc:
        raise StepFailed("submit", str(exc)) from exc
    result = await run_step("submit", session.rerun([trigger(button)]))
    if not session.query_string.startswith("result="):
        raise StepFailed("submit", f"no result page (query {session.query_string!r})")
    verdicts = [t for e in result.of_kind("alert") for t in [e.proto.body] if "得分" in t]
    if not verdicts:
        raise StepFailed("submit", "the result page shows no score")
    return result


async def search(session: StreamlitSession, page: RunResult, query: str) -> RunResult:
    """Type a question into the search box (the search page must be showing)."""
    try:
        box = page.widget("text_input", label=SEARCH_LABEL)
    except ClientError as exc:
        raise StepFailed("search", str(exc)) from exc
    result = await run_step("search", session.rerun([widget_value(box, query)]))
    if "政策检索" not in result.headings:
        raise StepFailed("search", f"left the search page: {result.headings}")
    return result
