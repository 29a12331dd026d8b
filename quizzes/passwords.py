"""Password policy and hashing.

Passwords are stored as argon2id hashes at OWASP's minimum cost (t=2, 19 MiB, p=1), which
verifies in about 24 ms here; the library default takes 150-220 ms (DESIGN.md).
"""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

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
    digit, not the 工号, not the old password.

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
    return problems


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
