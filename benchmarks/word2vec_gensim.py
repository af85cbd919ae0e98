"""Our PyTorch SGNS (experiments/word2vec/sgns.py) against gensim's Word2Vec, same corpus and settings.

Both train skip-gram with negative sampling on the same token stream: the corpus preprocessed by
experiments/word2vec/corpus.py (lowercase [a-z]+, top-V vocabulary, OOV tokens deleted), articles as
sentences (cut at gensim's 10,000-token sentence limit), the same window, dimension, negatives,
subsampling threshold, epochs and linear lr decay 0.025 → 0.0001. gensim uses separate input and
output tables, so ours runs untied for the head-to-head; the tied model (the paper's) is also timed.

Prints words/s of each (corpus words × epochs / training wall time, setup excluded; our one-off
torch.compile is timed separately) and their ratio, and the analogy accuracy of each on the Google
set with the authors' in-vocabulary construction (normalised 3CosAdd over the whole vocabulary,
experiments/word2vec/analogies.py), plus the standard protocol for reference.

    .venv/bin/python benchmarks/word2vec_gensim.py --data-dir /work/shared/data --corpus wikitext2
    .venv/bin/python benchmarks/word2vec_gensim.py --data-dir /work/shared/data --corpus enwiki --epochs 1
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import torch
from repro.cli.compose import compose_config
from repro.experiments.word2vec import analogies, corpus, sgns
from repro.experiments.word2vec.settings import resolve, settings

CORPUS_FILES = {"wikitext2": ("wikitext-2-raw/wiki.train.raw", "wikitext"),
                "enwiki": ("enwiki-2015/enwiki-2015.jsonl.xz", "auto")}


def load(args):
    if args.corpus in CORPUS_FILES:
        rel, split = CORPUS_FILES[args.corpus]
        path = Path(args.data_dir) / rel
    else:
        path, split = Path(args.corpus), "auto"
    ccfg = settings(compose_config("word2vec", ["corpus=file", f"corpus.path={path}", f"corpus.article_split={split}"])).corpus
    return corpus.load_corpus(ccfg, args.vocab, None)


def sgns_setup(args, tied: bool, compile_: bool, **resolved):
    """(Train, Resolved) of `repro word2vec train.method=sgns` with this benchmark's knobs."""
    s = settings(compose_config("word2vec", ["train.method=sgns"]))
    t = dataclasses.replace(s.train, subsample=args.sample, epochs=args.epochs, tied=tied, init="w2v", log_every=10**9,
                            compile=compile_, kernel=args.kernel, batch_size=args.batch, seed=args.seed, lr=0.025,
                            min_lr_ratio=0.0001 / 0.025, workers=args.ours_workers)
    s = dataclasses.replace(s, d=args.dim, window=args.window, k_neg=float(args.negatives), train=t)
    r = resolve(s, 1.0, 1.0, torch.device(args.device).type, torch.get_num_threads())
    return t, dataclasses.replace(r, **resolved)


def gensim_sentences(c, max_len=10_000):
    words = np.array(c.words, dtype=object)
    out = []
    for a, b in zip(c.starts[:-1], c.starts[1:]):
        for s in range(a, b, max_len):
            out.append(list(words[c.ids[s:min(b, s + max_len)]]))
    return out


def run_gensim(c, args):
    from gensim.models import Word2Vec

    sents = gensim_sentences(c)
    model = Word2Vec(vector_size=args.dim, window=args.window, negative=args.negatives, sample=args.sample,
                     sg=1, hs=0, min_count=1, workers=args.workers, epochs=args.epochs, seed=args.seed,
                     alpha=0.025, min_alpha=0.0001)
    model.build_vocab(sents)
    t0 = time.perf_counter()
    model.train(sents, total_examples=len(sents), epochs=args.epochs)
    seconds = time.perf_counter() - t0
    W = np.stack([model.wv[w] for w in c.words]).astype(np.float64)
    return W, len(c.ids) * args.epochs / seconds, seconds


