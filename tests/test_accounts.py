"""Accounts: logging in, throttling and locking, passwords, and the admin's tools."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher, Type
from click.testing import CliRunner

from base.store import open_db, write
from quizzes import accounts, login, passwords
from quizzes.accounts import (
    AccountExists,
    InvalidAccount,
    create_account,
    deactivate_account,
    ensure_first_admin,
    ensure_schema,
    reactivate_account,
    reset_password,
)
from quizzes.cli_accounts import account_cli
from quizzes.login import (
    LoginRefused,
    LoginResult,
    LoginStatus,
    authenticate,
    change_password,
    locked_until,
    unlock_account,
)
from quizzes.passwords import HASHER, PasswordRejected, generate_password, password_problems
from quizzes.people import AccountError, Person, Role, UnknownAccount, get_person, list_people

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=BEIJING)
PASSWORD = "Wenming2025"
WRONG = "Cuowu12345"


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


@pytest.fixture
def zhang(accounts_db) -> Person:
    """张伟 of 办公室, past his first login: his password is PASSWORD."""
    create_account(
        accounts_db, "1001", "张伟", "办公室", "职工", NOW, initial_password="Chushi2025"
    )
    return change_password(accounts_db, "1001", "Chushi2025", PASSWORD, NOW)


GUESSABLE = "太容易被猜到（{}），请改用更长、更不规则的密码，例如两三个不相关的词加数字或符号"
ATTACKER = "10.0.0.66"
OWNER = "10.0.0.5"


def guard(accounts_db, employee_no: str, start: datetime) -> datetime:
    """Ten wrong passwords from ten clients within a minute; returns when the guard ends."""
    t = start
    for n in range(login.GUARD_AFTER_FAILURES):
        t = start + seconds(5 * n)
        authenticate(accounts_db, employee_no, WRONG, t, client=f"10.9.0.{n}")
    return t + login.GUARD_WINDOW


def failures_of(accounts_db, login: str) -> int | None:
    row = accounts_db.execute(
        "SELECT count(*) FROM login_failures WHERE login = ?", [login]
    ).fetchone()
    return row[0] or None


# -- hashing --------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_at_owasp_minimum(accounts_db, zhang):
    (stored,) = accounts_db.execute(
        "SELECT password_hash FROM people WHERE employee_no = '1001'"
    ).fetchone()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored


def test_the_stand_in_hash_for_unknown_logins_costs_the_same_as_a_real_one():
    assert passwords._DUMMY_HASH.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert not HASHER.check_needs_rehash(passwords._DUMMY_HASH)


def test_a_hash_made_with_older_parameters_is_upgraded_at_login(accounts_db, zhang):
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    with write(accounts_db):
        accounts_db.execute(
            "UPDATE people SET password_hash = ? WHERE employee_no = '1001'", [old.hash(PASSWORD)]
        )

    assert authenticate(accounts_db, "1001", PASSWORD, NOW).status is LoginStatus.OK

    (stored,) = accounts_db.execute(
        "SELECT password_hash FROM people WHERE employee_no = '1001'"
    ).fetchone()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert authenticate(accounts_db, "1001", PASSWORD, NOW).status is LoginStatus.OK


# -- logging in -----------------------------------------------------------------------------


def test_login_with_the_right_password(accounts_db, zhang):
    result = authenticate(accounts_db, " 1001 ", PASSWORD, NOW)
    assert result == LoginResult(
        status=LoginStatus.OK,
        message="登录成功",
        person=Person(
            "1001",
            "张伟",
            "办公室",
            Role.STAFF,
            must_change_password=False,
            last_login_at=NOW,
            session_version=1,  # the password change of the fixture
        ),
    )
    assert result.authenticated


def test_wrong_password_and_unknown_employee_no_get_the_same_answer(accounts_db, zhang):
    wrong_password = authenticate(accounts_db, "1001", WRONG, NOW)
    unknown = authenticate(accounts_db, "9999", WRONG, NOW)
    assert (
        wrong_password
        == unknown
        == LoginResult(
            status=LoginStatus.WRONG_CREDENTIALS, message="工号或密码错误", failed_attempts=1
        )
    )
    assert not wrong_password.authenticated


def test_empty_input_is_not_counted(accounts_db, zhang):
    assert authenticate(accounts_db, "1001", "", NOW) == LoginResult(
        status=LoginStatus.WRONG_CREDENTIALS, message="请输入工号和密码"
    )
    assert authenticate(accounts_db, "  ", PASSWORD, NOW).status is LoginStatus.WRONG_CREDENTIALS
    assert failures_of(accounts_db, "1001") is None


def test_employee_no_is_matched_in_any_letter_case(accounts_db):
    create_account(accounts_db, "HB-7", "王芳", "监测站", "负责人", NOW, initial_password=PASSWORD)
    result = authenticate(accounts_db, "hb-7", PASSWORD, NOW)
    assert (result.status, result.person.employee_no) == (
        LoginStatus.MUST_CHANGE_PASSWORD,
        "HB-7",
    )


def test_first_login_requires_a_new_password(accounts_db):
    initial = create_account(accounts_db, "1002", "王芳", "监测站", Role.HEAD, NOW)

    first = authenticate(accounts_db, "1002", initial, NOW)
    assert first == LoginResult(
        status=LoginStatus.MUST_CHANGE_PASSWORD,
        message="这是初始密码（或已被重置），请先修改密码",
        person=Person("1002", "王芳", "监测站", Role.HEAD, last_login_at=NOW),
    )
    assert first.authenticated

    person = change_password(accounts_db, "1002", initial, PASSWORD, NOW)
    assert person == Person(
        "1002",
        "王芳",
        "监测站",
        Role.HEAD,
        must_change_password=False,
        last_login_at=NOW,
        session_version=1,
    )
    assert authenticate(accounts_db, "1002", PASSWORD, NOW).status is LoginStatus.OK
    assert authenticate(accounts_db, "1002", initial, NOW).status is LoginStatus.WRONG_CREDENTIALS


def test_a_deactivated_account_cannot_log_in(accounts_db, zhang):
    deactivate_account(accounts_db, "1001", NOW)
    assert authenticate(accounts_db, "1001", PASSWORD, NOW) == LoginResult(
        status=LoginStatus.INACTIVE, message="账号已停用，请联系创建办"
    )
    # Only the right password learns that the account exists.
    assert authenticate(accounts_db, "1001", WRONG, NOW).message == "工号或密码错误"

    reactivate_account(accounts_db, "1001", NOW)
    assert authenticate(accounts_db, "1001", PASSWORD, NOW).status is LoginStatus.OK


# -- slowing down -------------------------------------------------------------------------


def test_repeated_failures_from_one_client_slow_that_client_down(accounts_db, zhang):
    t = NOW
    assert authenticate(accounts_db, "1001", WRONG, t, client=ATTACKER).message == "工号或密码错误"
    assert authenticate(accounts_db, "1001", WRONG, t, client=ATTACKER).message == "工号或密码错误"
    assert authenticate(accounts_db, "1001", WRONG, t, client=ATTACKER) == LoginResult(
        status=LoginStatus.WRONG_CREDENTIALS,
        message="工号或密码错误。请 15 秒后再试",
        retry_after=15,
        failed_attempts=3,
    )
    # Too soon: refused without checking the password, even the right one, and not counted.
    assert authenticate(
        accounts_db, "1001", PASSWORD, t + seconds(5), client=ATTACKER
    ) == LoginResult(
        status=LoginStatus.MUST_WAIT, message="尝试过于频繁，请 10 秒后再试", retry_after=10
    )
    assert failures_of(accounts_db, "1001") == 3
    t += seconds(15)
    assert authenticate(accounts_db, "1001", WRONG, t, client=ATTACKER).retry_after == 30
    t += seconds(30)
    assert authenticate(accounts_db, "1001", WRONG, t, client=ATTACKER).retry_after == 60
    # The waits double up to 15 minutes, never more.
    assert [login.backoff(n, 3).total_seconds() for n in (2, 3, 4, 8, 9, 40)] == [
        0,
        15,
        30,
        480,
        900,
        900,
    ]
    # Meanwhile the owner, from their own browser, logs in at once.
    assert authenticate(accounts_db, "1001", PASSWORD, t, client=OWNER).status is LoginStatus.OK


def test_the_lockout_message_gives_beijing_time_when_the_server_clock_is_utc(accounts_db, zhang):
    start = NOW.astimezone(UTC)  # the server's clock: 01:00 UTC is 09:00 北京时间
    guard(accounts_db, "1001", start)
    refused = authenticate(
        accounts_db, "1001", PASSWORD, start + timedelta(minutes=1), client="10.9.0.3"
    )
    assert refused.message == "此账号近期密码错误次数过多，本机须等到 09:15 再试，或联系创建办解锁"


def test_a_third_party_cannot_lock_the_owner_out(accounts_db, zhang):
    until = guard(accounts_db, "1001", NOW)
    t = NOW + timedelta(minutes=1)
    assert login.locked_until(accounts_db, "1001", t) == until
    # A client that failed on this login is refused, even with the right password.
    refused = authenticate(accounts_db, "1001", PASSWORD, t, client="10.9.0.3")
    assert refused == LoginResult(
        status=LoginStatus.LOCKED,
        message="此账号近期密码错误次数过多，本机须等到 09:15 再试，或联系创建办解锁",
        locked_until=until,
    )
    # The owner's browser has no failures: the right password passes, after a pause.
    pauses: list[float] = []
    result = authenticate(accounts_db, "1001", PASSWORD, t, client=OWNER, pause=pauses.append)
    assert (result.status, pauses) == (LoginStatus.OK, [3.0])
    # A new client guessing gets one try, paused too, and is then refused.
    assert authenticate(
        accounts_db, "1001", WRONG, t, client=ATTACKER, pause=pauses.append
    ).message == ("工号或密码错误")
    assert (
        authenticate(accounts_db, "1001", PASSWORD, t, client=ATTACKER).status is LoginStatus.LOCKED
    )
    assert pauses == [3.0, 3.0]
    # The guard ends 15 minutes after the last failure.
    last = t + login.GUARD_WINDOW
    assert (
        authenticate(accounts_db, "1001", PASSWORD, last, client="10.9.0.3").status
        is LoginStatus.OK
    )


def test_spraying_many_accounts_from_one_client_is_slowed_down(accounts_db, zhang):
    for n in range(40):
        create_account(
            accounts_db, f"20{n:02d}", f"职工{n}", "监测站", "职工", NOW, initial_password=PASSWORD
        )
    t = NOW
    results = [
        authenticate(accounts_db, f"20{n:02d}", WRONG, t, client=ATTACKER)
        for n in range(login.CLIENT_FREE_FAILURES)
    ]
    # One failure per account: nothing per login, but the client has had ten.
    assert [r.retry_after for r in results] == [None] * 9 + [15]
    assert authenticate(
        accounts_db, "2010", WRONG, t + seconds(10), client=ATTACKER
    ) == LoginResult(
        status=LoginStatus.MUST_WAIT, message="尝试过于频繁，请 5 秒后再试", retry_after=5
    )
    assert (
        authenticate(accounts_db, "2010", WRONG, t + seconds(15), client=ATTACKER).retry_after == 30
    )
    # Other clients are not slowed by it.
    assert authenticate(accounts_db, "1001", PASSWORD, t, client=OWNER).status is LoginStatus.OK
    # An hour later the client's count has lapsed.
    later = t + login.CLIENT_WINDOW + seconds(16)
    assert authenticate(accounts_db, "2011", WRONG, later, client=ATTACKER).retry_after is None


def test_overlong_login_fields_are_refused_before_any_work(accounts_db, zhang, monkeypatch):
    def no_hashing(password_hash: str, password: str) -> bool:
        raise AssertionError("hashed an overlong field")

    monkeypatch.setattr(login, "_verify", no_hashing)
    too_long = LoginResult(status=LoginStatus.WRONG_CREDENTIALS, message="工号或密码过长")
    assert authenticate(accounts_db, "1" * 65, PASSWORD, NOW) == too_long
    assert authenticate(accounts_db, "1001", "a1" * 129, NOW) == too_long
    assert accounts_db.execute("SELECT count(*) FROM login_failures").fetchone() == (0,)
    with pytest.raises(LoginRefused, match="原密码不正确"):
        change_password(accounts_db, "1001", "a1" * 129, "Kaiyuan-Lanhu-7", NOW)


def test_unknown_employee_nos_are_slowed_down_the_same_way(accounts_db, zhang):
    def story(employee_no: str, client: str) -> list[LoginResult]:
        t, results = NOW, []
        for step in (0, 0, 0, 5, 10, 30, 60):
            t += seconds(step)
            results.append(authenticate(accounts_db, employee_no, WRONG, t, client=client))
        return results

    assert story("1001", "10.0.0.1") == story("9999", "10.0.0.2")


def test_a_success_clears_the_count_of_that_client(accounts_db, zhang):
    authenticate(accounts_db, "1001", WRONG, NOW, client=OWNER)
    authenticate(accounts_db, "1001", WRONG, NOW, client=OWNER)
    authenticate(accounts_db, "1001", WRONG, NOW, client=ATTACKER)
    assert authenticate(accounts_db, "1001", PASSWORD, NOW, client=OWNER).status is LoginStatus.OK
    assert authenticate(accounts_db, "1001", WRONG, NOW, client=OWNER).failed_attempts == 1
    assert authenticate(accounts_db, "1001", WRONG, NOW, client=ATTACKER).failed_attempts == 2


def test_failures_a_day_apart_do_not_add_up(accounts_db, zhang):
    authenticate(accounts_db, "1001", WRONG, NOW)
    authenticate(accounts_db, "1001", WRONG, NOW)
    assert authenticate(accounts_db, "1001", WRONG, NOW + timedelta(hours=24)).failed_attempts == 1
    # ... and are no longer kept.
    assert failures_of(accounts_db, "1001") == 1


def test_unlock_lifts_the_guard_at_once(accounts_db, zhang):
    guard(accounts_db, "1001", NOW)
    t = NOW + timedelta(minutes=5)
    assert (
        authenticate(accounts_db, "1001", PASSWORD, t, client="10.9.0.1").status
        is LoginStatus.LOCKED
    )

    unlock_account(accounts_db, "1001")

    assert (
        authenticate(accounts_db, "1001", PASSWORD, t, client="10.9.0.1").status is LoginStatus.OK
    )
    with pytest.raises(UnknownAccount, match="没有工号为 “9999” 的账号"):
        unlock_account(accounts_db, "9999")


def test_twenty_simultaneous_wrong_passwords_are_all_counted(accounts_db, zhang):
    path = accounts_db.conn.execute("PRAGMA database_list").fetchone()[2]
    attempts = 20
    # Hold every attempt at the password check until all twenty are there, so all of them
    # pass the throttle check and record their failure at the same moment.
    arrived = threading.Barrier(attempts, timeout=30)
    real_verify = passwords._verify

    def verify_together(password_hash: str, password: str) -> bool:
        arrived.wait()
        return real_verify(password_hash, password)

    results: list[LoginResult] = []

    def attempt(i: int) -> None:
        connection = open_db(path)
        try:
            results.append(authenticate(connection, "1001", f"{WRONG}{i}", NOW))
        finally:
            connection.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(login, "_verify", verify_together)
        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(r.failed_attempts for r in results) == list(range(1, attempts + 1))
    assert failures_of(accounts_db, "1001") == attempts
    by_count = sorted(results, key=lambda r: r.failed_attempts)
    assert [r.retry_after for r in by_count] == [None, None] + [
        int(login.backoff(n, 3).total_seconds()) for n in range(3, attempts + 1)
    ]
    assert locked_until(accounts_db, "1001", NOW) == NOW + timedelta(minutes=15)


# -- changing and resetting passwords -------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("Wenming2025", []),
        ("k7mp-x3fq-9hta", []),
        ("环保Kai7-lan9", []),
        ("密码是Ab123456", [GUESSABLE.format("与常见密码相近")]),
        ("password1", [GUESSABLE.format("是很常见的密码")]),
        ("aaaaaaa1", [GUESSABLE.format("是很常见的密码")]),
        ("12345678a", [GUESSABLE.format("是很常见的密码")]),
        ("abc12345", [GUESSABLE.format("是很常见的密码")]),
        ("zxcvbnm,./1", [GUESSABLE.format("是键盘上连成一排的按键")]),
        ("HB100001x", [GUESSABLE.format("组合过于简单")]),  # the 工号 and a letter
        ("Ab1", ["至少 8 个字符"]),
        ("abcdefghij", ["须包含数字"]),
        ("1234567890", ["须包含英文字母"]),
        ("", ["至少 8 个字符", "须包含英文字母", "须包含数字"]),
        ("hb100001", ["不能与工号相同"]),
        ("Chushi2025", ["不能与原密码相同"]),
        ("a1" * 65, ["不能超过 128 个字符"]),
    ],
)
def test_password_policy(password, problems):
    assert password_problems(password, "HB100001", old="Chushi2025") == problems


def test_change_password_lists_every_rule_broken_and_counts_nothing(accounts_db, zhang):
    with pytest.raises(PasswordRejected) as caught:
        change_password(accounts_db, "1001", PASSWORD, "1001", NOW)
    assert str(caught.value) == "新密码不符合要求：至少 8 个字符；须包含英文字母；不能与工号相同"
    assert caught.value.problems == ["至少 8 个字符", "须包含英文字母", "不能与工号相同"]
    assert failures_of(accounts_db, "1001") is None
    assert authenticate(accounts_db, "1001", PASSWORD, NOW).status is LoginStatus.OK


def test_change_password_with_a_wrong_old_password_is_counted_like_a_login(accounts_db, zhang):
    for expected in (1, 2):
        with pytest.raises(LoginRefused) as caught:
            change_password(accounts_db, "1001", WRONG, "Xinmima2025", NOW)
        assert caught.value.result == LoginResult(
            status=LoginStatus.WRONG_CREDENTIALS, message="原密码不正确", failed_attempts=expected
        )
    with pytest.raises(LoginRefused) as caught:
        change_password(accounts_db, "1001", WRONG, "Xinmima2025", NOW)
    assert str(caught.value) == "原密码不正确。请 15 秒后再试"
    with pytest.raises(LoginRefused, match="尝试过于频繁，请 15 秒后再试"):
        change_password(accounts_db, "1001", PASSWORD, "Xinmima2025", NOW)
    assert authenticate(accounts_db, "1001", PASSWORD, NOW + seconds(15)).status is LoginStatus.OK


def test_reset_gives_a_new_password_that_must_be_changed_and_unlocks(accounts_db, zhang):
    assert locked_until(accounts_db, "1001", NOW) is None
    guard(accounts_db, "1001", NOW)
    assert locked_until(accounts_db, "1001", NOW + seconds(45)) is not None

    new = reset_password(accounts_db, "1001", NOW)

    assert authenticate(accounts_db, "1001", PASSWORD, NOW).status is LoginStatus.WRONG_CREDENTIALS
    assert authenticate(accounts_db, "1001", new, NOW).status is LoginStatus.MUST_CHANGE_PASSWORD
    with pytest.raises(UnknownAccount):
        reset_password(accounts_db, "9999", NOW)


def test_generated_passwords_are_readable_random_and_within_the_policy():
    drawn = {generate_password() for _ in range(200)}
    assert len(drawn) == 200
    for password in drawn:
        assert len(password) == 14
        assert password[4] == password[9] == "-"
        assert set(password.replace("-", "")) <= set("abcdefghjkmnpqrstuvwxyz23456789")
        assert password_problems(password, "1001") == []


# -- creating accounts ----------------------------------------------------------------------


def test_create_account_checks_its_fields(accounts_db, zhang):
    with pytest.raises(AccountExists, match="工号 “1001” 已有账号"):
        create_account(accounts_db, "1001", "李娜", "办公室", "职工", NOW)
    with pytest.raises(InvalidAccount) as caught:
        create_account(accounts_db, "张 三", "", "办公室", "经理", NOW)
    assert caught.value.problems == [
        "工号 “张 三” 只能包含英文字母、数字和 . _ -",
        "姓名 为空",
        "角色 “经理” 无法识别（可用：职工、负责人、创建办）",
    ]
    with pytest.raises(PasswordRejected):
        create_account(
            accounts_db, "1003", "李娜", "办公室", "职工", NOW, initial_password="123456"
        )
    assert [p.employee_no for p in list_people(accounts_db)] == ["1001"]


def test_roles_are_read_as_the_office_writes_them():
    assert {text: Role.parse(text) for text in ["职工", "员工", "干部", " Staff "]} == {
        "职工": Role.STAFF,
        "员工": Role.STAFF,
        "干部": Role.STAFF,
        " Staff ": Role.STAFF,
    }
    assert [Role.parse(t) for t in ["负责人", "HEAD", "创建办", "管理员", "admin", "经理"]] == [
        Role.HEAD,
        Role.HEAD,
        Role.ADMIN,
        Role.ADMIN,
        Role.ADMIN,
        None,
    ]


def test_list_people_by_department(accounts_db, zhang):
    create_account(accounts_db, "1002", "王芳", "监测站", "负责人", NOW)
    create_account(accounts_db, "1003", "李娜", "监测站", "职工", NOW)
    deactivate_account(accounts_db, "1003", NOW)
    assert [p.employee_no for p in list_people(accounts_db, "监测站")] == ["1002", "1003"]
    assert [p.employee_no for p in list_people(accounts_db, "监测站", active_only=True)] == ["1002"]


# -- the first admin ------------------------------------------------------------------------


def test_first_admin_is_created_once_with_a_password_to_change(accounts_db):
    password = ensure_first_admin(accounts_db, NOW)

    assert password is not None
    assert get_person(accounts_db, "admin") == Person("admin", "创建办管理员", "创建办", Role.ADMIN)
    assert (
        authenticate(accounts_db, "admin", password, NOW).status is LoginStatus.MUST_CHANGE_PASSWORD
    )
    assert ensure_first_admin(accounts_db, NOW) is None
    change_password(accounts_db, "admin", password, PASSWORD, NOW)
    assert ensure_first_admin(accounts_db, NOW + timedelta(days=1)) is None
    assert [p.employee_no for p in list_people(accounts_db)] == ["admin"]


def test_no_first_admin_when_the_roster_brought_one(accounts_db):
    create_account(accounts_db, "A-07", "刘洋", "创建办", "创建办", NOW)
    assert ensure_first_admin(accounts_db, NOW) is None
    assert get_person(accounts_db, "admin") is None


def test_the_last_active_admin_cannot_be_deactivated(accounts_db):
    ensure_first_admin(accounts_db, NOW)
    with pytest.raises(AccountError, match="这是最后一个在用的创建办账号，不能停用"):
        deactivate_account(accounts_db, "admin", NOW)
    create_account(accounts_db, "A-07", "刘洋", "创建办", "创建办", NOW)
    deactivate_account(accounts_db, "admin", NOW)
    # An admin exists, though deactivated: no second built-in admin appears.
    assert ensure_first_admin(accounts_db, NOW) is None


# -- sessions and time ----------------------------------------------------------------------


def test_naive_datetimes_are_refused(accounts_db, zhang):
    with pytest.raises(ValueError, match="timezone-aware"):
        authenticate(accounts_db, "1001", WRONG, datetime(2025, 3, 3, 9, 0))


def test_each_change_that_must_end_sessions_raises_the_session_version(accounts_db, zhang):
    def version() -> int:
        person = get_person(accounts_db, "1001")
        assert person is not None
        return person.session_version

    steps = [version()]
    authenticate(accounts_db, "1001", PASSWORD, NOW)  # logging in ends nothing
    steps.append(version())
    accounts.update_person(
        accounts_db, "1001", "张伟", "监测站", Role.STAFF, NOW
    )  # a move: same role
    steps.append(version())
    accounts.update_person(accounts_db, "1001", "张伟", "监测站", Role.HEAD, NOW)
    steps.append(version())
    new = reset_password(accounts_db, "1001", NOW)
    steps.append(version())
    change_password(accounts_db, "1001", new, "Kaiyuan-Lanhu-7", NOW)
    steps.append(version())
    deactivate_account(accounts_db, "1001", NOW)
    steps.append(version())
    assert steps == [1, 1, 1, 2, 3, 4, 5]


# -- command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path):
    """The database the CLI uses (KB_DATA_DIR points into tmp_path), with 张伟 in it."""
    database = open_db(tmp_path / "data" / "app.sqlite3")
    ensure_schema(database)
    create_account(database, "1001", "张伟", "办公室", "职工", NOW, initial_password="Chushi2025")
    change_password(database, "1001", "Chushi2025", PASSWORD, NOW)
    yield database
    database.close()


@pytest.fixture
def runner(tmp_path):
    return CliRunner(env={"KB_DATA_DIR": str(tmp_path / "data")})


def test_cli_reset_prints_a_password_that_works_once(runner, cli_db):
    result = runner.invoke(account_cli, ["reset", "1001"])
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    assert second == "下次登录时须修改密码。"
    new = first.removeprefix("已重置 1001 的密码，新密码：")
    assert authenticate(cli_db, "1001", new, NOW).status is LoginStatus.MUST_CHANGE_PASSWORD


def test_cli_unlock(runner, cli_db):
    guard(cli_db, "1001", datetime.now(BEIJING) - seconds(45))
    now = datetime.now(BEIJING)
    assert authenticate(cli_db, "1001", PASSWORD, now, client="10.9.0.1").status is (
        LoginStatus.LOCKED
    )
    result = runner.invoke(account_cli, ["unlock", "1001"])
    assert (result.exit_code, result.output) == (0, "已解锁 1001。\n")
    assert authenticate(cli_db, "1001", PASSWORD, now, client="10.9.0.1").status is (LoginStatus.OK)


def test_cli_create_and_list(runner, cli_db):
    result = runner.invoke(
        account_cli,
        ["create", "1002", "--name", "王芳", "--department", "监测站", "--role", "负责人"],
    )
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    password = first.removeprefix("已新建账号 1002（王芳），初始密码：")
    assert second == "首次登录时须修改密码。"
    assert authenticate(cli_db, "1002", password, NOW).status is LoginStatus.MUST_CHANGE_PASSWORD

    result = runner.invoke(account_cli, ["list"])
    assert result.output == (
        "1001  张伟  办公室  职工  在用\n1002  王芳  监测站  负责人  在用（待改初始密码）\n共 2 人。\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reset", "9999"], "没有工号为 “9999” 的账号\n"),
        (["unlock", "9999"], "没有工号为 “9999” 的账号\n"),
        (["create", "1001", "--name", "李娜", "--department", "办公室"], "工号 “1001” 已有账号\n"),
        (
            ["create", "1003", "--name", "李娜", "--department", "办公室", "--role", "经理"],
            "角色 “经理” 无法识别（可用：职工、负责人、创建办）\n",
        ),
    ],
)
def test_cli_refusals_exit_1_with_the_reason(runner, cli_db, args, message):
    result = runner.invoke(account_cli, args)
    assert (result.exit_code, result.output) == (1, message)
