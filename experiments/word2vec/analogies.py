"""Analogy benchmarks with normalised 3CosAdd over the whole vocabulary (spec §6.1).

Authors' question construction (Google set): per section, collect the distinct pairs (a, b) from the
lines "a b a' b'", keep a pair only if both words are in the vocabulary, and ask every ordered pair of
distinct kept pairs ((a,b), (a',b')): N(N−1) questions; sections with N < 2 are dropped.
Scoring: unit-normalise every row of W, score every word w by ŵ·(b̂ − â + â'), exclude a, b, a',
predict the argmax; correct iff it is b'. Overall accuracy is the micro-average over questions.

Also here: the standard protocol (the original questions, OOV questions skipped; labelled
"standard"), BATS (40 categories of pairs, several accepted answers) and MSR (a b c d questions),
scored the same way.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GOOGLE_FILE = "questions-words.txt"


@dataclass
class QuestionSet:
    """Questions as vocabulary ids: a:b :: c:? with the accepted answers, grouped by section."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    answers: list[set[int]]   # accepted answer ids per question
    section: np.ndarray       # section index per question
    sections: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.a)


# ----------------------------------------------------------------------------------------------
# Parsing

def parse_google(path: Path) -> dict[str, list[tuple[str, str, str, str]]]:
    """Section name → list of lowercase (a, b, a', b') lines, in file order."""
    sections: dict[str, list] = {}
    current = None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith(":"):
            current = line[1:].strip()
            sections.setdefault(current, [])
            continue
        parts = line.lower().split()
        if len(parts) == 4 and current is not None:
            sections[current].append(tuple(parts))
    return sections


def authors_pairs(sections: dict[str, list]) -> dict[str, list[tuple[str, str]]]:
    """Distinct (a, b) pairs per section, in first-seen order (both halves of every line)."""
    out = {}
    for name, lines in sections.items():
        seen: dict[tuple[str, str], None] = {}
        for a, b, c, d in lines:
            seen.setdefault((a, b), None)
            seen.setdefault((c, d), None)
        out[name] = list(seen)
    return out


def pair_questions(pairs_by_section: dict[str, list[tuple[str, set[str]]]], vocab: dict[str, int]) -> QuestionSet:
    """All ordered pairs of distinct in-vocabulary pairs per section (the authors' construction).

    pairs_by_section: section → [(a, {accepted b's})]; a pair is kept if a and at least one b are in
    the vocabulary; the first in-vocabulary b is the one used in the query, all count as answers.
    """
    A, B, C, ANS, SEC, names = [], [], [], [], [], []
    for name, pairs in pairs_by_section.items():
        kept = []
        for a, bs in pairs:
            inv = [w for w in bs if w in vocab]
            if a in vocab and inv:
                kept.append((vocab[a], vocab[inv[0]], {vocab[w] for w in inv}))
        if len(kept) < 2:
            continue
        s = len(names)
        names.append(name)
        for i, (a, b, _) in enumerate(kept):
            for j, (c, _, ans) in enumerate(kept):
                if i != j:
                    A.append(a), B.append(b), C.append(c), ANS.append(ans), SEC.append(s)
    return QuestionSet(np.array(A, np.int64), np.array(B, np.int64), np.array(C, np.int64), ANS,
                       np.array(SEC, np.int64), names)


def google_questions(path: Path, vocab: dict[str, int]) -> QuestionSet:
    """The authors' in-vocabulary Google question set (spec §6.1)."""
    pairs = authors_pairs(parse_google(path))
    return pair_questions({k: [(a, {b}) for a, b in v] for k, v in pairs.items()}, vocab)


def line_questions(lines_by_section: dict[str, list[tuple[str, str, str, str]]], vocab: dict[str, int]) -> QuestionSet:
    """The standard protocol: the listed questions, skipping any with an out-of-vocabulary word."""
    A, B, C, ANS, SEC, names = [], [], [], [], [], []
    for name, lines in lines_by_section.items():
        rows = [tuple(vocab[w] for w in ln) for ln in lines if all(w in vocab for w in ln)]
        if not rows:
            continue
        s = len(names)
        names.append(name)
        for a, b, c, d in rows:
            A.append(a), B.append(b), C.append(c), ANS.append({d}), SEC.append(s)
    return QuestionSet(np.array(A, np.int64), np.array(B, np.int64), np.array(C, np.int64), ANS,
                       np.array(SEC, np.int64), names)


