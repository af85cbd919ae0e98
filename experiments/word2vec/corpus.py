"""Corpora → token-id streams: lowercase, maximal [a-z]+ runs, top-V vocabulary, OOV tokens deleted.

Preprocessing follows the authors (spec §5.1): digits, punctuation, apostrophes and non-ASCII letters
are separators; out-of-vocabulary tokens are removed from the stream *before* windowing, so window
distances are measured in the stripped sequence; windows never cross an article boundary.

A corpus is a list of articles. Named corpora:
  wikitext  WikiText-103 raw (local `wikitext-103-raw/wiki.train.raw` under data_dir, or the hub)
  wikitext2 WikiText-2 raw   (local `wikitext-2-raw/wiki.train.raw`, or the hub)
  enwiki    the 65M-word Wikipedia sample (`enwiki-2015/enwiki-2015.jsonl.xz`, JSON lines with "text")
  wikipedia the paper's corpus, hub `wikimedia/wikipedia` 20231101.en streamed, or its parquet
            shards in a local folder; read shard by shard (shards.py), articles >= 500 tokens
  file      any local .txt / .raw / .jsonl file, plain or .gz / .xz / .bz2
WikiText articles start at a top-level heading line " = Title = " (sub-headings are " = = x = = ").

Token ids are cached on disk (common.cache, kind "word2vec_tokens"), keyed by the source (path +
size + mtime, or hub name), V and the preprocessing options. `ccfg` below is settings.Corpus.
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from repro.experiments.common.cache import cached
from repro.experiments.common.datadir import cache_key
from repro.experiments.common.errors import ConfigError, require
from repro.experiments.common.hub import hub_reachable
from repro.experiments.common.log import logger

from . import shards
from .tokens import build_vocab, strip_oov, tokenize_articles

log = logger("word2vec")
CACHE_VERSION = 3
# A WikiText top-level title line: " = Title = " with no "=" inside (sub-headings are " = = x = = ").
WIKITEXT_TITLE_RE = re.compile(r"^ = [^=\n].*[^=\n] = $|^ = [^=\n] = $", re.M)
OPENERS = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
TEXT_SUFFIXES = (".txt", ".raw", ".jsonl", ".json", ".tokens", ".text")


@dataclass
class Corpus:
    """A preprocessed corpus: vocabulary, counts, and its in-vocabulary token ids as parts.

    A part is (ids, starts) of whole articles: ids (n,) int32 in [0, V) with OOV tokens deleted,
    starts (n_articles + 1,) int64 offsets into ids (last = n). A file corpus is one part in memory;
    corpus=wikipedia has one part per shard, loaded on demand (shards.py), so consumers that can go
    part by part (co-occurrence counting) never hold the whole stream.
    """

    words: list[str]         # vocabulary, most frequent first
    counts: np.ndarray       # (V,) int64 unigram counts of the in-vocabulary words
    n_raw_tokens: int        # tokens before OOV deletion (after the article filter)
    n_distinct: int          # distinct words in the whole corpus
    source: str              # what was read (path or hub id)
    parts: list[Callable[[], tuple[np.ndarray, np.ndarray]]]
    n_tokens: int            # in-vocabulary tokens over all parts
    n_articles: int
    filter_stats: dict | None = None   # articles/tokens seen and kept by the min_article_tokens filter

    @classmethod
    def in_memory(cls, ids: np.ndarray, starts: np.ndarray, **fields) -> "Corpus":
        return cls(parts=[lambda: (ids, starts)], n_tokens=len(ids), n_articles=len(starts) - 1, **fields)

    @property
    def V(self) -> int:
        return len(self.words)

    def unigram(self) -> np.ndarray:
        """P_i: the in-vocabulary unigram frequency (float64, sums to 1)."""
        return self.counts / self.counts.sum()

    def iter_parts(self):
        for load in self.parts:
            yield load()

    @cached_property
    def stream(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole stream (ids, starts), for consumers that sample anywhere in it (SGNS). A
        sharded corpus is concatenated here: 4 bytes per token in memory."""
        if len(self.parts) == 1:
            return self.parts[0]()
        ids, starts, offset = [], [np.zeros(1, np.int64)], 0
        for part_ids, part_starts in self.iter_parts():
            ids.append(part_ids)
            starts.append(np.asarray(part_starts[1:], np.int64) + offset)
            offset += len(part_ids)
        return np.concatenate(ids), np.concatenate(starts)

    @property
    def ids(self) -> np.ndarray:
        return self.stream[0]

    @property
    def starts(self) -> np.ndarray:
        return self.stream[1]


# ----------------------------------------------------------------------------------------------
# Where a corpus comes from (cheap: used by validate())

