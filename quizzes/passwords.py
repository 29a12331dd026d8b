"""Password policy and hashing.

Passwords are stored as argon2id hashes at OWASP's minimum cost (t=2, 19 MiB, p=1), which
verifies in about 24 ms here; the library default takes 150-220 ms (DESIGN.md).
"""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from quizzes.people import AccountError

MIN_PASSWORD_LENGTH = 8


# argon2 takes any length, but a cap keeps a pasted novel from costing memory and time.
MAX_PASSWORD_LENGTH = 128


# Lower-case letters and digits without the look-alikes 0/o, 1/l/i, so a password read off
# a printed sheet is typed right the first time; 12 symbols of 31 carry about 59 bits.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


PASSWORD_GROUPS = 3


PASSWORD_GROUP_LENGTH = 4


HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)


# Verified against when the 工号 is unknown, so that a miss costs as long as a wrong
# password; the parameters match HASHER (a test checks it).
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$DnfZuMjUuEq+NDX9RkeJWg$"
    "BDr/NQLh2prlNiftwvNjdm8wwy3HnnT31cQSYOfwBl4"
)


class PasswordRejected(AccountError):
    """A new password does not meet the policy; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("新密码不符合要求：" + "；".join(problems))
        self.problems = list(problems)


def password_problems(password: str, employee_no: str, old: str | None = None) -> list[str]:
    """Check a password against the policy.

    The policy: at least 8 and at most 128 characters, at least one English letter and one
    digit, not the 工号, not the old password; and, when all of that holds, not easy to
    guess (:func:`guessability_problem`).

    Args:
        password: the proposed password.
        employee_no: the account's 工号.
        old: the password it replaces, when there is one.

    Returns:
        One Chinese message per rule broken; empty when the password is acceptable.
    """
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"至少 {MIN_PASSWORD_LENGTH} 个字符")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"不能超过 {MAX_PASSWORD_LENGTH} 个字符")
    if not re.search(r"[A-Za-z]", password):
        problems.append("须包含英文字母")
    if not re.search(r"[0-9]", password):
        problems.append("须包含数字")
    if password.strip().lower() == employee_no.strip().lower():
        problems.append("不能与工号相同")
    if old is not None and password == old:
        problems.append("不能与原密码相同")
    if not problems:
        guessable = guessability_problem(password, employee_no)
        if guessable:
            problems.append(guessable)
    return problems


MIN_STRENGTH = 3
"""zxcvbn's score (0-4) a password needs: 3 is "safely unguessable" against online attacks."""

# zxcvbn's warnings, said in Chinese; any other gets the general reason.
_GUESS_REASONS = {
    "This is a top-10 common password.": "是最常见的密码之一",
    "This is a top-100 common password.": "是最常见的密码之一",
    "This is a very common password.": "是很常见的密码",
    "This is similar to a commonly used password.": "与常见密码相近",
    "Straight rows of keys are easy to guess.": "是键盘上连成一排的按键",
    "Short keyboard patterns are easy to guess.": "是简单的键盘图案",
    'Repeats like "aaa" are easy to guess.': "含有重复的字符",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': "含有重复的片段",
    'Sequences like "abc" or "6543" are easy to guess.': "含有 abc、6543 这样的顺序字符",
    "Recent years are easy to guess.": "含有近年的年份",
    "Dates are often easy to guess.": "含有日期",
    "A word by itself is easy to guess.": "只是一个常见单词",
    "Names and surnames by themselves are easy to guess.": "只是一个姓名",
    "Common names and surnames are easy to guess.": "是常见的姓名",
}


def guessability_problem(password: str, employee_no: str) -> str | None:
    """Say why ``password`` is easy to guess (zxcvbn score below :data:`MIN_STRENGTH`).

    zxcvbn estimates how many guesses a password takes from its word lists (common
    passwords, words, names), keyboard patterns, repeats, sequences and dates; the 工号
    counts as a known word. It runs offline: its lists ship in the package.

    Returns:
        A Chinese message with the reason and what to do instead, or None.
    """
    result = zxcvbn(password, user_inputs=[employee_no])
    if result["score"] >= MIN_STRENGTH:
        return None
    reason = _GUESS_REASONS.get(result["feedback"]["warning"], "组合过于简单")
    return f"太容易被猜到（{reason}），请改用更长、更不规则的密码，例如两三个不相关的词加数字或符号"


def generate_password() -> str:
    """Make a random initial password that is easy to read aloud and type.

    Returns:
        Three groups of four lower-case letters and digits, e.g. ``k7mp-x3fq-9hta``:
        about 59 random bits, no look-alike characters, and always within the policy.
    """
    length = PASSWORD_GROUPS * PASSWORD_GROUP_LENGTH
    while True:
        chars = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        # Redraw the rare all-letter or all-digit draw instead of forcing a position,
        # which would make that position predictable.
        if re.search(r"[a-z]", chars) and re.search(r"[0-9]", chars):
            step = PASSWORD_GROUP_LENGTH
            return "-".join(chars[i : i + step] for i in range(0, length, step))


def hash_password(password: str) -> str:
    """Hash ``password`` with argon2id at the app's parameters."""
    return HASHER.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
