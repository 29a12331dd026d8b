"""Choosing the embedding model: the builtin one, a local folder, or lexical-only with
a message when the setting cannot be loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from kb.embedding import load_embedder, model_id_for
from kb.ingest import sync_corpus
from kb.search import VectorIndex, search


def test_none_means_lexical_only_with_a_message(tmp_path):
    status = load_embedder("none", tmp_path)
    assert (status.embedder, status.message) == (
        None,
        "已按设置关闭语义模型（KB_EMBED_MODEL=none），仅使用关键词检索。",
    )


def test_a_folder_that_is_not_a_model_falls_back_to_lexical_with_the_reason(tmp_path):
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "readme.txt").write_text("nothing here")
    status = load_embedder(str(folder), tmp_path / "cache")
    assert status.embedder is None
    assert status.message.startswith(f"语义模型 “{folder}” 无法加载（")
    assert status.message.endswith("），当前仅使用关键词检索。")


def test_a_hub_name_without_hub_access_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    status = load_embedder("BAAI/bge-small-zh-v1.5", tmp_path / "cache")
    assert status.embedder is None
    assert status.message.startswith("语义模型 “BAAI/bge-small-zh-v1.5” 无法加载（")


@pytest.fixture(scope="module")
def builtin(tmp_path_factory):
    status = load_embedder("builtin", tmp_path_factory.mktemp("models"), threads=2)
    assert status.message == ""
    return status


@pytest.mark.model
def test_builtin_model_is_the_labelled_e5(builtin):
    embedder = builtin.embedder
    assert (embedder.label, embedder.dimension) == (
        "multilingual-e5-small (4-bit weights, dequantized), MIT licence",
        384,
    )
    assert embedder.model_id.startswith("builtin:multilingual-e5-small-q4-dequant:v1:")
    # The id ingest asks the index with before loading (kb.embedding.LazyEmbedder).
    assert embedder.model_id == model_id_for("builtin", Path(builtin.location).parent)


@pytest.mark.model
def test_dense_search_finds_a_paraphrase_that_shares_no_words(builtin, db, tiny_corpus):
    sync_corpus(db, tiny_corpus, builtin.embedder)
    # worded as a person asks, not as the article says it
    result = search(
        db, "饭店厨房的烟气能不能排", embedder=builtin.embedder, index=VectorIndex(), method="dense"
    )
    assert result.hits[0].text == "任何单位不得在居民区附近排放油烟。"


@pytest.mark.model
def test_a_lone_query_embeds_bit_for_bit_as_encode_does(builtin):
    # search embeds one query at a time without encode()'s bookkeeping (kb.embedding)
    embedder = builtin.embedder
    for query in ("饭店厨房的烟气能不能排", "公务员 辞职", "xyz", "第六十四条"):
        through_encode = embedder.model.encode(
            [query], prompt_name="query", normalize_embeddings=True, convert_to_numpy=True
        )
        assert np.array_equal(embedder.embed_queries([query]), through_encode)


@pytest.mark.model
def test_the_threads_setting_caps_the_dense_products_blas_as_well(builtin):
    status = load_embedder("builtin", Path(builtin.location).parent, threads=1)
    assert status.message == ""
    blas = {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    assert blas == {1}


def test_the_builtin_model_id_is_known_without_importing_torch(tmp_path):
    import hashlib
    import subprocess
    import sys

    from kb.builtin_model import BuiltinModelUnavailable, locate_sources

    try:
        sources = locate_sources()
    except BuiltinModelUnavailable as exc:
        pytest.skip(str(exc))
    digest = hashlib.sha256(sources.bin_path.read_bytes()).hexdigest()[:12]
    code = (
        "import sys; from pathlib import Path; from kb.embedding import model_id_for;"
        f" print(model_id_for('builtin', Path({str(tmp_path)!r})), 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [
        f"builtin:multilingual-e5-small-q4-dequant:v1:{digest}",
        "False",
    ]
