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
    """mnist/, cifar10/ (npz, real image shapes, random pixels), wikitext-2-raw/, enwiki-2015/ (jsonl.xz)
    and analogies/: the layout of the README's DATA folder, at toy sizes."""
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
    (root / "analogies").mkdir(exist_ok=True)
    (root / "analogies" / "questions-words.txt").write_text(": s1\nwaa wab wac wad\nwae waf wag wah\n")
    return root