def bats_questions(folder: Path, vocab: dict[str, int]) -> QuestionSet:
    """BATS 3.0: each category file lists "a<TAB>b1/b2/..."; the authors' pair construction applied."""
    pairs = {}
    for f in sorted(Path(folder).rglob("*.txt")):
        rows = []
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.strip().lower().split("\t") if "\t" in line else line.strip().lower().split()
            if len(parts) >= 2:
                rows.append((parts[0], [w for w in parts[1].replace(",", "/").split("/") if w]))
        pairs[f.stem.split(" ")[0]] = [(a, bs) for a, bs in rows]
    return pair_questions({k: [(a, list(bs)) for a, bs in v] for k, v in pairs.items()}, vocab)


def msr_questions(path: Path, vocab: dict[str, int]) -> QuestionSet:
    """MSR syntactic analogies (csv: ,type,word1,word2,word3,target), standard protocol."""
    by_type: dict[str, list] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_type.setdefault(row["type"], []).append(
                tuple(row[k].strip().lower() for k in ("word1", "word2", "word3", "target")))
    return line_questions(by_type, vocab)


# ----------------------------------------------------------------------------------------------
# Scoring

def normalize_rows(W: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    return W / np.where(norms > 0, norms, 1.0)


def query(Wn: np.ndarray, a, b, c) -> np.ndarray:
    """The 3CosAdd query b̂ − â + ĉ (rows of the row-normalised table Wn)."""
    return Wn[b] - Wn[a] + Wn[c]


def predict(W: np.ndarray, qs: QuestionSet, batch: int = 1024) -> np.ndarray:
    """argmax_w ŵ·(b̂ − â + ĉ) over the whole vocabulary, a, b, c excluded (float32 matmuls)."""
    Wn = normalize_rows(np.asarray(W, np.float64)).astype(np.float32)
    out = np.empty(len(qs), np.int64)
    for s in range(0, len(qs), batch):
        sl = slice(s, s + batch)
        q = query(Wn, qs.a[sl], qs.b[sl], qs.c[sl])
        scores = q @ Wn.T
        rows = np.arange(scores.shape[0])
        for excl in (qs.a[sl], qs.b[sl], qs.c[sl]):
            scores[rows, excl] = -np.inf
        out[sl] = scores.argmax(1)
    return out


def evaluate(W: np.ndarray, qs: QuestionSet) -> dict:
    """{'accuracy': micro-average, 'n': questions, 'sections': {name: accuracy}}."""
    if len(qs) == 0:
        return {"accuracy": float("nan"), "n": 0, "sections": {}}
    pred = predict(W, qs)
    correct = np.fromiter((p in ans for p, ans in zip(pred, qs.answers)), bool, len(qs))
    secs = {name: float(correct[qs.section == i].mean()) for i, name in enumerate(qs.sections)}
    return {"accuracy": float(correct.mean()), "n": int(len(qs)), "sections": secs}


def accuracy(W: np.ndarray, qs: QuestionSet) -> float:
    return evaluate(W, qs)["accuracy"]


# ----------------------------------------------------------------------------------------------
# Finding the files

def find_google(data_dir: Path | None) -> Path | None:
    """questions-words.txt from data_dir/analogies, data_dir, or the gensim wheel's test_data."""
    cands = []
    if data_dir is not None:
        cands += [Path(data_dir) / "analogies" / GOOGLE_FILE, Path(data_dir) / GOOGLE_FILE]
    cands += gensim_test_files(GOOGLE_FILE)
    return next((p for p in cands if p.is_file()), None)


def gensim_test_files(name: str) -> list[Path]:
    try:
        import importlib.util

        spec = importlib.util.find_spec("gensim")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) / "test" / "test_data" / name for p in spec.submodule_search_locations]


def load_benchmarks(data_dir: Path | None, vocab: dict[str, int]) -> dict[str, QuestionSet]:
    """All analogy sets available: google (authors' construction), google_standard, bats, msr."""
    out = {}
    g = find_google(data_dir)
    if g is not None:
        out["google"] = google_questions(g, vocab)
        out["google_standard"] = line_questions(parse_google(g), vocab)
    if data_dir is not None:
        bats = next((p for p in (Path(data_dir) / "analogies" / "BATS_3.0", Path(data_dir) / "BATS_3.0") if p.is_dir()), None)
        if bats is not None:
            out["bats"] = bats_questions(bats, vocab)
        msr = next((p for p in (Path(data_dir) / "analogies" / "msr.csv", Path(data_dir) / "msr.csv") if p.is_file()), None)
        if msr is not None:
            out["msr"] = msr_questions(msr, vocab)
    return out
