"""Process-wide resources, created once and shared by every session (the UI's cached getters).

The settings, the start-up work, the embedding model and the vector index are held in
this module for the life of the process, not in ``st.cache_resource``: a client can ask
Streamlit to clear that cache (the ``clear_cache`` message), and each model dropped that
way was loaded again while the old copy stayed in memory (927 MB -> 2.3 GB after four
messages). ``ui.protocol_guard`` refuses the message as well. Only the quiz bank, which
is cheap to reload from its files, stays in ``st.cache_resource``.

Nothing here holds a SQLite connection shared between sessions: each session opens its
own (see :func:`get_db`).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

import sqlite_utils
import streamlit as st

from base.settings import Settings
from base.store import open_db
from kb.documents import document_texts, list_documents
from kb.embedding import ModelStatus, load_embedder, model_is_off
from kb.query_batching import BatchingEmbedder
from kb.query_cache import CachingEmbedder
from kb.schema import generation
from kb.search import VectorIndex
from kb.service import prepare_data_dir
from kb.words import load_segmenter
from quizzes.accounts import FIRST_ADMIN_NO, ensure_first_admin, first_admin_notice
from quizzes.bank import Bank, load_bank
from quizzes.plan import StudyPlan, ensure_default_plan, get_plan
from quizzes.practice import CitedQuestion, questions_by_passage
from quizzes.schemas import ensure_schemas

T = TypeVar("T")

_held: dict[str, object] = {}
# Reentrant: bootstrap, held, reads the settings, held too.
_held_lock = threading.RLock()
_model_loads = 0


def _hold(name: str, make: Callable[[], T]) -> T:
    """The process's one ``name``, made by ``make`` the first time it is asked for."""
    value = _held.get(name)
    if value is None:
        with _held_lock:
            value = _held.get(name)
            if value is None:
                value = make()
                _held[name] = value
    return value  # type: ignore[return-value]


def forget_process_state() -> None:
    """Drop every object held for the process (tests: each AppTest starts afresh)."""
    with _held_lock:
        _held.clear()
    st.cache_resource.clear()


def model_loads() -> int:
    """How many times this process has loaded the embedding model (one, after a start)."""
    return _model_loads


def get_settings() -> Settings:
    """The settings, read from the environment once per process."""
    return _hold("settings", Settings.from_env)


# Objects allocated between young-generation collections (Python's default is 700).
# Under the deadline burst the default ran a full collection every 3 s, 130-150 ms
# each with every thread stopped; at 10,000 there were 2 in a whole 200-session run.
GC_YOUNG_THRESHOLD = 10_000


def bootstrap() -> bool:
    """Once per process: collect garbage less often (what is collected is the same),
    create or upgrade every table and the first admin on an empty install, and start
    loading the embedding model."""
    return _hold("bootstrap", _bootstrap)


def _bootstrap() -> bool:
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)

    prepare_data_dir(get_settings())
    db = open_db(get_settings().db_path)
    try:
        ensure_schemas(db)
        password = ensure_first_admin(db, datetime.now(UTC))
        # The shipped default plan (all quizzes, all documents, 30 days) on a new install.
        bank = load_bank(get_settings().quiz_dir, document_texts(db))
        ensure_default_plan(db, bank, list_documents(db), datetime.now(UTC))
    finally:
        db.close()
    if password:
        # Printed once, in the terminal that started the app: the only copy.
        print(first_admin_notice(FIRST_ADMIN_NO, password), flush=True)
    # Load the model now, off this page run: otherwise each worker's first search waits
    # 2-3 s for it (about a minute on a machine's first start, which converts it once).
    # The highlight's word list likewise (about 1 s).
    _model_loading()
    threading.Thread(target=load_segmenter, name="jieba-load", daemon=True).start()
    return True


