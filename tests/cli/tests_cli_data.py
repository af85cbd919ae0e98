"""Tiny generated data for the CLI tests: a word corpus, a data folder laid out like the real one."""
from __future__ import annotations

import json
import lzma
from pathlib import Path

import numpy as np

from conftest import TINY_RF  # noqa: F401  (re-exported: the cheap real rf-sweep run)


def word_corpus(path: Path, n_words: int = 120, articles: int = 60, length: int = 80, seed: int = 0) -> Path:
    """Articles of Zipf-distributed lowercase words (w-aa, w-ab, ...): enough for vocab_size <= n_words."""
    rng = np.random.default_rng(seed)
    words = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(n_words)]
    p = 1.0 / np.arange(1, n_words + 1)
    text = "\n\n".join(" ".join(rng.choice(words, length, p=p / p.sum())) for _ in range(articles))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def data_folder(root: Path, n_train: int = 1200, n_test: int = 1000, seed: int = 0) -> Path:
    """mnist/, cifar10/ (npz, real image shapes, random pixels), wikitext-2-raw/, enwiki-2015/ (jsonl.xz),
    wikipedia/ (parquet shards) and analogies/: the layout of the README's DATA folder, at toy sizes."""
    rng = np.random.default_rng(seed)
    for name, shape in (("mnist", (28, 28)), ("cifar10", (32, 32, 3))):
        (root / name).mkdir(parents=True, exist_ok=True)
        np.savez(root / name / f"{name}.npz",
                 x_train=rng.integers(0, 256, (n_train, *shape), dtype=np.uint8), y_train=rng.integers(0, 10, n_train),
                 x_test=rng.integers(0, 256, (n_test, *shape), dtype=np.uint8), y_test=rng.integers(0, 10, n_test))
    word_corpus(root / "wikitext-2-raw" / "wiki.train.raw")
    text = word_corpus(root / "enwiki.txt", seed=1).read_text()
    (root / "enwiki.txt").unlink()
    (root / "enwiki-2015").mkdir(exist_ok=True)
    with lzma.open(root / "enwiki-2015" / "enwiki-2015.jsonl.xz", "wt") as f:
        f.writelines(json.dumps({"text": article}) + "\n" for article in text.split("\n\n"))
    wikipedia_shards(root / "wikipedia" / "20231101.en", text.split("\n\n"))
    (root / "analogies").mkdir(exist_ok=True)
    (root / "analogies" / "questions-words.txt").write_text(": s1\nwaa wab wac wad\nwae waf wag wah\n")
    emergence_analogies(root / "analogies")
    return root


def wikipedia_shards(folder: Path, articles: list[str], n_shards: int = 2) -> None:
    """The hub's wikimedia/wikipedia layout (train-0000k-of-0000n.parquet, id/url/title/text), with the
    articles joined seven at a time so that each passes corpus=wikipedia's >= 500-token filter."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    long = [" ".join(articles[i:i + 7]) for i in range(0, len(articles), 7)]
    folder.mkdir(parents=True, exist_ok=True)
    for k, idx in enumerate(np.array_split(np.arange(len(long)), n_shards)):
        table = pa.table({"id": [str(i) for i in idx], "url": [""] * len(idx), "title": [f"a{i}" for i in idx],
                          "text": [long[i] for i in idx]})
        pq.write_table(table, folder / f"train-{k:05d}-of-{n_shards:05d}.parquet")


# The sections and categories `--experiment emergence`'s default families read (configs/word2vec/config.yaml,
# emergence.sources), each with pairs of frequent corpus words, so that every family has >= 3 pairs at V = 60.
GOOGLE_SECTIONS = ("gram6-nationality-adjective", "family", "gram7-past-tense", "gram1-adjective-to-adverb",
                   "gram2-opposite", "gram8-plural", "gram3-comparative")
BATS_CATEGORIES = ("E10 [male - female]", "I09 [verb_Ving - Ved]", "D03 [adj+ly_reg]", "D02 [un+adj_reg]",
                   "I01 [noun - plural_reg]", "I03 [adj - comparative]")


def emergence_analogies(folder: Path) -> None:
    words = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40)]
    rng = np.random.default_rng(7)
    with open(folder / "questions-words.txt", "a") as f:
        for name in GOOGLE_SECTIONS:
            w = rng.permutation(words)[:8]
            f.write(f": {name}\n{w[0]} {w[1]} {w[2]} {w[3]}\n{w[4]} {w[5]} {w[6]} {w[7]}\n")
    for cat in BATS_CATEGORIES:
        (folder / "BATS_3.0" / "categories").mkdir(parents=True, exist_ok=True)
        w = rng.permutation(words)[:4]
        (folder / "BATS_3.0" / "categories" / f"{cat}.txt").write_text(f"{w[0]}\t{w[1]}\n{w[2]}\t{w[3]}/{w[0]}\n")
