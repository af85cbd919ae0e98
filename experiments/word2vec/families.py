"""Analogy families (spec §8): named relations, each a list of (a, b) word pairs from the data folder.

A family is the union of its sources, in the order listed (config.yaml, emergence.sources):
  google:<section>   the distinct pairs of that section of questions-words.txt (both halves of every
                     line, first-seen order: analogies.authors_pairs, the authors' construction);
  bats:<code>        the pairs of that BATS 3.0 category (file "<code> [...].txt", e.g. I09): a word
                     and its accepted answers b1/b2/...
A pair is kept when a and at least one of its answers are in the vocabulary (the first such answer
is the pair's b, the one its task vector uses; every in-vocabulary answer counts as correct), and
kept once: a pair whose (a, b) an earlier source already gave is dropped (Google and BATS overlap).

Questions: the authors' protocol (every ordered pair of distinct kept pairs, analogies.pair_questions)
over all families at once, one section per family, so analogies.evaluate gives every family's
accuracy from one scoring pass; and the standard protocol (the listed Google lines of the family's
Google sections with every word in the vocabulary; BATS has no lines and adds none).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import analogies


@dataclass(frozen=True)
class Family:
    name: str
    a: np.ndarray                  # (N,) vocabulary ids of the first words
    b: np.ndarray                  # (N,) the answers the task vectors use
    answers: list[set[int]]        # every accepted in-vocabulary answer per pair
    words: list[tuple[str, str]]   # the kept (a, b) words
    counts: dict                   # per source: pairs listed, kept in vocabulary, new (not a duplicate)

    @property
    def n(self) -> int:
        return len(self.a)


def bats_folder(data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    return next((p for p in (Path(data_dir) / "analogies" / "BATS_3.0", Path(data_dir) / "BATS_3.0") if p.is_dir()), None)


def bats_files(folder: Path | None) -> dict[str, Path]:
    """BATS category code (the file name's first word, e.g. I09) -> its file."""
    return {} if folder is None else {f.stem.split(" ")[0]: f for f in sorted(folder.rglob("*.txt"))}


def read_bats(path: Path) -> list[tuple[str, list[str]]]:
    """(a, [b1, b2, ...]) per line of a BATS category file, lowercase (analogies.bats_questions' parse)."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.strip().lower().split("\t") if "\t" in line else line.strip().lower().split()
        if len(parts) >= 2:
            rows.append((parts[0], [w for w in parts[1].replace(",", "/").split("/") if w]))
    return rows


class Sources:
    """The analogy files of a data folder, parsed once: Google sections and BATS categories."""

    def __init__(self, data_dir: Path | None):
        g = analogies.find_google(data_dir)
        self.google_lines = analogies.parse_google(g) if g is not None else {}
        self.google_pairs = analogies.authors_pairs(self.google_lines)
        self.bats = bats_files(bats_folder(data_dir))

    def available(self) -> list[str]:
        return [f"google:{k}" for k in self.google_pairs] + [f"bats:{k}" for k in self.bats]

    def pairs(self, source: str) -> list[tuple[str, list[str]]]:
        """(a, [accepted b's]) of one source string (assumed valid: see missing())."""
        kind, name = source.split(":", 1)
        if kind == "google":
            return [(a, [b]) for a, b in self.google_pairs[name]]
        return read_bats(self.bats[name])

    def missing(self, source: str) -> bool:
        kind, _, name = source.partition(":")
        return not ((kind == "google" and name in self.google_pairs) or (kind == "bats" and name in self.bats))


def build_family(name: str, sources: list[str], src: Sources, vocab: dict[str, int]) -> Family:
    """The family's kept pairs (module docstring) with per-source counts."""
    A, B, ANS, WORDS, counts, seen = [], [], [], [], {}, set()
    for source in sources:
        listed, kept, new = src.pairs(source), 0, 0
        for a, bs in listed:
            inv = [w for w in bs if w in vocab]
            if a not in vocab or not inv:
                continue
            kept += 1
            if (a, inv[0]) in seen:
                continue
            seen.add((a, inv[0]))
            new += 1
            A.append(vocab[a]), B.append(vocab[inv[0]]), ANS.append({vocab[w] for w in inv}), WORDS.append((a, inv[0]))
        counts[source] = {"listed": len(listed), "in_vocab": kept, "added": new}
    return Family(name, np.array(A, np.int64), np.array(B, np.int64), ANS, WORDS, counts)


def authors_questions(families: list[Family], vocab: dict[str, int]) -> analogies.QuestionSet:
    """All families' questions by the authors' protocol, one section per family (in order)."""
    words = {i: w for w, i in vocab.items()}
    # pair_questions puts a pair's first in-vocabulary answer in the query: list the family's b first
    # (the word its task vector uses), then its other accepted answers.
    by_family = {f.name: [(words[int(a)], [words[int(b)]] + sorted(words[j] for j in ans - {int(b)}))
                          for a, b, ans in zip(f.a, f.b, f.answers)] for f in families}
    return analogies.pair_questions(by_family, vocab)


def standard_questions(families: list[Family], sources: dict, src: Sources, vocab: dict[str, int]) -> analogies.QuestionSet:
    """The standard protocol: each family's Google lines with every word in the vocabulary."""
    lines = {f.name: [ln for s in sources[f.name] if s.startswith("google:") for ln in src.google_lines[s[7:]]]
             for f in families}
    return analogies.line_questions(lines, vocab)
