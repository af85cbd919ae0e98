"""corpus=wikipedia: the paper's corpus (spec §5.1) read shard by shard, never whole in memory.

Sources (settings.Corpus with `streaming: true`):
  - the hub's `wikimedia/wikipedia`, config `20231101.en`, through `datasets` in streaming mode;
    a shard is one of the dataset's parquet files (`IterableDataset.shard(n, k)`);
  - the same parquet shards in a local folder in the hub's layout:
    `<data_dir>/wikipedia/20231101.en/train-00000-of-00041.parquet ...`, or corpus.path=FOLDER.

Two passes, each cached shard by shard through common.cache, so a killed run resumes at the first
shard it had not finished and a damaged entry is recomputed alone:
  1. tokenise: a shard's articles -> lowercase [a-z]+ tokens -> shard-local ids (first-seen
     order), article starts, the shard's word list and counts. Articles under
     min_article_tokens are dropped (500 in §5.1). At most one ~8 MB chunk of text is a Python
     string at a time (corpus.tokenize_articles), so a 2B-token corpus never sits in memory as text.
  2. once the top-V vocabulary is fixed from the counts summed over shards: local ids ->
     vocabulary ids with OOV tokens deleted before windowing (the stripped stream of §5.1).
The corpus is then a list of parts (corpus.Corpus.parts); co-occurrences are counted part by part
into one table (cooccurrence.cached_cooccurrence). Shards hold whole articles and windows never
cross an article, so that sum is exactly the table of the concatenated stream.

Disk: pass 1 keeps 4 bytes per token of the kept articles, pass 2 4 bytes per in-vocabulary token
(~15 GB for §5.1's 2.00B kept tokens at V = 10k), in $REPRO_CACHE_DIR. Pass 1 does not depend on V.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from repro.experiments.common import cache
from repro.experiments.common.errors import ConfigError, require
from repro.experiments.common.hub import hub_reachable
from repro.experiments.common.log import logger
from repro.experiments.common.progress import Progress

from .tokens import strip_oov, tokenize_articles, top_vocab

log = logger("word2vec")
SHARD_VERSION = 1
READ_BATCH = 256            # parquet rows per batch: a few MB of text
FILTER_KEYS = ("articles_seen", "tokens_seen", "articles_kept", "tokens_kept")   # the min_article_tokens totals


@dataclass(frozen=True)
class Shard:
    label: str                          # for logs
    key: dict                           # what its tokens depend on (file path + size + mtime, or hub id + index)
    read: Callable[[], Iterator[str]]   # its article texts, in order


# ----------------------------------------------------------------------------------------------
# Where the shards are (cheap: used by validate())

def parquet_files(folder: Path, split: str) -> list[Path]:
    """The split's shards in a folder in the hub's layout (`train-00000-of-00041.parquet`), else every
    .parquet file there; sorted, which is the hub's order."""
    return sorted(folder.glob(f"{split}-*.parquet")) or sorted(folder.glob("*.parquet"))


def find_folder(ccfg, data_dir: Path | None) -> Path | None:
    """The local folder of parquet shards: corpus.path, else <data_dir>/<local_dir>, each either the
    config folder itself or its parent (the hub's `<config>/<split>-*.parquet` layout)."""
    roots = [Path(ccfg.path).expanduser()] if ccfg.path else \
        [Path(data_dir) / d for d in ccfg.local_dirs] if data_dir is not None else []
    for root in roots:
        for folder in ([root / ccfg.hub_config] if ccfg.hub_config else []) + [root]:
            if folder.is_dir() and parquet_files(folder, ccfg.split):
                return folder
    return None


def check_source(ccfg, data_dir: Path | None) -> None:
    """One-line ConfigError unless the shards can be read: a local folder whose first shard has the
    text column, or a reachable hub. Reads only a parquet footer."""
    folder = find_folder(ccfg, data_dir)
    if folder is None:
        require(not ccfg.path, f"corpus.path={ccfg.path!r} is invalid: no {ccfg.split}-*.parquet shards there "
                               f"(nor under {ccfg.hub_config}/); valid: a folder of the hub's parquet shards")
        where = f"under data_dir={data_dir}" if data_dir else "(no data_dir set)"
        require(bool(ccfg.hub) and hub_reachable(),
                f"corpus={ccfg.name!r} is invalid: no local parquet shards {where} and the Hugging Face hub is "
                f"unreachable (offline); point at its parquet shards with corpus.path=FOLDER, or data_dir=DIR "
                f"(or REPRO_DATA_DIR) holding {ccfg.local_dirs[0] if ccfg.local_dirs else 'wikipedia'}/"
                f"{ccfg.hub_config}/{ccfg.split}-*.parquet")
        return
    first = parquet_files(folder, ccfg.split)[0]
    try:
        import pyarrow.parquet as pq

        names = pq.ParquetFile(first).schema_arrow.names
    except Exception as e:  # truncated or not parquet
        raise ConfigError(f"corpus.path={str(first)!r} is invalid: not a readable parquet file "
                          f"({type(e).__name__}); valid: the hub's parquet shards") from None
    require(ccfg.text_field in names, f"corpus.text_field={ccfg.text_field!r} is invalid: {first.name} has columns "
                                      f"{names}; valid: one of them")


