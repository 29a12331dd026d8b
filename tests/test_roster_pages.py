"""The 职工名册 tab of the 管理 page, run by AppTest: re-issuing initial passwords.

(AppTest cannot upload a file; the upload, preview and 确认导入 are driven in Chromium by
tests/test_browser_upload.py.)
"""

from __future__ import annotations

from kb.service import open_kb
from quizzes.accounts import create_account
from quizzes.login import LoginStatus, authenticate, change_password
from quizzes.people import Role
from tests.apptest_support import NOW, PASSWORD, run_page_function, texts


def test_the_office_reissues_the_initial_password_of_someone_not_yet_logged_in(app_settings):
    db = open_kb(app_settings)
    change_password(
        db, "9001", create_account(db, "9001", "王主任", "创建办", Role.ADMIN, NOW), PASSWORD, NOW
    )
    first = {
        employee_no: create_account(db, employee_no, name, "办公室", Role.STAFF, NOW, title="科员")
        for employee_no, name in (("2001", "赵敏"), ("2002", "钱进"), ("2003", "孙丽"))
    }
    create_account(db, "2101", "周强", "监测站", Role.STAFF, NOW)
    # 2003 has logged in once with the initial password: theirs is not re-issued.
    authenticate(db, "2003", first["2003"], NOW)
    db.close()

    at = run_page_function("admin_page", "9001")
    assert (
        "共 3 人。初始密码不以明文保存，所以不能再次下载；可为选定的人重新生成初始密码，原初始密码随即作废。"
        in texts(at.caption)
    )
    assert at.multiselect(key="reissue_pick").options == [
        "2001 赵敏（办公室）",
        "2002 钱进（办公室）",
        "2101 周强（监测站）",
    ]
    at.selectbox(key="reissue_department").set_value("办公室").run()
    assert at.checkbox(key="reissue_all").label == "办公室全部 2 人"
    pick = at.multiselect(key="reissue_pick")
    assert pick.options == ["2001 赵敏（办公室）", "2002 钱进（办公室）"]
    pick.set_value(["2001"]).run()
    [reissue] = [b for b in at.button if b.label == "重新生成初始密码"]
    reissue.click().run()

    assert (
        "已为 1 人重新生成初始密码，原初始密码已作废。新密码只显示这一次，请下载后分发："
        in texts(at.warning)
    )
    [shown] = [d.value for d in at.dataframe if "初始密码" in d.value.columns]
    assert shown.drop(columns="初始密码").to_dict("records") == [
        {"工号": "2001", "姓名": "赵敏", "部门": "办公室", "职务": "科员", "角色": "职工"}
    ]
    new = shown["初始密码"][0]
    db = open_kb(app_settings)
    try:
        assert {
            password: authenticate(db, employee_no, password, NOW).status
            for employee_no, password in (
                ("2001", first["2001"]),
                ("2001", new),
                ("2002", first["2002"]),
            )
        } == {
            first["2001"]: LoginStatus.WRONG_CREDENTIALS,
            new: LoginStatus.MUST_CHANGE_PASSWORD,
            first["2002"]: LoginStatus.MUST_CHANGE_PASSWORD,
        }
    finally:
        db.close()