def local_candidates(ccfg, data_dir: Path | None) -> list[Path]:
    """Local files that would hold a named corpus, in order of preference."""
    if ccfg.path:
        return [Path(ccfg.path).expanduser()]
    if data_dir is None:
        return []
    return [Path(data_dir) / folder / fname for folder in ccfg.local_dirs for fname in ccfg.local_files]


def find_local(ccfg, data_dir: Path | None) -> Path | None:
    """The local file of a file corpus (a streaming corpus's local shards: shards.find_folder)."""
    if ccfg.streaming:
        return None
    for p in local_candidates(ccfg, data_dir):
        if p.is_file():
            return p
    return None


def hub_hint(ccfg) -> str:
    files = ", ".join(f"{d}/{f}" for d in ccfg.local_dirs for f in ccfg.local_files[:1])
    return (f"point at a local copy with corpus.path=FILE (e.g. wiki.train.raw), or data_dir=DIR "
            f"(or REPRO_DATA_DIR) holding {files}")


def hub_cached(ccfg) -> bool:
    """Whether `datasets` has this hub corpus in its local cache (then no network is needed)."""
    root = Path(os.environ.get("HF_DATASETS_CACHE") or Path(os.environ.get("HF_HOME") or
                Path.home() / ".cache" / "huggingface") / "datasets")
    name = (ccfg.hub or "").replace("/", "___")
    return bool(name) and root.is_dir() and any(root.glob(f"{name}*/{ccfg.hub_config or ''}*"))


NAMED = ("wikitext", "wikitext2", "enwiki", "wikipedia")
FILE_KINDS = ".txt/.jsonl file (plain, .gz, .xz or .bz2)"


def check_source(ccfg, data_dir: Path | None) -> None:
    """One-line ConfigError unless the corpus can be read: missing, empty or binary file, or (named
    corpora without a local copy) no reachable hub. Reads at most a few KB."""
    if ccfg.streaming:
        return shards.check_source(ccfg, data_dir)
    path = ccfg.path
    require(ccfg.name != "file" or bool(path),
            f"corpus.path={path!r} is invalid: corpus=file needs a file; valid: corpus.path=FILE, a {FILE_KINDS}")
    require(not (path and Path(path).expanduser().is_dir()),
            f"corpus.path={path!r} is invalid: it is a directory; valid: a {FILE_KINDS}")
    local = find_local(ccfg, data_dir)
    require(local is not None or not path or ccfg.name != "file",
            f"corpus={path!r} is invalid: neither a known corpus nor an existing file; valid: {', '.join(NAMED)}, "
            f"or a {FILE_KINDS}")
    require(local is not None or not path, f"corpus.path={path!r} is invalid: it does not exist; valid: an existing {FILE_KINDS}")
    if local is not None:
        sniff_text(local)
        return
    where = f"under data_dir={data_dir}" if data_dir else "(no data_dir set)"
    require(bool(ccfg.hub), f"corpus={ccfg.name!r} is invalid: no local copy {where} and no hub source; {hub_hint(ccfg)}")
    require(hub_cached(ccfg) or hub_reachable(),
            f"corpus={ccfg.name!r} is invalid: no local copy and the Hugging Face hub is unreachable (offline); "
            f"{hub_hint(ccfg)}")


def sniff_text(path: Path, nbytes: int = 8192) -> None:
    """Reject an empty, binary or non-UTF-8 file by its first bytes (after decompression)."""
    bad = f"corpus.path={str(path)!r} is invalid"
    try:
        with open_text_bytes(path) as f:
            head = f.read(nbytes)
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise ConfigError(f"{bad}: it cannot be read as {path.suffix or 'text'} ({e}); valid: a {FILE_KINDS}") from None
    require(bool(head.strip()), f"{bad}: it is empty; valid: a file with text in it")
    require(b"\x00" not in head, f"{bad}: it looks binary (NUL bytes); valid: a UTF-8 {FILE_KINDS}")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        # a multi-byte character cut at the sniff boundary is fine
        require(e.start >= len(head) - 4, f"{bad}: it is not UTF-8 text (byte {e.start}); valid: a UTF-8 {FILE_KINDS}")


def open_text_bytes(path: Path):
    opener = OPENERS.get(path.suffix.lower(), open)
    return opener(path, "rb")


