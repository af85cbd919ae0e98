"""corpus=wikipedia's shard-by-shard pipeline: per-token rate on the Wikipedia sample, and the 2B-token time.

    python benchmarks/word2vec_wikipedia_shards.py [DATA_DIR] [--shards 8] [--vocab 10000]

No hub here, so the 65M-word sample (DATA_DIR/enwiki-2015/enwiki-2015.jsonl.xz) is first written as
parquet shards in the hub's layout (`wikipedia/20231101.en/train-0000k-of-0000n.parquet`, columns
id/url/title/text; not timed). Then, with a fresh cache and §5.1's rules (articles >= 500 tokens):
  - ours: corpus=wikipedia read shard by shard — pass 1 (tokenise each shard), the vocabulary merge,
    pass 2 (OOV deletion) — and the co-occurrence table counted part by part;
  - the peer: the in-memory path on the same articles as one JSON-lines file (one tokenise call, one
    count over the whole stream), the path every file corpus takes.
Both must give the same vocabulary, token stream and table. It prints tokens/s of each stage, the
ratio to the peer, and the time §5.1's corpus would take: 4.34B raw tokens tokenised, 2.00B kept
tokens stripped and counted, at the measured rates (one process; the stages are CPU-bound).
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import lzma
import os
import tempfile
import time
from pathlib import Path

import numpy as np

RAW_TOKENS, KEPT_TOKENS = 4.34e9, 2.00e9     # spec §5.1: the whole dump, and its articles of >= 500 tokens


def write_shards(src: Path, folder: Path, n: int) -> tuple[int, Path]:
    """The sample's articles as n parquet shards (hub layout) and as one JSON-lines file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    with io.TextIOWrapper(lzma.open(src, "rb"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    folder.mkdir(parents=True)
    for k, idx in enumerate(np.array_split(np.arange(len(rows)), n)):
        part = [rows[i] for i in idx]
        table = pa.table({"id": [str(r["id"]) for r in part], "url": [""] * len(part),
                          "title": [r["title"] for r in part], "text": [r["text"] for r in part]})
        pq.write_table(table, folder / f"train-{k:05d}-of-{n:05d}.parquet")
    whole = folder.parent.parent / "whole.jsonl"
    whole.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in rows))
    return len(rows), whole


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", nargs="?", default=os.environ.get("REPRO_DATA_DIR"))
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--window", type=int, default=16)
    args = ap.parse_args()
    if not args.data_dir:
        raise SystemExit("give DATA_DIR (holding enwiki-2015/enwiki-2015.jsonl.xz) or set REPRO_DATA_DIR")
    tmp = Path(tempfile.mkdtemp(prefix="w2v-shards-"))
    os.environ["REPRO_CACHE_DIR"] = str(tmp / "cache")      # fresh: every stage is computed, none read back

    from repro.cli.compose import compose_config
    from repro.experiments.word2vec import cooccurrence, corpus as C
    from repro.experiments.word2vec.settings import settings

    n_art, whole = write_shards(Path(args.data_dir) / "enwiki-2015" / "enwiki-2015.jsonl.xz",
                                tmp / "wikipedia" / "20231101.en", args.shards)
    wiki = settings(compose_config("word2vec", ["corpus=wikipedia", f"corpus.path={tmp / 'wikipedia'}"])).corpus
    file_cfg = dataclasses.replace(settings(compose_config("word2vec", ["corpus=file"])).corpus, path=str(whole),
                                   min_article_tokens=wiki.min_article_tokens)
    print(f"sample: {n_art:,} articles in {args.shards} parquet shards; V={args.vocab}, window={args.window}, "
          f"articles >= {wiki.min_article_tokens} tokens; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")

    t = time.perf_counter()
    c = C.load_corpus(wiki, args.vocab, None)                 # pass 1 + merge + pass 2, cached per shard
    t_load = time.perf_counter() - t
    raw = c.filter_stats["tokens_seen"]
    fp = C.corpus_fingerprint(wiki, args.vocab, None)
    t = time.perf_counter()
    co = cooccurrence.cached_cooccurrence(c, fp, args.window)
    t_cooc = time.perf_counter() - t

    t = time.perf_counter()
    ref = C.load_corpus(file_cfg, args.vocab, None, use_cache=False)
    t_ref_load = time.perf_counter() - t
    t = time.perf_counter()
    ref_co = cooccurrence.count_cooccurrences(ref.ids, ref.starts, ref.V, args.window)
    t_ref_cooc = time.perf_counter() - t

    same = (c.words == ref.words and np.array_equal(c.ids, ref.ids) and np.array_equal(c.starts, ref.starts)
            and co.n_pairs == ref_co.n_pairs)
    table_err = float(np.max(np.abs(co.weighted - ref_co.weighted) / np.maximum(ref_co.weighted, 1.0)))
    print(f"kept: {c.filter_stats['articles_kept']:,} of {c.filter_stats['articles_seen']:,} articles, "
          f"{c.n_raw_tokens:,} of {raw:,} tokens; {c.n_tokens:,} in vocabulary ({c.n_tokens / c.n_raw_tokens:.1%})")
    print(f"same vocabulary, stream and pair count as the peer: {same}; table max rel. diff {table_err:.1e} "
          f"(ours is stored as float32)")
    print(f"ours  tokenise + strip: {t_load:7.1f} s  {raw / t_load:12,.0f} raw tokens/s")
    print(f"peer  tokenise + strip: {t_ref_load:7.1f} s  {raw / t_ref_load:12,.0f} raw tokens/s   "
          f"ratio ours/peer time {t_load / t_ref_load:.2f}")
    print(f"ours  co-occurrences:   {t_cooc:7.1f} s  {c.n_tokens / t_cooc:12,.0f} kept tokens/s")
    print(f"peer  co-occurrences:   {t_ref_cooc:7.1f} s  {c.n_tokens / t_ref_cooc:12,.0f} kept tokens/s   "
          f"ratio ours/peer time {t_cooc / t_ref_cooc:.2f}")
    # §5.1's corpus at these rates: all raw tokens are tokenised; the kept ones (at this sample's
    # in-vocabulary share) are stripped and counted.
    per_raw, per_kept = t_load / raw, t_cooc / c.n_tokens
    # disk: pass 1 keeps the kept articles' tokens, pass 2 their in-vocabulary ones, 4 bytes each
    disk = 4 * KEPT_TOKENS * (1 + c.n_tokens / c.n_raw_tokens)
    est = RAW_TOKENS * per_raw + KEPT_TOKENS * (c.n_tokens / c.n_raw_tokens) * per_kept
    print(f"spec 5.1 corpus ({RAW_TOKENS / 1e9:.2f}B raw, {KEPT_TOKENS / 1e9:.2f}B kept tokens): "
          f"~{est / 3600:.1f} h on this machine (tokenise {RAW_TOKENS * per_raw / 3600:.1f} h, count "
          f"{est / 3600 - RAW_TOKENS * per_raw / 3600:.1f} h), cache ~{disk / 1e9:.0f} GB")


if __name__ == "__main__":
    main()