def _load_model(settings: Settings) -> ModelStatus:
    global _model_loads
    _model_loads += 1
    status = load_embedder(settings.embed_model, settings.model_cache_dir, settings.torch_threads)
    if status.embedder is not None:
        # Every session's searches share one embedding thread (kb/query_batching.py); a
        # query asked before is answered from the cache without queueing (kb/query_cache.py).
        batching = BatchingEmbedder(status.embedder, nice=settings.search_nice)
        status = replace(status, embedder=CachingEmbedder(batching))
    # In the log: a second load in one process would be a leak (see the module doc).
    print(
        f"embedding model {settings.embed_model!r}: load {_model_loads} in this process",
        file=sys.stderr,
        flush=True,
    )
    # The model's objects live as long as the process: keep them out of every later
    # collection (with the model loaded, 20 submits at once: p99 1.6 s -> 1.3 s).
    gc.collect()
    gc.freeze()
    return status


def _model_loading() -> Future[ModelStatus]:
    return _hold("model", _start_model_loading)


def _start_model_loading() -> Future[ModelStatus]:
    # Started once per process, in a thread that makes no Streamlit call.
    settings = get_settings()
    if model_is_off(settings.embed_model):
        # Nothing to load: settled at once, so no page ever shows "loading".
        done: Future[ModelStatus] = Future()
        done.set_result(_load_model(settings))
        return done
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-load")
    loading = executor.submit(_load_model, settings)
    executor.shutdown(wait=False)
    return loading


MODEL_LOADING = "语义模型正在加载（服务启动后需几秒，首次启动约需一分钟），本次仅使用关键词检索。"


def get_model_status(wait: bool = True) -> ModelStatus:
    """The embedding model, loaded once per process (or the reason there is none).

    While it is still loading, a page that needs it (ingestion) waits, with a spinner;
    with ``wait=False`` (search) it gets no embedder and a message saying why.
    """
    loading = _model_loading()
    if loading.done():
        return loading.result()
    if not wait:
        return ModelStatus(None, get_settings().embed_model, MODEL_LOADING)
    with st.spinner("正在加载语义模型……"):
        return loading.result()


def get_vector_index() -> VectorIndex:
    """The current model's vectors in memory, shared by all sessions."""
    return _hold("vector_index", VectorIndex)


def get_db() -> sqlite_utils.Database:
    """This session's own connection to the app database."""
    bootstrap()
    db = st.session_state.get("_db")
    if db is None:
        db = open_db(get_settings().db_path)
        st.session_state["_db"] = db
    return db


def _bank_version() -> tuple[int, tuple[tuple[str, int, int], ...]]:
    # The documents' generation and the bank files as they are on disk: a change made in
    # another worker process (KB_WORKERS > 1) is seen here at the next page run.
    quiz_dir = get_settings().quiz_dir
    files = tuple(
        sorted(
            (entry.name, entry.stat().st_mtime_ns, entry.stat().st_size)
            for entry in os.scandir(quiz_dir)
            if entry.is_file()
        )
        if quiz_dir.is_dir()
        else ()
    )
    return generation(get_db()), files


@st.cache_resource(max_entries=4)
def _bank_for(version: tuple[int, tuple[tuple[str, int, int], ...]]) -> Bank:

    db = open_db(get_settings().db_path)
    try:
        corpus = document_texts(db)
    finally:
        db.close()
    return load_bank(get_settings().quiz_dir, corpus)


def get_bank() -> Bank:
    """The quiz bank, validated against the indexed documents; reloaded when they change."""
    return _bank_for(_bank_version())


@st.cache_resource(max_entries=4)
def _question_map_for(
    version: tuple[int, tuple[tuple[str, int, int], ...]],
) -> dict[int, list[CitedQuestion]]:

    db = open_db(get_settings().db_path)
    try:
        return questions_by_passage(db, _bank_for(version))
    finally:
        db.close()


def get_questions_by_passage() -> dict[int, list[CitedQuestion]]:
    """Which questions cite which passage; recomputed when the index or the bank changes."""
    return _question_map_for(_bank_version())


def get_study_plan() -> StudyPlan | None:
    """The study plan in force (read each run: the office may have just changed it)."""
    return get_plan(get_db())