def list_shards(ccfg, data_dir: Path | None) -> tuple[str, list[Shard]]:
    """(label, shards) from the local folder when there is one, else the hub in streaming mode."""
    folder = find_folder(ccfg, data_dir)
    if folder is not None:
        files = parquet_files(folder, ccfg.split)
        return str(folder), [_local_shard(p, ccfg.text_field) for p in files]
    return _hub_shards(ccfg)


def _local_shard(path: Path, field: str) -> Shard:
    st = path.stat()

    def read() -> Iterator[str]:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(columns=[field], batch_size=READ_BATCH):
            for text in batch.column(0).to_pylist():
                yield text or ""

    return Shard(path.name, {"path": str(path.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns}, read)


def _hub_shards(ccfg) -> tuple[str, list[Shard]]:
    label = f"hub:{ccfg.hub}/{ccfg.hub_config}/{ccfg.split}"
    try:
        import datasets

        ds = datasets.load_dataset(ccfg.hub, ccfg.hub_config, split=ccfg.split, streaming=True)
    except Exception as e:  # offline, hub down
        raise ConfigError(f"corpus={ccfg.name!r} is invalid: the hub failed ({type(e).__name__}: {e}); "
                          f"valid: a local folder of its parquet shards (corpus.path=FOLDER)") from None
    require(hasattr(ds, "shard"), f"corpus={ccfg.name!r} is invalid with datasets {datasets.__version__}: its streaming "
                                  f"datasets cannot be sharded; valid: datasets>=2.18, or local parquet shards")
    n, field = getattr(ds, "num_shards", None) or ds.n_shards, ccfg.text_field

    def shard(k: int) -> Shard:
        def read() -> Iterator[str]:
            for row in ds.shard(num_shards=n, index=k, contiguous=True):
                yield row[field] or ""
        return Shard(f"{label} shard {k + 1}/{n}", {"hub": label, "shard": k, "of": n}, read)

    return label, [shard(k) for k in range(n)]


def source_key(ccfg, data_dir: Path | None) -> tuple[str, dict]:
    """(label, what every shard-derived cache depends on): the shard keys, in order."""
    label, shards = list_shards(ccfg, data_dir)
    return label, {"shards": [s.key for s in shards]}


# ----------------------------------------------------------------------------------------------
# Pass 1: tokenise each shard (cached per shard: the resume points)

def _pack(words: list[str]) -> np.ndarray:
    """A word list as one uint8 array ("\\n"-joined): a shard's ~1M words as a numpy string array
    would take max-length x 4 bytes each."""
    return np.frombuffer("\n".join(words).encode("ascii"), np.uint8)


def _unpack(blob: np.ndarray) -> list[str]:
    return blob.tobytes().decode("ascii").split("\n") if blob.size else []


def _shard_parts(shard: Shard, prep: dict) -> dict:
    return dict(kind="shard_tokens", **shard.key, **prep, shard_version=SHARD_VERSION)


def tokenise_shard(shard: Shard, prep: dict, min_tokens: int) -> dict:
    """Pass 1 for one shard: stores its token ids (entry "word2vec_shard_tokens") and returns, cached
    as "word2vec_shard_vocab", its word list, counts and the filter's seen/kept totals."""
    def compute() -> dict:
        seen: dict[str, int] = {}
        ids, starts, interner = tokenize_articles(shard.read(), min_tokens, seen=seen)
        cache.store("word2vec_shard_tokens", _shard_parts(shard, prep), dict(ids=ids, starts=starts))
        return dict(words=_pack(list(interner.index)), counts=np.bincount(ids, minlength=len(interner.index)),
                    articles_seen=np.int64(seen["articles"]), tokens_seen=np.int64(seen["tokens"]),
                    articles_kept=np.int64(len(starts) - 1), tokens_kept=np.int64(len(ids)))

    return cache.cached("word2vec_shard_vocab", _shard_parts(shard, prep), compute)


def shard_token_ids(shard: Shard, prep: dict, min_tokens: int) -> dict:
    """A shard's pass-1 ids and starts; a missing or damaged entry is re-tokenised (deterministic, so
    the cached word list still matches)."""
    hit = cache.load("word2vec_shard_tokens", _shard_parts(shard, prep))
    if hit is None:
        for path in cache.entry_paths("word2vec_shard_vocab", _shard_parts(shard, prep)):
            path.unlink(missing_ok=True)    # so tokenise_shard redoes the shard and stores its ids
        tokenise_shard(shard, prep, min_tokens)
        hit = cache.load("word2vec_shard_tokens", _shard_parts(shard, prep))
    return hit


def tokenise_all(shards: list[Shard], prep: dict, min_tokens: int) -> list[dict]:
    """Pass 1 over every shard, with a progress line (shards, rate, ETA, tokens/s of fresh work)."""
    out, fresh_tokens, fresh_s = [], 0, 0.0
    with Progress(len(shards), "tokenise", unit="shard") as bar:
        for shard in shards:
            t = time.perf_counter()
            hit = cache.load("word2vec_shard_vocab", _shard_parts(shard, prep))
            v = hit if hit is not None else tokenise_shard(shard, prep, min_tokens)
            if hit is None:
                fresh_tokens += int(v["tokens_seen"])
                fresh_s += time.perf_counter() - t
            out.append(v)
            bar.update(1, tokens_per_s=fresh_tokens / max(fresh_s, 1e-9), shard=shard.label)
    if fresh_s:
        log(f"tokenised {fresh_tokens:,} raw tokens in {fresh_s:.1f} s ({fresh_tokens / fresh_s:,.0f} tokens/s)")
    return out


# ----------------------------------------------------------------------------------------------
# The vocabulary, pass 2, and the corpus

def merge_counts(vocabs: list[dict]) -> tuple[list[str], np.ndarray]:
    """Every distinct word and its count summed over shards (first-seen order)."""
    index: dict[str, int] = {}
    totals: list[int] = []
    for v in vocabs:
        for w, c in zip(_unpack(v["words"]), v["counts"].tolist()):
            i = index.setdefault(w, len(totals))
            if i == len(totals):
                totals.append(c)
            else:
                totals[i] += c
    return list(index), np.asarray(totals, np.int64)


def strip_shard(shard: Shard, prep: dict, min_tokens: int, vocab_index: dict[str, int], vocab_key: str) -> dict:
    """Pass 2 for one shard (cached, keyed by the vocabulary): vocabulary ids, OOV deleted."""
    def compute() -> dict:
        tok = shard_token_ids(shard, prep, min_tokens)
        local_words = _unpack(tokenise_shard(shard, prep, min_tokens)["words"])
        lookup = np.fromiter((vocab_index.get(w, -1) for w in local_words), np.int32, len(local_words))
        ids, starts = strip_oov(tok["ids"], tok["starts"], lookup)
        return dict(ids=ids, starts=starts)

    return cache.cached("word2vec_shard_ids", dict(_shard_parts(shard, prep), kind="shard_ids", vocab=vocab_key),
                        compute)


def load_sharded(ccfg, V: int, data_dir: Path | None, token_key: Callable[[dict], dict]):
    """The corpus as parts (pass 2 shards, loaded on demand); the vocabulary and totals are cached
    under token_key(source key) like any corpus's token ids."""
    from .corpus import Corpus, preprocessing_key

    label, shards = list_shards(ccfg, data_dir)
    prep, min_tokens = preprocessing_key(ccfg), ccfg.min_article_tokens
    key = token_key({"shards": [s.key for s in shards]})
    vocab_key = cache.cache_key(**key)

    def compute() -> dict:
        log(f"{label}: {len(shards)} shards; pass 1 (tokenise, resumable per shard) ...")
        vocabs = tokenise_all(shards, prep, min_tokens)
        words_by_id, counts_by_id = merge_counts(vocabs)
        require(counts_by_id.sum() > 0, f"corpus={label!r} is invalid: no [a-z]+ tokens in articles of >= "
                                        f"{min_tokens} tokens; valid: a corpus with English text")
        require(len(words_by_id) >= V, f"vocab_size={V} is invalid: more than the {len(words_by_id)} distinct "
                                       f"words in corpus {label!r}; valid: vocab_size<={len(words_by_id)}")
        words, counts, _ = top_vocab(counts_by_id, words_by_id, V)
        total = {k: int(sum(int(v[k]) for v in vocabs)) for k in FILTER_KEYS}
        lengths = np.zeros(len(shards), np.int64)
        articles = np.zeros(len(shards), np.int64)
        index = {w: i for i, w in enumerate(words)}
        with Progress(len(shards), "strip OOV", unit="shard") as bar:
            for k, shard in enumerate(shards):
                part = strip_shard(shard, prep, min_tokens, index, vocab_key)
                lengths[k], articles[k] = len(part["ids"]), len(part["starts"]) - 1
                bar.update(1)
        return dict(words=np.array(words), counts=counts, n_raw_tokens=np.int64(total["tokens_kept"]),
                    n_distinct=np.int64(len(words_by_id)), part_tokens=lengths, part_articles=articles,
                    **{k: np.int64(v) for k, v in total.items()})

    z = cache.cached("word2vec_tokens", key, compute)
    words = [str(w) for w in z["words"]]
    index = {w: i for i, w in enumerate(words)}

    def part(shard: Shard):
        def load():
            p = strip_shard(shard, prep, min_tokens, index, vocab_key)
            return p["ids"], p["starts"]
        return load

    stats = {k: int(z[k]) for k in FILTER_KEYS}
    return Corpus(words=words, counts=z["counts"], n_raw_tokens=int(z["n_raw_tokens"]),
                  n_distinct=int(z["n_distinct"]), source=label, parts=[part(s) for s in shards],
                  n_tokens=int(z["part_tokens"].sum()), n_articles=int(z["part_articles"].sum()),
                  filter_stats=stats)
