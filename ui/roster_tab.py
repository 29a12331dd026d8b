"""The 管理 page's 职工名册 tab: the template, a roster's preview, the import once
confirmed, and re-issuing the initial passwords of people who have not logged in yet."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from base.clock import LOCAL_TZ
from quizzes.export_cells import csv_rows_bytes
from quizzes.initial_passwords import (
    NewAccount,
    awaiting_first_login,
    passwords_table,
    reissue_initial_passwords,
)
from quizzes.people import AccountError, Person, Role
from quizzes.roster import (
    COLUMNS,
    PREVIEW_COLUMNS,
    RosterChanged,
    RosterError,
    RosterFile,
    RosterPlan,
    import_roster,
    plan_roster,
    preview_rows,
    read_roster_file,
)
from quizzes.roster_template import roster_template_xlsx
from ui.auth import on_demand
from ui.render import md_text
from ui.services import get_db
from ui.uploads import file_uploader

_PREVIEW = "roster_preview"


@dataclass(frozen=True)
class _Preview:
    """A checked roster and its plan, for the upload they were made from."""

    upload_id: str
    roster: RosterFile
    plan: RosterPlan


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp() -> str:
    return f"{_now().astimezone(LOCAL_TZ):%Y-%m-%d_%H%M}"


def roster_tab(person: Person) -> None:
    """Template, upload, preview, confirm; then the initial passwords."""
    st.caption(
        "名册列：工号、姓名、部门（科室/处室/站/队/单位均可作表头），可选 职务、角色、初始密码；"
        "表头上方可以有标题行。先检查并预览，确认后才导入。"
    )
    with st.expander("名册各列的写法"):
        lines = ["| 列 | 是否必填 | 表头可写作 | 说明 |", "|---|---|---|---|"]
        lines += [
            "| "
            + " | ".join(
                md_text(cell)
                for cell in (
                    column.label,
                    "必填" if column.required else "可选",
                    "、".join(column.names),
                    column.note,
                )
            )
            + " |"
            for column in COLUMNS
        ]
        st.markdown("\n".join(lines))
    st.download_button(
        "下载名册模板（.xlsx）",
        on_demand(person, roster_template_xlsx, Role.ADMIN),
        file_name="职工名册模板.xlsx",
        on_click="ignore",
    )
    upload = file_uploader("上传名册（.csv 或 .xlsx）", ["csv", "xlsx"], key="roster_upload")
    if upload is None:
        st.session_state.pop(_PREVIEW, None)
    else:
        if st.button("检查名册", type="primary"):
            _check(upload)
        preview = st.session_state.get(_PREVIEW)
        if preview is not None and preview.upload_id == upload.file_id:
            _show_preview(person, preview)
    st.divider()
    _initial_passwords(person)


def _check(upload) -> None:
    st.session_state.pop(_PREVIEW, None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            roster = read_roster_file(path)
        except RosterError as exc:
            st.error("名册有误，未做任何修改：")
            st.code("\n".join(exc.errors), language=None)
            return
    st.session_state[_PREVIEW] = _Preview(
        upload.file_id, roster, plan_roster(get_db(), roster.rows)
    )


def _show_preview(person: Person, preview: _Preview) -> None:
    plan = preview.plan
    # Emptied once the import is done: what remains on screen is what was done.
    area = st.empty()
    with area.container():
        st.subheader("导入预览")
        st.caption(md_text(preview.roster.description()))
        if preview.roster.skipped_note():
            st.warning(md_text(preview.roster.skipped_note()))
        st.info(md_text(plan.summary() + "。尚未导入，请核对后点“确认导入”。"))
        deactivatable = plan.deactivatable()
        deactivate = bool(deactivatable) and st.checkbox(
            f"同时停用名册中没有的职工和负责人（{len(deactivatable)} 人；不能再登录，学习记录保留）",
            key="roster_deactivate",
        )
        st.dataframe(
            pd.DataFrame(list(preview_rows(plan, deactivate)), columns=list(PREVIEW_COLUMNS)),
            hide_index=True,
            width="stretch",
        )
    if not st.button("确认导入", type="primary"):
        return
    area.empty()
    st.session_state.pop(_PREVIEW, None)
    try:
        # About 25 ms of password hashing a new person (README, "The roster").
        with st.spinner("正在导入……"):
            report = import_roster(
                get_db(),
                preview.roster.rows,
                _now(),
                deactivate_missing=deactivate,
                expected=plan,
            )
    except (RosterChanged, AccountError) as exc:
        st.error(md_text(str(exc)))
        return
    st.success(md_text(f"已导入：{report.summary()}。"))
    if report.created:
        st.warning(
            "新账号的初始密码请现在下载并分发（系统不保存明文，离开本页后无法再下载；"
            "未登录的人员可在下方重新生成）："
        )
        _passwords_download(person, report.created, "下载初始密码表（CSV）")


def _passwords_download(person: Person, accounts: tuple[NewAccount, ...], label: str) -> None:
    table = passwords_table(accounts)
    # Made at the click, and no rerun: the sheet is a media file only from the click
    # until Streamlit's next sweeps, and gone with the button at the next click.
    st.download_button(
        label,
        on_demand(person, lambda: csv_rows_bytes(table), Role.ADMIN),
        file_name=f"初始密码_{_stamp()}.csv",
        mime="text/csv",
        on_click="ignore",
    )


def _initial_passwords(person: Person) -> None:
    st.subheader("尚未首次登录的人员")
    db = get_db()
    pending = awaiting_first_login(db)
    if not pending:
        st.caption("所有在用账号都已登录过。")
        return
    st.caption(
        f"共 {len(pending)} 人。初始密码不以明文保存，所以不能再次下载；"
        "可为选定的人重新生成初始密码，原初始密码随即作废。"
    )
    departments = sorted({p.department for p in pending})
    department = st.selectbox(
        "部门", ["全部部门", *departments], key="reissue_department", disabled=len(departments) < 2
    )
    if department != "全部部门":
        pending = [p for p in pending if p.department == department]
    labels = {p.employee_no: f"{p.employee_no} {p.name}（{p.department}）" for p in pending}
    everyone = st.checkbox(
        f"{'' if department == '全部部门' else department}全部 {len(pending)} 人",
        key="reissue_all",
    )
    chosen = (
        list(labels)
        if everyone
        else st.multiselect(
            "选择人员",
            list(labels),
            format_func=labels.get,
            key="reissue_pick",
            placeholder="请选择人员",
        )
    )
    if not st.button("重新生成初始密码", disabled=not chosen):
        return
    with st.spinner("正在生成……"):
        report = reissue_initial_passwords(db, chosen, _now())
    for employee_no, reason in report.refused:
        st.info(md_text(f"未重新生成 {employee_no}：{reason}"))
    if not report.issued:
        return
    st.warning(
        f"已为 {len(report.issued)} 人重新生成初始密码，原初始密码已作废。"
        "新密码只显示这一次，请下载后分发："
    )
    header, *rows = passwords_table(report.issued)
    st.dataframe(pd.DataFrame(rows, columns=header), hide_index=True, width="stretch")
    _passwords_download(person, report.issued, "下载新的初始密码表（CSV）")