def run_ours(c, args, tied: bool):
    # gensim 4 draws input rows uniform in [-1/d, 1/d) (std 1/(d√3)); ours is N(0, scale²/d): same variance
    scale = float(args.init_scale if args.init_scale is not None else 1.0 / np.sqrt(3 * args.dim))
    t, r = sgns_setup(args, tied, not args.no_compile, init_scale=scale)
    stats = {}
    W = sgns.train_sgns(c.ids, c.counts, t, r, args.device, None, article_starts=c.starts, stats=stats)
    return W, stats["words_per_sec"], stats["seconds"]


def warm_compile(c, args) -> float:
    """Compile the minibatch step once (inductor caches it on disk for later runs)."""
    t, r = sgns_setup(args, True, True, steps=2, workers=1)
    if args.no_compile or r.kernel == "native":
        return 0.0
    t0 = time.perf_counter()
    sgns.train_sgns(c.ids[:50_000], c.counts, t, r, args.device, None)
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.environ.get("REPRO_DATA_DIR"))
    p.add_argument("--corpus", default="wikitext2", help="wikitext2 | enwiki | a .txt/.jsonl path")
    p.add_argument("--vocab", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=200)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--negatives", type=int, default=1)
    p.add_argument("--sample", type=float, default=1e-5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--workers", type=int, default=2, help="gensim worker threads")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads for ours")
    p.add_argument("--ours-workers", type=int, default=2,
                   help="train.workers: threads of the native kernel, or Hogwild processes of the torch one")
    p.add_argument("--kernel", default="auto", choices=["auto", "native", "torch"], help="train.kernel for ours")
    p.add_argument("--batch", type=int, default=1024, help="our SGNS minibatch (pairs)")
    p.add_argument("--init-scale", type=float, default=None,
                   help="ours: W ~ N(0, scale^2/d); default 1/sqrt(3d), gensim's init variance")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--skip-tied", action="store_true")
    args = p.parse_args()
    if args.corpus in CORPUS_FILES and not args.data_dir:
        p.error("--data-dir (or REPRO_DATA_DIR) is needed for a named corpus")
    torch.set_num_threads(args.threads)

    c = load(args)
    vocab = {w: i for i, w in enumerate(c.words)}
    google = analogies.find_google(Path(args.data_dir) if args.data_dir else None)
    qs = analogies.google_questions(google, vocab)
    qs_std = analogies.line_questions(analogies.parse_google(google), vocab)
    print(f"corpus {c.source}: {len(c.ids):,} in-vocabulary tokens, {len(c.starts) - 1} articles, V={c.V}; "
          f"d={args.dim} window={args.window} negatives={args.negatives} sample={args.sample} epochs={args.epochs}; "
          f"{len(qs)} analogy questions (authors' construction), {len(qs_std)} standard")
    print(f"torch.compile warm-up: {warm_compile(c, args):.1f} s (one-off)")

    rows = []
    Wg, wps_g, sec_g = run_gensim(c, args)
    rows.append(("gensim Word2Vec (untied)", wps_g, sec_g, Wg))
    Wo, wps_o, sec_o = run_ours(c, args, tied=False)
    rows.append(("ours SGNS (untied)", wps_o, sec_o, Wo))
    if not args.skip_tied:
        Wt, wps_t, sec_t = run_ours(c, args, tied=True)
        rows.append(("ours SGNS (tied)", wps_t, sec_t, Wt))

    print(f"{'model':28s} {'words/s':>10s} {'train s':>8s} {'google (authors)':>17s} {'google (std)':>13s}")
    accs = {}
    for name, wps, sec, W in rows:
        acc = analogies.evaluate(W, qs)["accuracy"]
        acc_std = analogies.evaluate(W, qs_std)["accuracy"]
        accs[name] = acc
        print(f"{name:28s} {wps:10,.0f} {sec:8.1f} {100 * acc:16.2f}% {100 * acc_std:12.2f}%")
    print(f"speed ratio ours(untied)/gensim: {wps_o / wps_g:.2f}x  (gensim workers={args.workers}, "
          f"ours: kernel {sgns_setup(args, True, False)[1].kernel}, workers={args.ours_workers})")
    diff = 100 * (accs["ours SGNS (untied)"] - accs["gensim Word2Vec (untied)"])
    print(f"analogy accuracy ours(untied) − gensim: {diff:+.2f} points (target: within ±3)")


if __name__ == "__main__":
    main()
