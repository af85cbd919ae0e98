"""Corpora → token-id streams: lowercase, maximal [a-z]+ runs, top-V vocabulary, OOV tokens deleted.

Preprocessing follows the authors (spec §5.1): digits, punctuation, apostrophes and non-ASCII letters
are separators; out-of-vocabulary tokens are removed from the stream *before* windowing, so window
distances are measured in the stripped sequence; windows never cross an article boundary.

A corpus is a list of articles. Named corpora:
  wikitext  WikiText-103 raw (local `wikitext-103-raw/wiki.train.raw` under data_dir, or the hub)
  wikitext2 WikiText-2 raw   (local `wikitext-2-raw/wiki.train.raw`, or the hub)
  enwiki    the 65M-word Wikipedia sample (`enwiki-2015/enwiki-2015.jsonl.xz`, JSON lines with "text")
  file      any local .txt / .raw / .jsonl file, plain or .gz / .xz / .bz2
WikiText articles start at a top-level heading line " = Title = " (sub-headings are " = = x = = ").

Token ids are cached on disk (common.datadir.cache_dir("word2vec_tokens")), keyed by the source
(path + size + mtime, or hub name), V and the preprocessing options.
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repro.experiments.common.datadir import cache_dir, cache_key
from repro.experiments.common.errors import ConfigError

NAMED = ("wikitext", "wikitext2", "enwiki", "file")
CACHE_VERSION = 2
TOKEN_RE = re.compile(r"[a-z]+")
# A WikiText top-level title line: " = Title = " with no "=" inside (sub-headings are " = = x = = ").
WIKITEXT_TITLE_RE = re.compile(r"^ = [^=\n].*[^=\n] = $|^ = [^=\n] = $", re.M)
OPENERS = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
TEXT_SUFFIXES = (".txt", ".raw", ".jsonl", ".json", ".tokens", ".text")
ARTICLE_SPLITS = ("auto", "wikitext", "blank", "lines", "none")


@dataclass
class Corpus:
    """A preprocessed corpus: in-vocabulary token ids, article starts, vocabulary and counts."""

    ids: np.ndarray          # (n,) int32 token ids in [0, V), OOV tokens deleted
    starts: np.ndarray       # (n_articles + 1,) int64 article start offsets into ids; last = n
    words: list[str]         # vocabulary, most frequent first
    counts: np.ndarray       # (V,) int64 unigram counts of the in-vocabulary words
    n_raw_tokens: int        # tokens before OOV deletion (after the article filter)
    n_distinct: int          # distinct words in the whole corpus
    source: str              # what was read (path or hub id)

    @property
    def V(self) -> int:
        return len(self.words)

    def unigram(self) -> np.ndarray:
        """P_i: the in-vocabulary unigram frequency (float64, sums to 1)."""
        return self.counts / self.counts.sum()


# ----------------------------------------------------------------------------------------------
# Where a corpus comes from (cheap: used by validate())

def local_candidates(ccfg, data_dir: Path | None) -> list[Path]:
    """Local files that would hold a named corpus, in order of preference."""
    if ccfg.get("path"):
        return [Path(str(ccfg.path)).expanduser()]
    if data_dir is None:
        return []
    out = []
    for folder in ccfg.get("local_dirs") or []:
        for fname in ccfg.get("local_files") or []:
            out.append(Path(data_dir) / folder / fname)
    return out


def find_local(ccfg, data_dir: Path | None) -> Path | None:
    for p in local_candidates(ccfg, data_dir):
        if p.is_file():
            return p
    return None


def hub_hint(ccfg) -> str:
    files = ", ".join(f"{d}/{f}" for d in (ccfg.get("local_dirs") or []) for f in (ccfg.get("local_files") or [])[:1])
    return (f"point at a local copy with corpus.path=FILE (e.g. wiki.train.raw), or data_dir=DIR "
            f"(or REPRO_DATA_DIR) holding {files}")


def hub_reachable(timeout: float = 3.0) -> bool:
    """A cheap probe: can we open a TCP connection to the Hugging Face hub? (offline → False)."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def hub_cached(ccfg) -> bool:
    """Whether `datasets` has this hub corpus in its local cache (then no network is needed)."""
    root = Path(os.environ.get("HF_DATASETS_CACHE") or Path(os.environ.get("HF_HOME") or
                Path.home() / ".cache" / "huggingface") / "datasets")
    name = str(ccfg.get("hub") or "").replace("/", "___")
    return bool(name) and root.is_dir() and any(root.glob(f"{name}*/{ccfg.get('hub_config') or ''}*"))