def is_jsonl(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    return ".jsonl" in suffixes or ".json" in suffixes


# ----------------------------------------------------------------------------------------------
# Reading articles

def iter_articles_local(path: Path, ccfg):
    """Yield article texts from a local file."""
    if is_jsonl(path):
        field = ccfg.text_field
        with io.TextIOWrapper(open_text_bytes(path), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip():
                    yield str(json.loads(line).get(field) or "")
        return
    with io.TextIOWrapper(open_text_bytes(path), encoding="utf-8", errors="replace") as f:
        text = f.read()
    yield from split_articles(text, ccfg.article_split)


def split_articles(text: str, mode: str) -> list[str]:
    """Split raw text into articles. auto = WikiText titles when present, else blank-line blocks."""
    if mode == "auto":
        mode = "wikitext" if WIKITEXT_TITLE_RE.search(text) else "blank"
    if mode == "none":
        return [text]
    if mode == "lines":
        return text.split("\n")
    if mode == "blank":
        return re.split(r"\n[ \t]*\n", text)
    starts = [m.start() for m in WIKITEXT_TITLE_RE.finditer(text)]
    if not starts or starts[0] != 0:
        starts = [0] + starts
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def iter_articles_hub(ccfg):
    """Yield articles from the hub (WikiText rows are lines; joined, they are the raw file's text)."""
    try:
        import datasets

        ds = datasets.load_dataset(ccfg.hub, ccfg.hub_config, split=ccfg.split)
    except Exception as e:  # offline, no cache, hub down
        raise ConfigError(f"corpus={ccfg.name!r} is invalid: no local copy and the hub failed ({type(e).__name__}); "
                          f"{hub_hint(ccfg)}") from None
    field = ccfg.text_field
    if ccfg.hub_rows_are_lines:
        yield from split_articles("".join(ds[field]), ccfg.article_split)
    else:
        for row in ds:
            yield str(row[field] or "")


# ----------------------------------------------------------------------------------------------
# The public entry: load (cached)

def source_of(ccfg, data_dir: Path | None) -> tuple[str, Path | None, dict]:
    """(label, local path or None, what the cache key depends on)."""
    if ccfg.streaming:
        label, key = shards.source_key(ccfg, data_dir)
        return label, None, key
    local = find_local(ccfg, data_dir)
    if local is not None:
        st = local.stat()
        return str(local), local, {"path": str(local.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns}
    label = f"hub:{ccfg.hub}/{ccfg.hub_config}/{ccfg.split}"
    return label, None, {"hub": label}


def preprocessing_key(ccfg) -> dict:
    return {"min_article_tokens": ccfg.min_article_tokens, "article_split": ccfg.article_split,
            "text_field": ccfg.text_field, "version": CACHE_VERSION}


def load_corpus(ccfg, V: int, data_dir: Path | None, use_cache: bool = True) -> Corpus:
    """The preprocessed corpus for settings.Corpus `ccfg`, from the checked on-disk cache when there.
    Streaming corpora (corpus=wikipedia) go shard by shard (shards.py); they always use the cache."""
    if ccfg.streaming:
        return shards.load_sharded(ccfg, V, data_dir, lambda src_key: token_key(src_key, ccfg, V))
    label, local, src_key = source_of(ccfg, data_dir)

    def compute() -> dict:
        if local is not None:
            sniff_text(local)
        articles = iter_articles_local(local, ccfg) if local is not None else iter_articles_hub(ccfg)
        log(f"tokenising {label} ...")
        all_ids, starts, interner = tokenize_articles(articles, ccfg.min_article_tokens)
        words_by_id = list(interner.index)
        require(len(all_ids) > 0, f"corpus={label!r} is invalid: no [a-z]+ tokens (empty after preprocessing); "
                                  f"valid: a corpus with English text")
        require(len(words_by_id) >= V, f"vocab_size={V} is invalid: more than the {len(words_by_id)} distinct words in "
                                       f"corpus {label!r}; valid: vocab_size<={len(words_by_id)}")
        words, counts, lookup = build_vocab(all_ids, words_by_id, V)
        ids, new_starts = strip_oov(all_ids, starts, lookup)
        return dict(ids=ids, starts=new_starts, words=np.array(words), counts=counts,
                    n_raw_tokens=np.int64(len(all_ids)), n_distinct=np.int64(len(words_by_id)))

    z = cached("word2vec_tokens", token_key(src_key, ccfg, V), compute, enabled=use_cache)
    return Corpus.in_memory(z["ids"], z["starts"], words=[str(w) for w in z["words"]], counts=z["counts"],
                            n_raw_tokens=int(z["n_raw_tokens"]), n_distinct=int(z["n_distinct"]), source=label)


def token_key(src_key: dict, ccfg, V: int) -> dict:
    return dict(kind="tokens", V=int(V), **src_key, **preprocessing_key(ccfg))


def corpus_fingerprint(ccfg, V: int, data_dir: Path | None) -> str:
    """A key for everything derived from this corpus + vocabulary (co-occurrences, eigenpairs)."""
    return cache_key(**token_key(source_of(ccfg, data_dir)[2], ccfg, V))
