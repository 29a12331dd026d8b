"""Choosing the embedding model: the builtin one, a local folder, or lexical-only with
a message when the setting cannot be loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from kb.embedding import (
    OnnxQueryEmbedder,
    SentenceTransformerEmbedder,
    load_embedder,
    model_id_for,
)
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


@pytest.fixture(scope="module")
def plain(builtin):
    """The converted folder given as KB_EMBED_MODEL: another model, on the plain torch path."""
    status = load_embedder(builtin.location, Path(builtin.location).parent, threads=2)
    assert status.message == ""
    return status


SENTENCES = Path(__file__).parent / "data" / "e5_sentences.txt"
# Chinese, English, mixed, whitespace at the ends and inside, empty, and past 512 tokens.
QUERY_CASES = [
    *SENTENCES.read_text(encoding="utf-8").split("\n")[:23],
    "饭店厨房的烟气能不能排",
    "How much protein per day?",
    "Environmental Protection Bureau, EPA",
    "PM2.5浓度下降了12.5%，AQI良好",
    "绿水青山😀就是金山银山！",
    "  前后有空格  ",
    "  多个   空格\t制表符\n换行",
    "",
    "xyz",
    "创建文明单位实施方案" * 150,
]


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
def test_builtin_queries_run_on_onnx_runtime_with_torchs_vectors(builtin, plain):
    assert isinstance(builtin.embedder, OnnxQueryEmbedder)
    assert isinstance(plain.embedder, SentenceTransformerEmbedder)
    through_torch = plain.embedder.model.encode(
        QUERY_CASES, prompt_name="query", normalize_embeddings=True, convert_to_numpy=True
    )
    together = builtin.embedder.embed_queries(QUERY_CASES)
    alone = np.concatenate([builtin.embedder.embed_queries([q]) for q in QUERY_CASES])
    # Measured: 1.5e-7 at most; padding in a batch is masked out.
    assert together.shape == alone.shape == (len(QUERY_CASES), 384)
    assert float(np.abs(together - through_torch).max()) <= 1e-5
    assert float(np.abs(alone - through_torch).max()) <= 1e-5
    assert float(np.abs(alone - together).max()) <= 1e-5
    assert builtin.embedder.embed_queries([]).shape == (0, 384)


@pytest.mark.model
def test_builtin_query_tokens_are_those_torch_is_given(builtin, plain):
    for query in QUERY_CASES:
        ids, mask = builtin.embedder.tokenize([query])
        fed = plain.embedder.model.preprocess([query], prompt="query: ")
        assert (ids.tolist(), mask.tolist()) == (
            fed["input_ids"].tolist(),
            fed["attention_mask"].tolist(),
        ), query
    assert builtin.embedder.tokenize(["创建文明单位实施方案" * 150])[0].shape == (1, 512)


@pytest.mark.model
def test_builtin_passages_are_embedded_by_torch_as_before(builtin, plain):
    passages = QUERY_CASES[:5]
    assert np.array_equal(
        builtin.embedder.embed_passages(passages), plain.embedder.embed_passages(passages)
    )
    # Stored vectors keep their id: documents are embedded as before the ONNX query path.
    assert plain.embedder.model_id.startswith("local:multilingual-e5-small-q4-dequant:")


_LOAD_THEN_EMBED_A_PASSAGE = """
import sys
from pathlib import Path
from kb.embedding import load_embedder
status = load_embedder("builtin", Path({cache!r}), threads=1)
status.embedder.embed_queries(["生态环境保护"])
print(status.message == "", "torch" in sys.modules)
status.embedder.embed_passages(["生态环境保护"])
print("torch" in sys.modules)
"""


@pytest.mark.model
def test_searching_with_the_builtin_model_does_not_load_torch(builtin):
    import subprocess
    import sys

    code = _LOAD_THEN_EMBED_A_PASSAGE.format(cache=str(Path(builtin.location).parent))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False", "True"]


@pytest.mark.model
def test_a_lone_query_embeds_bit_for_bit_as_encode_does(plain):
    # search embeds one query at a time without encode()'s bookkeeping (kb.embedding)
    embedder = plain.embedder
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