def check_source(ccfg, data_dir: Path | None) -> None:
    """One-line ConfigError unless the corpus can be read: unknown name, missing, empty or binary file,
    or (named corpora without a local copy) no reachable hub. Reads at most a few KB."""
    name = str(ccfg.get("name"))
    if name not in NAMED:
        raise ConfigError(f"corpus={name!r} is unknown; valid corpora: {', '.join(NAMED[:-1])}, or a path to a "
                          f".txt/.jsonl file (plain, .gz, .xz or .bz2)")
    if ccfg.get("article_split", "auto") not in ARTICLE_SPLITS:
        raise ConfigError(f"corpus.article_split={ccfg.article_split!r} is invalid; valid choices: {', '.join(ARTICLE_SPLITS)}")
    if name == "file" and not ccfg.get("path"):
        raise ConfigError("corpus.path=None is invalid: corpus=file needs corpus.path=FILE (.txt/.jsonl, optionally .gz/.xz/.bz2)")
    if ccfg.get("path") and Path(str(ccfg.path)).expanduser().is_dir():
        raise ConfigError(f"corpus.path={str(ccfg.path)!r} is a directory; give a .txt/.jsonl file")
    local = find_local(ccfg, data_dir)
    if local is None and ccfg.get("path"):
        if name == "file":
            raise ConfigError(f"corpus {str(ccfg.path)!r} is neither a known corpus ({', '.join(NAMED[:-1])}) "
                              f"nor an existing file; give one of those names or a .txt/.jsonl path")
        raise ConfigError(f"corpus.path={str(ccfg.path)!r} does not exist; give an existing .txt/.jsonl file")
    if local is not None:
        sniff_text(local)
        return
    if not ccfg.get("hub"):
        where = f" under data_dir={data_dir}" if data_dir else " (no data_dir set)"
        raise ConfigError(f"corpus={name!r} has no local copy{where} and no hub source; {hub_hint(ccfg)}")
    if not hub_cached(ccfg) and not hub_reachable():
        raise ConfigError(f"corpus={name!r}: no local copy and the Hugging Face hub is unreachable (offline); {hub_hint(ccfg)}")


def sniff_text(path: Path, nbytes: int = 8192) -> None:
    """Reject an empty or binary file by its first bytes (after decompression)."""
    if path.is_dir():
        raise ConfigError(f"corpus.path={str(path)!r} is a directory; give a .txt/.jsonl file")
    try:
        with open_text_bytes(path) as f:
            head = f.read(nbytes)
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise ConfigError(f"corpus.path={str(path)!r} cannot be read as {path.suffix or 'text'}: {e}") from None
    if not head.strip():
        raise ConfigError(f"corpus.path={str(path)!r} is empty; give a file with text in it")
    if b"\x00" in head:
        raise ConfigError(f"corpus.path={str(path)!r} looks binary (NUL bytes); give a UTF-8 .txt or .jsonl file")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # a multi-byte character cut at the sniff boundary is fine
            raise ConfigError(f"corpus.path={str(path)!r} is not UTF-8 text (byte {e.start}); give a UTF-8 .txt or .jsonl file") from None


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
        field = str(ccfg.get("text_field") or "text")
        with io.TextIOWrapper(open_text_bytes(path), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip():
                    yield str(json.loads(line).get(field) or "")
        return
    with io.TextIOWrapper(open_text_bytes(path), encoding="utf-8", errors="replace") as f:
        text = f.read()
    yield from split_articles(text, str(ccfg.get("article_split") or "auto"))


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

        ds = datasets.load_dataset(str(ccfg.hub), ccfg.get("hub_config"), split=str(ccfg.get("split") or "train"))
    except Exception as e:  # offline, no cache, hub down
        raise ConfigError(f"corpus={ccfg.name!r}: no local copy and the hub failed ({type(e).__name__}); "
                          f"{hub_hint(ccfg)}") from None
    field = str(ccfg.get("text_field") or "text")
    if ccfg.get("hub_rows_are_lines", False):
        yield from split_articles("".join(ds[field]), str(ccfg.get("article_split") or "auto"))
    else:
        for row in ds:
            yield str(row[field] or "")


# ----------------------------------------------------------------------------------------------
# Tokenising and the vocabulary

class _Interner:
    """Maps words to ids in first-seen order. Per chunk, only the *new* distinct words go through
    Python; the per-token lookup is `map(dict.__getitem__)` (a C loop) straight into numpy."""

    def __init__(self):
        self.index: dict[str, int] = {}

    def encode(self, tokens: list[str]) -> np.ndarray:
        index = self.index
        for w in set(tokens).difference(index):
            index[w] = len(index)
        return np.fromiter(map(index.__getitem__, tokens), dtype=np.int32, count=len(tokens))


def tokenize_articles(articles, min_tokens: int = 0, chunk_chars: int = 8_000_000):
    """All-word ids (first-seen order), article starts, the interner. Articles shorter than
    min_tokens raw tokens are dropped (the authors keep articles with >= 500 tokens)."""
    interner = _Interner()
    pieces, lengths = [], []
    buf, buf_chars = [], 0

    def flush():
        nonlocal buf, buf_chars
        # one regex call over many articles; a NUL separator keeps per-article counts recoverable
        text = "\0".join(buf).lower()
        toks_per_article = [TOKEN_RE.findall(t) for t in text.split("\0")]
        for toks in toks_per_article:
            if len(toks) >= max(min_tokens, 1):
                pieces.append(interner.encode(toks))
                lengths.append(len(toks))
        buf, buf_chars = [], 0

    for art in articles:
        buf.append(art.replace("\0", " "))
        buf_chars += len(art)
        if buf_chars >= chunk_chars:
            flush()
    if buf:
        flush()
    ids = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
    starts = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=starts[1:])
    return ids, starts, interner


