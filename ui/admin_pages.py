"""管理 (admins only): documents, roster, question bank, accounts.

Every upload is validated whole before anything is changed; the core functions report
what is wrong, by file and row, and the page shows it.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from base.clock import LOCAL_TZ, end_of_day, local_text, start_of_day
from kb.documents import document_texts, list_documents
from kb.ingest import ingest_uploads
from kb.ingest_report import IngestReport
from kb.readers import SUPPORTED_SUFFIXES
from quizzes.accounts import create_account, deactivate_account, reactivate_account, reset_password
from quizzes.bank import Quiz, QuizFormatError
from quizzes.exemptions import add_exemption, list_exemptions, remove_exemption
from quizzes.login import unlock_account
from quizzes.people import AccountError, Person, Role, list_people
from quizzes.plan import Phase, PlanInvalid, StudyPlan, StudyPlanError, save_plan
from quizzes.spreadsheet import export_quiz_xlsx, import_quiz_xlsx, write_quiz_yaml
from ui.auth import on_demand, require
from ui.render import md_text
from ui.roster_tab import roster_tab
from ui.services import (
    get_bank,
    get_db,
    get_model_status,
    get_settings,
    get_study_plan,
)
from ui.uploads import file_uploader


def _now() -> datetime:
    return datetime.now(UTC)


def _as_file(upload, folder: Path) -> Path:
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    return path


def _errors(title: str, errors: list[str]) -> None:
    st.error(title)
    st.code("\n".join(errors), language=None)


def admin_page() -> None:
    """The admin tabs."""
    person = require(Role.ADMIN)
    st.title("管理")
    documents, roster, bank, accounts, plan, exemptions = st.tabs(
        ["文件", "职工名册", "题库", "账号", "学习计划", "免学登记"]
    )
    with documents:
        _documents_tab()
    with roster:
        roster_tab(person)
    with bank:
        _bank_tab(person)
    with accounts:
        _accounts_tab()
    with plan:
        _plan_tab(person.employee_no)
    with exemptions:
        _exemptions_tab(person.employee_no)


def _documents_tab() -> None:
    db = get_db()
    settings = get_settings()
    rows = [
        {
            "文件": d.title,
            "文件名": d.path,
            "段落数": d.passages,
            "字数": d.chars,
            "入库时间（北京时间）": local_text(d.ingested_at),
        }
        for d in list_documents(db)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    # No type filter on the widget: a file of another type is named in the report with
    # the reason, in Chinese, like every other file that is not indexed.
    uploads = file_uploader(
        "上传文件（可一次选多个；同名文件会被替换）",
        None,
        key="doc_upload",
        accept_multiple_files=True,
    )
    st.caption(
        f"支持 {' '.join(SUPPORTED_SUFFIXES)}；.doc .wps .rtf .odt 由服务器上的 LibreOffice 转换，扫描件和图片做文字识别。"
        "每个文件单独检查，未入库的文件逐个列出原因。"
    )
    if uploads and st.button("检查并入库", type="primary"):
        with st.spinner("正在检查并入库……"):
            report = ingest_uploads(
                db,
                settings.corpus_dir,
                [(upload.name, upload.getvalue()) for upload in uploads],
                get_model_status().embedder,
                settings.max_upload_mb * 1024 * 1024,
                progress=_ocr_progress(),
                ocr_max_pages=settings.ocr_max_pages,
            )
        _ingest_report(report)


def _ingest_report(report: IngestReport) -> None:
    (st.warning if report.failed else st.success)(report.summary())
    st.dataframe(pd.DataFrame(report.table()), hide_index=True, width="stretch")


def _ocr_progress():
    """A progress bar that appears when OCR starts reading a file's scanned pages."""
    bar = None

    def show(name: str, done: int, total: int) -> None:
        nonlocal bar
        text = md_text(f"文字识别 {name}：第 {done}/{total} 页")
        if bar is None:
            bar = st.progress(done / total, text=text)
        else:
            bar.progress(done / total, text=text)

    return show


def _bank_tab(person: Person) -> None:
    bank = get_bank()
    settings = get_settings()
    for file, errors in bank.errors.items():
        _errors(md_text(f"{file} 未能加载："), list(errors))
    if bank.flagged:
        st.warning("以下题目的出处已不在原文中，已暂停使用，请修订：")
        st.code("\n".join(f.message for f in bank.flagged), language=None)
    for quiz in bank.quizzes.values():
        st.download_button(
            md_text(f"导出“{quiz.title}”（{len(quiz.questions)} 题，.xlsx）"),
            on_demand(person, partial(_quiz_xlsx, quiz), Role.ADMIN),
            file_name=f"{quiz.id}.xlsx",
            key=f"export-{quiz.id}",
            on_click="ignore",
        )
    upload = file_uploader("导入题库表格（.xlsx，每行一题）", ["xlsx"], key="bank_upload")
    if upload is None or not st.button("检查并导入题库", type="primary"):
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            quiz = import_quiz_xlsx(_as_file(upload, Path(tmp)), document_texts(get_db()))
        except QuizFormatError as exc:
            _errors("题库表格有误，未做任何修改：", list(exc.errors))
            return
    write_quiz_yaml(quiz, settings.quiz_dir / f"{quiz.id}.yaml")
    st.success(md_text(f"已导入“{quiz.title}”，共 {len(quiz.questions)} 题。"))


def _quiz_xlsx(quiz: Quiz) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{quiz.id}.xlsx"
        export_quiz_xlsx(quiz, path)
        return path.read_bytes()


