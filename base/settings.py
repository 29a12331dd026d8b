"""One Settings object, read from the environment with defaults that run on a fresh clone."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_BANK = PROJECT_ROOT / "quizzes" / "data" / "bank"
"""The quiz bank shipped with the app (one YAML file per quiz); ``KB_QUIZ_DIR`` by default."""


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


def _int(env: Mapping[str, str], name: str, default: int, allowed: range | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None
    if allowed is not None and value not in allowed:
        raise SettingsError(
            f"{name}={raw!r}: expected a whole number from {allowed.start} to {allowed.stop - 1}"
        )
    return value


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_ANY_ADDRESS = {"", "0.0.0.0", "::"}


def _hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("KB_ALLOWED_HOSTS")
    if raw and raw.strip():
        return tuple(h.strip() for h in raw.split(",") if h.strip())
    host = (env.get("KB_HOST") or "127.0.0.1").strip()
    return LOCAL_HOSTS + (() if host in _ANY_ADDRESS or host in LOCAL_HOSTS else (host,))


@dataclass(frozen=True)
class Settings:
    """Where data lives and how the app behaves.

    Attributes:
        data_dir: holds the SQLite database and the converted model cache (KB_DATA_DIR).
        corpus_dir: the shipped documents to index (KB_CORPUS_DIR).
        quiz_dir: the quiz bank files (KB_QUIZ_DIR).
        embed_model: ``builtin``, a local folder, a model name, or ``none`` (KB_EMBED_MODEL).
        host, port: where ``make run`` serves the app (KB_HOST, KB_PORT).
        max_upload_mb: largest document accepted by ingestion (KB_MAX_UPLOAD_MB).
        session_idle_minutes: an idle login ends after this long (KB_SESSION_IDLE_MINUTES).
        torch_threads: CPU threads the model may use while serving (KB_TORCH_THREADS).
        workers: Streamlit processes behind ``make run``'s sticky proxy (KB_WORKERS;
            ui/serve.py).
        search_nice: how much lower than page runs query embeddings run on the CPU
            (KB_SEARCH_NICE, 0-19, added to the process's nice value; 0 = the same).
            Under a deadline burst submissions then go first (kb/query_batching.py).
        ocr_max_pages: the most pages of one file that OCR reads (KB_OCR_MAX_PAGES); a
            longer scan is refused with a message (about 5 s a page here).
        allowed_hosts: the host names browsers use to reach the app (KB_ALLOWED_HOSTS,
            comma-separated; default this machine's names and KB_HOST). Streamlit refuses
            a websocket whose Host is any other (DNS rebinding).
    """

    data_dir: Path
    corpus_dir: Path
    quiz_dir: Path
    embed_model: str = "builtin"
    host: str = "127.0.0.1"
    port: int = 8501
    max_upload_mb: int = 20
    session_idle_minutes: int = 30
    torch_threads: int = 1
    workers: int = 2
    search_nice: int = 10
    ocr_max_pages: int = 300
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``)."""
        env = os.environ if env is None else env
        return cls(
            data_dir=Path(env.get("KB_DATA_DIR") or PROJECT_ROOT / "data"),
            corpus_dir=Path(env.get("KB_CORPUS_DIR") or PROJECT_ROOT / "corpus"),
            quiz_dir=Path(env.get("KB_QUIZ_DIR") or SHIPPED_BANK),
            embed_model=(env.get("KB_EMBED_MODEL") or "builtin").strip(),
            host=env.get("KB_HOST") or "127.0.0.1",
            port=_int(env, "KB_PORT", 8501),
            max_upload_mb=_int(env, "KB_MAX_UPLOAD_MB", 20),
            session_idle_minutes=_int(env, "KB_SESSION_IDLE_MINUTES", 30),
            torch_threads=_int(env, "KB_TORCH_THREADS", 1),
            workers=_int(env, "KB_WORKERS", 2),
            search_nice=_int(env, "KB_SEARCH_NICE", 10, range(0, 20)),
            ocr_max_pages=_int(env, "KB_OCR_MAX_PAGES", 300, range(0, 100_001)),
            allowed_hosts=_hosts(env),
        )

    @property
    def db_path(self) -> Path:
        """The one SQLite file that holds documents, vectors, people and attempts."""
        return self.data_dir / "app.sqlite3"

    @property
    def model_cache_dir(self) -> Path:
        """Where the builtin model is converted to, once."""
        return self.data_dir / "models"