def build_vocab(all_ids: np.ndarray, words_by_id: list[str], V: int):
    """Top-V words by count (ties broken alphabetically, so the vocabulary is deterministic)."""
    counts = np.bincount(all_ids, minlength=len(words_by_id))
    order = sorted(range(len(words_by_id)), key=lambda i: (-counts[i], words_by_id[i]))[:V]
    lookup = np.full(len(words_by_id), -1, np.int32)
    lookup[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
    return [words_by_id[i] for i in order], counts[order].astype(np.int64), lookup


def strip_oov(all_ids: np.ndarray, starts: np.ndarray, lookup: np.ndarray):
    """Map to vocabulary ids and delete OOV tokens; article starts move to the stripped stream."""
    mapped = lookup[all_ids]
    keep = mapped >= 0
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    return mapped[keep], kept_before[starts]


# ----------------------------------------------------------------------------------------------
# The public entry: load (cached)

def source_of(ccfg, data_dir: Path | None) -> tuple[str, Path | None, dict]:
    """(label, local path or None, what the cache key depends on)."""
    local = find_local(ccfg, data_dir)
    if local is not None:
        st = local.stat()
        return str(local), local, {"path": str(local.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns}
    label = f"hub:{ccfg.get('hub')}/{ccfg.get('hub_config')}/{ccfg.get('split')}"
    return label, None, {"hub": label}


def preprocessing_key(ccfg) -> dict:
    return {"min_article_tokens": int(ccfg.get("min_article_tokens") or 0),
            "article_split": str(ccfg.get("article_split") or "auto"),
            "text_field": str(ccfg.get("text_field") or "text"), "version": CACHE_VERSION}


def load_corpus(ccfg, V: int, data_dir: Path | None, use_cache: bool = True, log=print) -> Corpus:
    """The preprocessed corpus for config section `corpus`, from the on-disk cache when present."""
    label, local, src_key = source_of(ccfg, data_dir)
    key = cache_key(kind="tokens", V=int(V), **src_key, **preprocessing_key(ccfg))
    path = cache_dir("word2vec_tokens") / f"{key}.npz"
    if use_cache and path.exists():
        return _read_cache(path, label)
    if local is not None:
        sniff_text(local)
    articles = iter_articles_local(local, ccfg) if local is not None else iter_articles_hub(ccfg)
    log(f"tokenising {label} ...")
    all_ids, starts, interner = tokenize_articles(articles, int(ccfg.get("min_article_tokens") or 0))
    words_by_id = list(interner.index)
    if len(all_ids) == 0:
        raise ConfigError(f"corpus {label!r} has no [a-z]+ tokens (empty after preprocessing); give a corpus with English text")
    if len(words_by_id) < V:
        raise ConfigError(f"vocab_size={V} is more than the {len(words_by_id)} distinct words in corpus {label!r}; "
                          f"use vocab_size<={len(words_by_id)}")
    words, counts, lookup = build_vocab(all_ids, words_by_id, V)
    ids, new_starts = strip_oov(all_ids, starts, lookup)
    corpus = Corpus(ids, new_starts, words, counts, int(len(all_ids)), len(words_by_id), label)
    if use_cache:
        _write_cache(path, corpus)
    return corpus


def _write_cache(path: Path, c: Corpus) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, ids=c.ids, starts=c.starts, words=np.array(c.words), counts=c.counts,
             n_raw_tokens=c.n_raw_tokens, n_distinct=c.n_distinct)
    os.replace(tmp, path)


def _read_cache(path: Path, label: str) -> Corpus:
    with np.load(path) as z:
        return Corpus(z["ids"], z["starts"], [str(w) for w in z["words"]], z["counts"],
                      int(z["n_raw_tokens"]), int(z["n_distinct"]), label)


def corpus_fingerprint(ccfg, V: int, data_dir: Path | None) -> str:
    """A key for everything derived from this corpus + vocabulary (co-occurrences, eigenpairs)."""
    _, _, src_key = source_of(ccfg, data_dir)
    return cache_key(kind="tokens", V=int(V), **src_key, **preprocessing_key(ccfg))