def _accounts_tab() -> None:
    db = get_db()
    people = list_people(db)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "工号": p.employee_no,
                    "姓名": p.name,
                    "部门": p.department,
                    "职务": p.title,
                    "角色": p.role.label,
                    "状态": "在用" if p.active else "停用",
                }
                for p in people
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    labels = {p.employee_no: f"{p.employee_no} {p.name}（{p.department}）" for p in people}
    chosen = st.selectbox(
        "选择账号",
        list(labels),
        format_func=labels.get,
        index=None,
        key="acct_pick",
        placeholder="请选择账号",
    )
    if chosen:
        left, middle, right = st.columns(3)
        try:
            if left.button("重置密码"):
                password = reset_password(db, chosen, _now())
                st.warning("新的初始密码（只显示这一次）：")
                st.code(password, language=None)
            if middle.button("解除锁定"):
                unlock_account(db, chosen)
                st.success("已解除锁定。")
            person = next(p for p in people if p.employee_no == chosen)
            if person.active and right.button("停用账号"):
                deactivate_account(db, chosen, _now())
                st.success("已停用。")
            elif not person.active and right.button("启用账号"):
                reactivate_account(db, chosen, _now())
                st.success("已启用。")
        except AccountError as exc:
            st.error(md_text(str(exc)))
    with st.form("create_account", clear_on_submit=True):
        st.markdown("**新建账号**")
        employee_no = st.text_input("工号", key="new_employee_no")
        name = st.text_input("姓名", key="new_name")
        department = st.text_input("部门", key="new_department")
        title = st.text_input("职务（可不填，如 科员）", key="new_title")
        role = st.selectbox("角色", list(Role), format_func=lambda r: r.label, key="new_role")
        if st.form_submit_button("新建"):
            try:
                password = create_account(
                    db,
                    employee_no.strip(),
                    name.strip(),
                    department.strip(),
                    role,
                    _now(),
                    title=title,
                )
            except AccountError as exc:
                st.error(md_text(str(exc)))
            else:
                st.warning("已新建。初始密码（只显示这一次）：")
                st.code(password, language=None)


def _plan_tab(employee_no: str) -> None:
    db = get_db()
    bank = get_bank()
    plan = get_study_plan()
    titles = {d.path: d.title for d in list_documents(db)}
    phase = plan.phases[0] if plan and plan.phases else None
    if plan and plan.version is not None:
        st.caption(
            md_text(
                f"当前版本 {plan.version}，{plan.saved_by or '系统'} 于 {local_text(plan.saved_at)} 保存（北京时间）"
            )
        )
    with st.form("study_plan"):
        name = st.text_input("阶段名称", value=phase.name if phase else "启动阶段·全面学习")
        left, right = st.columns(2)
        today = _now().astimezone(LOCAL_TZ).date()
        start = left.date_input(
            "开始日期", value=phase.start.astimezone(LOCAL_TZ).date() if phase else today
        )
        deadline = right.date_input(
            "截止日期（当天 24 时前完成算按期）",
            value=phase.deadline.astimezone(LOCAL_TZ).date() if phase else today,
        )
        quizzes = st.multiselect(
            "须通过的测验",
            list(bank.quizzes),
            default=[q for q in (phase.quiz_ids if phase else ()) if q in bank.quizzes],
            format_func=lambda q: bank.quizzes[q].title,
            placeholder="选择测验",
        )
        documents = st.multiselect(
            "须学习的文件",
            list(titles),
            default=[d for d in (phase.documents if phase else ()) if d in titles],
            format_func=titles.get,
            placeholder="选择文件",
        )
        if st.form_submit_button("保存学习计划", type="primary"):
            new = StudyPlan(
                (
                    Phase(
                        name.strip(),
                        start_of_day(start),
                        end_of_day(deadline),
                        tuple(quizzes),
                        tuple(documents),
                    ),
                    *(plan.phases[1:] if plan else ()),
                )
            )
            try:
                save_plan(db, new, bank, _now(), employee_no)
            except PlanInvalid as exc:
                _errors("学习计划有误，未保存：", list(exc.problems))
            else:
                st.success("学习计划已保存。")


def _exemptions_tab(employee_no: str) -> None:
    db = get_db()
    current = list_exemptions(db, _now())
    if not current:
        # Not an empty grid: it writes "empty" in English.
        st.caption("（暂无免学登记）")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "工号": e.employee_no,
                        "原因": e.reason,
                        # Text in 北京时间; no end date reads "—", not "None".
                        "开始": local_text(e.since),
                        "截止": local_text(e.until),
                        "登记人": e.created_by,
                    }
                    for e in current
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    people = {p.employee_no: f"{p.employee_no} {p.name}（{p.department}）" for p in list_people(db)}
    with st.form("add_exemption", clear_on_submit=True):
        who = st.selectbox(
            "人员", list(people), format_func=people.get, index=None, placeholder="请选择人员"
        )
        reason = st.text_input("免学原因（如 请假、外派）")
        until = st.date_input("免学截止日期（可不填）", value=None)
        if st.form_submit_button("登记免学") and who:
            try:
                add_exemption(
                    db,
                    who,
                    reason.strip(),
                    _now(),
                    employee_no,
                    until=end_of_day(until) if until else None,
                )
            except StudyPlanError as exc:
                st.error(md_text(str(exc)))
            else:
                st.success("已登记。")
    if current:
        ended = st.selectbox(
            "结束某人的免学",
            [e.employee_no for e in current],
            format_func=people.get,
            index=None,
            placeholder="请选择人员",
        )
        if ended and st.button("结束免学"):
            remove_exemption(db, ended, _now(), employee_no)
            st.success("已结束。")
