"""Study plan, readings, exemptions, progress by the rules, and frozen notices."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from base.clock import LOCAL_TZ
from base.settings import PROJECT_ROOT, SHIPPED_BANK
from kb.documents import document_texts, list_documents
from kb.ingest import sync_corpus
from office.notices import (
    MissingItem,
    NoticeChanges,
    NoticeDepartment,
    NoticeError,
    NoticeInfo,
    NoticePerson,
    freeze_notice,
    get_notice,
    list_notices,
    notice_changes,
)
from office.progress import PersonProgress, RequirementProgress, person_progress
from quizzes.accounts import deactivate_account, update_person
from quizzes.bank import load_bank
from quizzes.exemptions import Exemption, add_exemption, list_exemptions, remove_exemption
from quizzes.people import Role, UnknownAccount
from quizzes.plan import (
    CAMPAIGN_PLAN_DOCUMENT,
    Phase,
    PlanInvalid,
    StudyPlan,
    StudyPlanError,
    default_plan,
    ensure_default_plan,
    get_plan,
    plan_versions,
    save_plan,
)
from quizzes.readings import Reading, confirm_reading, readings_of
from tests.data.office.office_records import (
    DEADLINE,
    LAW,
    OFFICE_DEPT,
    PHASE,
    RIGHT,
    START,
    STATION,
    WRONG,
    at,
    build_bureau,
    complete,
    office_plan,
    open_office_db,
    person,
    read_all,
    take,
)

ALPHA = "实施方案测验"
BETA = "道德规范测验"
PLAN_TITLE = "创建市级文明单位实施方案"
ETHICS_TITLE = "公民基本道德规范"


def requirements(
    alpha: RequirementProgress | None = None,
    beta: RequirementProgress | None = None,
    plan: datetime | None = None,
    ethics: datetime | None = None,
) -> tuple[RequirementProgress, ...]:
    """The four requirements of the test plan; unmet unless given."""
    return (
        alpha or RequirementProgress("quiz", "alpha", ALPHA, None, False, None, 0, 2),
        beta or RequirementProgress("quiz", "beta", BETA, None, False, None, 0, 3),
        RequirementProgress("document", "plan.txt", PLAN_TITLE, plan, plan is not None),
        RequirementProgress("document", "ethics.md", ETHICS_TITLE, ethics, ethics is not None),
    )


# -- the plan -------------------------------------------------------------------------------


def test_default_plan_is_the_start_up_phase_with_every_quiz_and_the_study_material(office_db, bank):
    documents = ["other.txt", "plan.txt", CAMPAIGN_PLAN_DOCUMENT, "ethics.md"]
    plan = default_plan(bank, documents, date(2026, 11, 2))
    assert plan == StudyPlan(
        phases=(
            Phase(
                name="启动阶段·全面学习",
                start=datetime(2026, 11, 2, tzinfo=LOCAL_TZ),
                deadline=datetime.combine(date(2026, 12, 2), time.max, tzinfo=LOCAL_TZ),
                quiz_ids=("alpha", "beta"),
                # The campaign plan first, then what the questions cite; never the rest.
                documents=(CAMPAIGN_PLAN_DOCUMENT, "ethics.md", "plan.txt"),
            ),
        )
    )


def test_shipped_defaults_require_all_shipped_quizzes_the_plan_and_the_material(tmp_path):
    database = open_office_db(tmp_path / "shipped.sqlite3")
    sync_corpus(database, PROJECT_ROOT / "corpus", None)
    bank = load_bank(SHIPPED_BANK, document_texts(database))
    plan = ensure_default_plan(database, bank, list_documents(database), at(2, 10))
    assert plan is not None
    (phase,) = plan.phases
    assert phase.quiz_ids == ("ethics-values", "plan-basics", "service-environment")
    assert phase.documents == (
        CAMPAIGN_PLAN_DOCUMENT,
        "gongmin_daode_guifan.md",
        "gongwuyuan_zhiye_daode.md",
        "huanbao_jichu_zhishi.md",
        "jiguan_wenming_yu_fuwu.md",
        "shehuizhuyi_hexin_jiazhiguan.md",
        "zhongyang_baxiang_guiding.md",
    )
    assert phase.deadline - phase.start == timedelta(days=31) - timedelta(microseconds=1)
    database.close()


def test_ensure_default_plan_writes_once_and_keeps_later_edits(office_db, bank):
    assert get_plan(office_db) is None
    first = ensure_default_plan(office_db, bank, list_documents(office_db), at(2, 10))
    assert first is not None
    assert (first.version, first.saved_at, first.saved_by) == (1, at(2, 10), "系统默认")
    assert ensure_default_plan(office_db, bank, list_documents(office_db), at(3)) == first
    edited = save_plan(office_db, office_plan(), bank, at(4), "A1")
    assert ensure_default_plan(office_db, bank, list_documents(office_db), at(5)) == edited
    assert edited.phases == office_plan().phases
    assert [p.version for p in plan_versions(office_db)] == [2, 1]


def test_ensure_default_plan_waits_for_quizzes_and_indexed_documents(office_db, bank):
    from quizzes.bank import Bank

    assert ensure_default_plan(office_db, Bank(), list_documents(office_db), at(2)) is None
    # Before the first ingest: a plan without the study material must not be stored.
    assert ensure_default_plan(office_db, bank, [], at(2)) is None
    assert get_plan(office_db) is None


def test_save_plan_lists_every_problem_and_stores_nothing(office_db, bank):
    bad = StudyPlan(
        phases=(
            Phase("启动阶段", START, START - timedelta(days=1), ("alpha", "gamma"), ("nope.txt",)),
            Phase("启动阶段", START, DEADLINE, (), ()),
            Phase(" ", START, DEADLINE, ("beta", "beta"), ("plan.txt",)),
            Phase("组织实施阶段", datetime(2026, 12, 1), DEADLINE, ("alpha",), ()),
        )
    )
    with pytest.raises(PlanInvalid) as caught:
        save_plan(office_db, bad, bank, at(2), "A1")
    assert caught.value.problems == (
        "第1阶段“启动阶段”：截止时间应晚于开始时间",
        "第1阶段“启动阶段”：题库中没有测验“gamma”",
        "第1阶段“启动阶段”：文件“nope.txt”不在文件库中",
        "第2阶段“启动阶段”：阶段名称重复",
        "第2阶段“启动阶段”：至少要指定一个测验或一份文件",
        "第3阶段：阶段名称为空",
        "第3阶段：测验“beta”重复",
        "第4阶段“组织实施阶段”：开始时间缺少时区",
    )
    assert str(caught.value).startswith("学习计划有误：第1阶段")
    assert get_plan(office_db) is None
    with pytest.raises(PlanInvalid) as empty:
        save_plan(office_db, StudyPlan(phases=()), bank, at(2), "A1")
    assert empty.value.problems == ("至少要有一个学习阶段",)


def test_the_current_phase_is_the_last_one_started():
    first = Phase("启动阶段·全面学习", START, DEADLINE, ("alpha",))
    second = Phase("组织实施阶段", at(25), at(30), ("beta",))
    plan = StudyPlan(phases=(second, first))
    assert plan.current_phase(at(1)) == first  # nothing started: the earliest
    assert plan.current_phase(at(10)) == first
    assert plan.current_phase(at(22)) == first  # after its deadline, still the last begun
    assert plan.current_phase(at(26)) == second
    assert plan.phase("启动阶段·全面学习", at(26)) == first
    with pytest.raises(StudyPlanError, match="学习计划中没有阶段“验收阶段”"):
        plan.phase("验收阶段", at(26))


# -- readings -------------------------------------------------------------------------------


def test_confirming_a_reading_twice_keeps_the_first(office_db):
    person(office_db, "HB001", "王芳", OFFICE_DEPT)
    first = confirm_reading(office_db, "HB001", "plan.txt", at(3))
    again = confirm_reading(office_db, "hb001", "plan.txt", at(4))  # any letter case
    assert first == again == Reading("plan.txt", at(3))
    confirm_reading(office_db, "HB001", "ethics.md", at(5))
    assert readings_of(office_db, "HB001") == [
        Reading("plan.txt", at(3)),
        Reading("ethics.md", at(5)),
    ]
    assert readings_of(office_db, "HB001", as_of=at(4)) == [Reading("plan.txt", at(3))]
    assert office_db.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 2


def test_confirming_needs_a_known_person_and_an_indexed_document(office_db):
    person(office_db, "HB001", "王芳", OFFICE_DEPT)
    with pytest.raises(StudyPlanError, match=re.escape("文件“nope.txt”不在文件库中")):
        confirm_reading(office_db, "HB001", "nope.txt", at(3))
    with pytest.raises(UnknownAccount):
        confirm_reading(office_db, "HB999", "plan.txt", at(3))
    assert readings_of(office_db, "HB001") == []


# -- exemptions -----------------------------------------------------------------------------


def test_exemptions_run_from_recording_until_their_end_or_removal(office_db):
    person(office_db, "HB001", "王芳", OFFICE_DEPT)
    person(office_db, "HB002", "李强", OFFICE_DEPT)
    leave = add_exemption(office_db, "hb001", " 请假 ", at(3), "A1", until=at(10))
    posted = add_exemption(office_db, "HB002", "外派", at(4), "A1")
    assert leave == Exemption(1, "HB001", "请假", at(3), at(10), "A1")
    assert list_exemptions(office_db, at(2)) == []
    assert list_exemptions(office_db, at(5)) == [leave, posted]
    assert list_exemptions(office_db, at(10)) == [posted]  # until is exclusive
    ended = remove_exemption(office_db, "HB002", at(12), "A1")
    assert ended == Exemption(2, "HB002", "外派", at(4), None, "A1", at(12), "A1")
    assert list_exemptions(office_db, at(11)) == [ended]  # still in force then: the past stays
    assert list_exemptions(office_db, at(12)) == []
    assert list_exemptions(office_db) == [leave, ended]


def test_add_exemption_refuses_what_cannot_be_used(office_db):
    person(office_db, "HB001", "王芳", OFFICE_DEPT)
    with pytest.raises(StudyPlanError, match="请填写免学原因"):
        add_exemption(office_db, "HB001", "  ", at(3), "A1")
    with pytest.raises(StudyPlanError, match="免学截止时间应晚于现在"):
        add_exemption(office_db, "HB001", "请假", at(3), "A1", until=at(3))
    with pytest.raises(UnknownAccount):
        add_exemption(office_db, "HB999", "请假", at(3), "A1")
    add_exemption(office_db, "HB001", "请假", at(3), "A1")
    with pytest.raises(StudyPlanError, match="王芳（HB001）已在免学名单中"):
        add_exemption(office_db, "HB001", "外派", at(4), "A1")
    with pytest.raises(StudyPlanError, match="HB002 目前不在免学名单中"):
        remove_exemption(office_db, "HB002", at(4), "A1")


# -- progress -------------------------------------------------------------------------------


def test_completed_by_the_deadline_requirement_by_requirement(office_db, bank):
    person(office_db, "O1", "王芳", OFFICE_DEPT)
    complete(office_db, bank, "O1", at(5))
    assert person_progress(office_db, "O1", office_plan(), bank, at(15)) == PersonProgress(
        employee_no="O1",
        name="王芳",
        department=OFFICE_DEPT,
        role="staff",
        active=True,
        counted=True,
        phase=PHASE,
        deadline=DEADLINE,
        as_of=at(15),
        state="completed",
        completed_at=at(5),
        requirements=requirements(
            RequirementProgress("quiz", "alpha", ALPHA, at(5, 8, 5), True, 100.0, 1, 1),
            RequirementProgress("quiz", "beta", BETA, at(5), True, 100.0, 1, 2),
            at(5, 7),
            at(5, 7),
        ),
        exemption=None,
        blocked=False,
    )


def test_nothing_done_is_not_started_then_overdue(office_db, bank):
    person(office_db, "O3", "张伟", OFFICE_DEPT)
    before = person_progress(office_db, "O3", office_plan(), bank, at(15))
    assert (before.state, before.state_label, before.requirements) == (
        "not_started",
        "未开始",
        requirements(),
    )
    after = person_progress(office_db, "O3", office_plan(), bank, at(21))
    assert (after.state, after.state_label, after.missing) == (
        "overdue",
        "逾期未完成",
        requirements(),
    )
    # The deadline itself is still on time.
    assert person_progress(office_db, "O3", office_plan(), bank, DEADLINE).state == "not_started"


def test_a_failed_attempt_with_attempts_left_is_in_progress_never_overdue_before_deadline(
    office_db, bank
):
    person(office_db, "M1", "杨磊", STATION)
    take(office_db, bank, "alpha", "M1", at(5), WRONG["alpha"])
    progress = person_progress(office_db, "M1", office_plan(), bank, DEADLINE)
    assert (progress.state, progress.blocked) == ("in_progress", False)
    assert progress.requirements[0] == RequirementProgress(
        "quiz", "alpha", ALPHA, None, False, 0.0, 1, 1
    )
    assert person_progress(office_db, "M1", office_plan(), bank, at(21)).state == "overdue"


def test_no_attempts_left_is_flagged_blocked_but_stays_in_progress_before_deadline(office_db, bank):
    person(office_db, "M2", "赵敏", STATION)
    take(office_db, bank, "alpha", "M2", at(7), WRONG["alpha"])
    take(office_db, bank, "alpha", "M2", at(8), {"a1": "B"})  # 1 of 5 points: 20 %
    progress = person_progress(office_db, "M2", office_plan(), bank, at(15))
    assert (progress.state, progress.blocked) == ("in_progress", True)
    assert progress.requirements[0] == RequirementProgress(
        "quiz", "alpha", ALPHA, None, False, 20.0, 2, 0
    )


def test_passing_after_the_deadline_is_completed_late(office_db, bank):
    person(office_db, "O5", "陈静", OFFICE_DEPT, Role.HEAD)
    read_all(office_db, "O5", at(10))
    take(office_db, bank, "alpha", "O5", at(11), RIGHT["alpha"])
    take(office_db, bank, "beta", "O5", at(21), RIGHT["beta"])
    plan = office_plan()
    assert person_progress(office_db, "O5", plan, bank, at(15)).state == "in_progress"
    assert person_progress(office_db, "O5", plan, bank, at(21)).state == "overdue"
    late = person_progress(office_db, "O5", plan, bank, at(22))
    assert (late.state, late.state_label, late.completed_at) == (
        "completed_late",
        "逾期完成",
        at(21, 9, 5),
    )
    assert late.requirements[1] == RequirementProgress(
        "quiz", "beta", BETA, at(21, 9, 5), False, 100.0, 1, 2
    )
    assert late.requirements[0].on_time


def test_only_what_was_submitted_or_confirmed_by_the_moment_counts(office_db, bank):
    person(office_db, "E9", "孙丽", OFFICE_DEPT)
    take(office_db, bank, "alpha", "E9", at(9, 9, 0), RIGHT["alpha"], minutes=30)
    confirm_reading(office_db, "E9", "plan.txt", at(9, 10, 30))
    midway = person_progress(office_db, "E9", office_plan(), bank, at(9, 9, 10))
    # The attempt had started (in progress), but its pass came later.
    assert midway.state == "in_progress"
    assert midway.requirements == requirements(
        RequirementProgress("quiz", "alpha", ALPHA, None, False, None, 1, 1)
    )
    passed = RequirementProgress("quiz", "alpha", ALPHA, at(9, 9, 30), True, 100.0, 1, 1)
    later = person_progress(office_db, "E9", office_plan(), bank, at(9, 10))
    assert later.requirements == requirements(passed)
    latest = person_progress(office_db, "E9", office_plan(), bank, at(9, 11))
    assert latest.requirements == requirements(passed, plan=at(9, 10, 30))
    assert person_progress(office_db, "E9", office_plan(), bank, at(9, 8)).state == "not_started"


def test_a_person_counts_for_the_department_they_belong_to_at_the_moment(office_db, bank):
    person(office_db, "F1", "吴娟", LAW)
    complete(office_db, bank, "F1", at(5))
    update_person(office_db, "F1", "吴娟", STATION, Role.STAFF, at(10))
    assert person_progress(office_db, "F1", office_plan(), bank, at(9)).department == LAW
    moved = person_progress(office_db, "F1", office_plan(), bank, at(10))
    # Study done before the move goes with the person.
    assert (moved.department, moved.state) == (STATION, "completed")


def test_a_quiz_added_to_the_plan_later_is_required_of_everyone(office_db, bank):
    person(office_db, "E6", "郑洁", OFFICE_DEPT)
    read_all(office_db, "E6", at(4))
    take(office_db, bank, "alpha", "E6", at(5), RIGHT["alpha"])
    before = office_plan(("alpha",))
    assert person_progress(office_db, "E6", before, bank, at(6)).state == "completed"
    # The office adds beta on Nov 8: the plan now applies, also to figures as of Nov 6.
    now = office_plan(("alpha", "beta"))
    again = person_progress(office_db, "E6", now, bank, at(6))
    assert (again.state, [m.target for m in again.missing]) == ("in_progress", ["beta"])
    # A pass of the added quiz from before it was added counts.
    take(office_db, bank, "beta", "E6", at(7), RIGHT["beta"])
    assert person_progress(office_db, "E6", now, bank, at(9)).state == "completed"


def test_admins_deactivated_people_and_later_accounts_are_not_counted(office_db, bank):
    person(office_db, "A1", "创建办管理员", "创建办", Role.ADMIN)
    person(office_db, "M4", "周杰", STATION)
    person(office_db, "N1", "新同事", STATION, created=at(12))
    complete(office_db, bank, "A1", at(5))
    complete(office_db, bank, "M4", at(5))
    deactivate_account(office_db, "M4", at(6))
    admin = person_progress(office_db, "A1", office_plan(), bank, at(15))
    assert (admin.counted, admin.state, admin.role) == (False, "completed", "admin")
    gone = person_progress(office_db, "M4", office_plan(), bank, at(15))
    assert (gone.counted, gone.active, gone.state) == (False, False, "completed")
    new = person_progress(office_db, "N1", office_plan(), bank, at(10))
    assert (new.counted, new.department, new.state) == (False, None, "not_started")
    assert person_progress(office_db, "N1", office_plan(), bank, at(13)).counted


def test_an_exempt_person_carries_the_exemption(office_db, bank):
    person(office_db, "O4", "刘洋", OFFICE_DEPT)
    leave = add_exemption(office_db, "O4", "请假", at(3), "A1", until=at(23))
    during = person_progress(office_db, "O4", office_plan(), bank, at(22))
    assert (during.exemption, during.state_label, during.state) == (leave, "免学", "overdue")
    assert person_progress(office_db, "O4", office_plan(), bank, at(23)).exemption is None


def test_person_progress_of_an_unknown_person(office_db, bank):
    with pytest.raises(UnknownAccount):
        person_progress(office_db, "HB999", office_plan(), bank, at(15))


# -- notices --------------------------------------------------------------------------------

ALPHA_ITEM = MissingItem("quiz", "alpha", ALPHA)
BETA_ITEM = MissingItem("quiz", "beta", BETA)
PLAN_ITEM = MissingItem("document", "plan.txt", PLAN_TITLE)
ETHICS_ITEM = MissingItem("document", "ethics.md", ETHICS_TITLE)
EVERYTHING = (ALPHA_ITEM, BETA_ITEM, PLAN_ITEM, ETHICS_ITEM)


def test_a_frozen_notice_names_the_overdue_and_never_changes(office_db, bank):
    build_bureau(office_db, bank)
    plan = office_plan()
    notice = freeze_notice(office_db, " 第一次通报 ", at(22), plan, bank, at(22, 10), "A1")
    assert notice.people == (
        NoticePerson("O3", "张伟", OFFICE_DEPT, EVERYTHING),
        NoticePerson("F2", "徐涛", LAW, EVERYTHING),
        NoticePerson("M1", "杨磊", STATION, (ALPHA_ITEM, BETA_ITEM)),
        NoticePerson("M2", "赵敏", STATION, EVERYTHING),
    )
    assert notice.departments == (
        NoticeDepartment(LAW, 1, 0, 0, 1, 0),
        NoticeDepartment(OFFICE_DEPT, 4, 2, 1, 1, 1),
        NoticeDepartment(STATION, 4, 2, 0, 2, 0),
    )
    assert [d.department for d in notice.named_departments] == [LAW, OFFICE_DEPT, STATION]
    assert (notice.title, notice.phase, notice.as_of, notice.deadline, notice.created_by) == (
        "第一次通报",
        PHASE,
        at(22),
        DEADLINE,
        "A1",
    )
    # Later study, exemptions and plan edits change nothing already frozen.
    complete(office_db, bank, "O3", at(23))
    add_exemption(office_db, "F2", "外派", at(23), "A1")
    save_plan(office_db, office_plan(("alpha",)), bank, at(23), "A1")
    assert get_notice(office_db, notice.id) == notice
    assert list_notices(office_db) == [
        NoticeInfo(notice.id, "第一次通报", PHASE, at(22), at(22, 10), "A1", 4, 3)
    ]


def test_notice_changes_say_who_was_added_and_who_resolved(office_db, bank):
    build_bureau(office_db, bank)
    plan = office_plan()
    first = freeze_notice(office_db, "第一次通报", at(22), plan, bank, at(22, 10), "A1")
    complete(office_db, bank, "O3", at(23, 8))
    # O4's leave ends on Nov 23: from then on O4 counts, and is overdue.
    second = freeze_notice(office_db, "第二次通报", at(24), plan, bank, at(24, 10), "A1")
    changes = notice_changes(first, second)
    assert changes == NoticeChanges(
        added=(NoticePerson("O4", "刘洋", OFFICE_DEPT, EVERYTHING),),
        resolved=(NoticePerson("O3", "张伟", OFFICE_DEPT, EVERYTHING),),
        remaining=(
            NoticePerson("F2", "徐涛", LAW, EVERYTHING),
            NoticePerson("M1", "杨磊", STATION, (ALPHA_ITEM, BETA_ITEM)),
            NoticePerson("M2", "赵敏", STATION, EVERYTHING),
        ),
    )
    assert notice_changes(None, first).added == first.people
    assert [n.id for n in list_notices(office_db)] == [second.id, first.id]


def test_a_notice_needs_a_title_a_past_moment_and_a_passed_deadline(office_db, bank):
    plan = office_plan()
    with pytest.raises(NoticeError, match="截止时间（2026-11-20 23:59）尚未过"):
        freeze_notice(office_db, "通报", DEADLINE, plan, bank, at(25), "A1")
    with pytest.raises(NoticeError, match="统计时点不能晚于现在"):
        freeze_notice(office_db, "通报", at(25), plan, bank, at(24), "A1")
    with pytest.raises(NoticeError, match="请填写通报标题"):
        freeze_notice(office_db, " ", at(22), plan, bank, at(24), "A1")
    assert list_notices(office_db) == []


def test_times_must_be_aware(office_db):
    person(office_db, "HB001", "王芳", OFFICE_DEPT)
    with pytest.raises(ValueError, match="timezone-aware"):
        confirm_reading(office_db, "HB001", "plan.txt", datetime(2026, 11, 3))


def test_the_corpus_folder_is_where_the_documents_come_from():
    # Guards the fixture: the tests above rely on these two documents and nothing else.
    folder = Path(__file__).parent / "data" / "office" / "corpus"
    assert sorted(p.name for p in folder.iterdir()) == ["ethics.md", "plan.txt"]
