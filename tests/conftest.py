"""Shared fixtures: a temporary database, a tiny corpus, settings that point at them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from base.settings import PROJECT_ROOT, Settings
from base.store import open_db
from kb.schema import ensure_schema
from quizzes.accounts import ensure_schema as ensure_accounts_schema
from tests.data.office.office_records import build_bureau, office_bank, open_office_db

# Tests never reach a model hub; set before anything imports huggingface_hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(__file__).parent / "data"
# ../shared beside the repository; KB_PUBLIC_CORPUS points elsewhere (a git worktree).
PUBLIC_CORPUS = Path(
    os.environ.get("KB_PUBLIC_CORPUS") or PROJECT_ROOT.parent / "shared" / "corpus-public"
)


@pytest.fixture
def db(tmp_path):
    """A fresh database with the knowledge-base schema."""
    database = open_db(tmp_path / "test.sqlite3")
    ensure_schema(database)
    yield database
    database.close()


@pytest.fixture
def accounts_db(tmp_path):
    """A fresh database with the accounts schema only."""
    database = open_db(tmp_path / "accounts.sqlite3")
    ensure_accounts_schema(database)
    yield database
    database.close()


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    """A corpus folder holding a copy of tests/data/corpus."""
    folder = tmp_path / "corpus"
    shutil.copytree(DATA / "corpus", folder)
    return folder


@pytest.fixture
def settings(tmp_path, tiny_corpus) -> Settings:
    """Settings pointing at a temporary data folder and the tiny corpus, lexical-only."""
    return Settings.from_env(
        {
            "KB_DATA_DIR": str(tmp_path / "data"),
            "KB_CORPUS_DIR": str(tiny_corpus),
            "KB_EMBED_MODEL": "none",
        }
    )


@pytest.fixture
def public_corpus() -> Path:
    """The six official legal texts in ../shared/corpus-public (skipped where absent)."""
    if not PUBLIC_CORPUS.is_dir():
        pytest.skip("../shared/corpus-public is not present")
    return PUBLIC_CORPUS


@pytest.fixture(scope="module")
def office_files(tmp_path_factory) -> dict[str, Path]:
    """The test law (tests/word_support.py) as .doc, .wps, .odt and .rtf, made from .docx
    by LibreOffice once per module (a start of soffice costs about 5 s). Skipped where
    LibreOffice is not installed.

    The .wps is the .doc under WPS Writer's name: WPS saves the Word 97 format. The .rtf
    is made from the law with typed numbers, as LibreOffice's RTF export writes a list's
    Chinese number text as question marks.
    """
    import subprocess

    from kb.office_convert import LIBREOFFICE_INSTALL, soffice_path
    from tests.word_support import write_law_docx

    soffice = soffice_path()
    if soffice is None:
        pytest.skip(f"LibreOffice is not installed ({LIBREOFFICE_INSTALL})")
    folder = tmp_path_factory.mktemp("office")
    sources = {
        "doc": write_law_docx(folder / "law.docx"),
        "odt": folder / "law.docx",
        "rtf": write_law_docx(folder / "typed.docx", typed=True),
    }
    for fmt, source in sources.items():
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                "--headless",
                "--convert-to",
                fmt,
                "--outdir",
                str(folder),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    shutil.copy(folder / "law.doc", folder / "law.wps")
    return {
        ".doc": folder / "law.doc",
        ".wps": folder / "law.wps",
        ".odt": folder / "law.odt",
        ".rtf": folder / "typed.rtf",
    }


class CountingEmbedder:
    """A small deterministic embedder for tests of the store: hashed character bigrams.

    Not a model of meaning; it lets tests see which passages were embedded, by which
    model id, and how often.
    """

    def __init__(self, model_id: str = "test:bigrams", dimension: int = 64) -> None:
        self.model_id = model_id
        self.label = model_id
        self.dimension = dimension
        self.passages_seen: list[str] = []

    def _vector(self, text: str):
        import zlib

        import numpy as np

        vector = np.zeros(self.dimension, dtype=np.float32)
        for i in range(len(text) - 1):
            vector[zlib.crc32(text[i : i + 2].encode()) % self.dimension] += 1.0
        norm = float(np.linalg.norm(vector)) or 1.0
        return vector / norm

    def embed_queries(self, texts):
        import numpy as np

        return np.stack([self._vector(t) for t in texts])

    def embed_passages(self, texts):
        import numpy as np

        self.passages_seen.extend(texts)
        return np.stack([self._vector(t) for t in texts])


@pytest.fixture(scope="session")
def ocr_engine():
    """One loaded OCR engine (rapidocr-onnxruntime, PP-OCRv4) shared by the OCR tests."""
    pytest.importorskip("rapidocr_onnxruntime", reason="rapidocr-onnxruntime is not installed")
    from kb.ocr import RapidOcrEngine

    return RapidOcrEngine()


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def app_settings(tmp_path, monkeypatch):
    """The app's environment for AppTest: the shipped corpus indexed, two staff accounts.

    Process-wide objects are shared by every AppTest in the process: each test starts clean.
    """
    from tests.apptest_support import make_app_settings
    from ui.services import forget_process_state

    settings = make_app_settings(tmp_path, monkeypatch)
    forget_process_state()
    yield settings
    forget_process_state()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, shared by the tests of one module.

    Module scope, not session: Playwright's sync API keeps an asyncio loop running on the
    main thread while it is open, and later tests that call asyncio.run (the soak test)
    would fail with "cannot be called from a running event loop".
    """
    from playwright.sync_api import sync_playwright

    from tests.browser_support import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# -- the office's records (tests/data/office/office_records.py) ------------------------------


@pytest.fixture
def office_db(tmp_path):
    """An office database: every schema and the office test corpus, nobody in it yet."""
    database = open_office_db(tmp_path / "office.sqlite3")
    yield database
    database.close()


@pytest.fixture(scope="session")
def bank(tmp_path_factory):
    """The office test bank (quizzes alpha and beta), checked against the test corpus."""
    database = open_office_db(tmp_path_factory.mktemp("bank") / "bank-check.sqlite3")
    try:
        return office_bank(database)
    finally:
        database.close()


@pytest.fixture(scope="module")
def bureau_file(tmp_path_factory):
    """The bureau of ``build_bureau``, built once a module (about 100 write transactions)."""
    path = tmp_path_factory.mktemp("bureau") / "bureau.sqlite3"
    database = open_office_db(path)
    build_bureau(database, office_bank(database))
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return path


@pytest.fixture
def bureau(bureau_file, tmp_path):
    """A copy of the built bureau for one test to read and change."""
    copy = tmp_path / "bureau.sqlite3"
    shutil.copyfile(bureau_file, copy)
    database = open_db(copy)
    yield database
    database.close()
