"""Word-similarity benchmarks: Spearman ρ between embedding cosine and human scores (spec §6.2).

WordSim-353 and SimLex-999 come from data_dir/similarity/ or, failing that, the copies inside the
gensim wheel (gensim/test/test_data/{wordsim353.tsv, simlex999.txt}); MEN (men.csv, POS-tagged
words such as "sun-n", scores 0–50) from data_dir/similarity/. Pairs with an out-of-vocabulary
word are dropped; the number kept is reported with ρ.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from .analogies import gensim_test_files, normalize_rows

FILES = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt", "men": "men.csv"}


def read_pairs(path: Path) -> list[tuple[str, str, float]]:
    """(w1, w2, score) rows from a tab/space file with '#' comments, or the MEN csv."""
    rows = []
    path = Path(path)
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                rows.append((_strip_pos(r["word1"]), _strip_pos(r["word2"]), float(r["similarity"])))
        return rows
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        try:
            rows.append((parts[0].strip().lower(), parts[1].strip().lower(), float(parts[2])))
        except (IndexError, ValueError):
            continue  # a header line
    return rows


def _strip_pos(w: str) -> str:
    w = w.strip().lower()
    return w[:-2] if len(w) > 2 and w[-2] == "-" else w


def find_files(data_dir: Path | None) -> dict[str, Path]:
    out = {}
    for name, fname in FILES.items():
        cands = [Path(data_dir) / "similarity" / fname, Path(data_dir) / fname] if data_dir is not None else []
        if name != "men":
            cands += gensim_test_files(fname)
        found = next((p for p in cands if p.is_file()), None)
        if found is not None:
            out[name] = found
    return out


def spearman(W: np.ndarray, pairs: list[tuple[str, str, float]], vocab: dict[str, int]) -> tuple[float, int]:
    """(ρ, number of in-vocabulary pairs)."""
    kept = [(vocab[a], vocab[b], s) for a, b, s in pairs if a in vocab and b in vocab]
    if len(kept) < 3:
        return float("nan"), len(kept)
    Wn = normalize_rows(np.asarray(W, np.float64))
    i, j, s = (np.array(x) for x in zip(*kept))
    cos = np.sum(Wn[i] * Wn[j], axis=1)
    return float(spearmanr(cos, s).statistic), len(kept)


def evaluate_all(W: np.ndarray, benchmarks: dict[str, list], vocab: dict[str, int]) -> dict:
    out = {}
    for name, pairs in benchmarks.items():
        rho, n = spearman(W, pairs, vocab)
        out[name] = rho
        out[f"{name}_pairs"] = n
    return out


def load_benchmarks(data_dir: Path | None) -> dict[str, list]:
    return {name: read_pairs(p) for name, p in find_files(data_dir).items()}
