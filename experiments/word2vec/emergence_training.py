"""Per-family accuracy over QWEM training against the theory's prediction (spec §4.3, §8).

By §4.3 a QWEM trained to theory time t is approximately the truncation W_{r(t)} of the closed form,
r(t) = #{k ≤ d : τ_k < t} (theory.Dynamics), so the predicted accuracy of a family at step s is the
accuracy of W_{r(t_s)} on that family's questions. `FamilyTracker` is the trainer's callback: at
every eval.analogy_every-th callback (and the first and last) it scores the trained W and W_{r(t)}
with the same scorer (analogies.evaluate, one section per family).

A family's emergence step: the first logged step at which its accuracy reaches `fraction` (0.5) of
its final value (None when the final value is 0), measured and predicted, side by side, also as
theory time over τ_1.
"""
from __future__ import annotations

import numpy as np

from . import analogies, qwem
from .eigen import embedding_from_eigs


class FamilyTracker:
    def __init__(self, qs: analogies.QuestionSet, eigvals, eigvecs, dynamics, every: int):
        self.qs, self.w, self.v, self.dyn, self.every = qs, eigvals, eigvecs, dynamics, every
        self.calls, self.memo, self.rows, self.last = 0, {}, [], None

    def predicted(self, r: int) -> dict:
        """Per-family accuracy of W_r (0 for r = 0: an empty embedding answers nothing)."""
        if r not in self.memo:
            self.memo[r] = ({name: 0.0 for name in self.qs.sections} if r == 0 else
                            analogies.evaluate(embedding_from_eigs(self.w, self.v, r), self.qs)["sections"])
        return self.memo[r]

    def __call__(self, step, W, info):
        due = step == 0 or step == info.get("steps") or (self.every > 0 and self.calls % self.every == 0)
        self.calls += 1
        self.last = (step, W, info)
        if due:
            self._record(step, W, info)

    def _record(self, step, W, info):
        t = float(info["theory_time"])
        r = int(self.dyn.rank(t)[0])
        self.rows.append({"step": int(step), "theory_time": t, "t_over_tau1": t / float(self.dyn.tau[0]), "rank": r,
                          "measured": analogies.evaluate(W, self.qs)["sections"], "predicted": self.predicted(r)})

    def finish(self):
        """Make sure the last callback (the trained model) is recorded."""
        if self.last is not None and (not self.rows or self.rows[-1]["step"] != int(self.last[0])):
            self._record(*self.last)


class Both:
    """Two callbacks in turn (the run's TrainingLogger, then the FamilyTracker)."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    def __call__(self, step, W, info):
        self.first(step, W, info)
        self.second(step, W, info)


def emergence_index(acc, fraction: float) -> int | None:
    """Index of the first value reaching fraction × the last value (None if the last is 0)."""
    acc = np.asarray(acc, np.float64)
    if len(acc) == 0 or acc[-1] <= 0:
        return None
    return int(np.argmax(acc >= fraction * acc[-1]))


def emergence_times(rows: list[dict], names: list[str], fraction: float) -> dict:
    """Per family: measured and predicted emergence step (and t/τ_1), final accuracies."""
    steps = [r["step"] for r in rows]
    t = [r["t_over_tau1"] for r in rows]
    out = {}
    for name in names:
        entry = {}
        for kind in ("measured", "predicted"):
            acc = [r[kind][name] for r in rows]
            i = emergence_index(acc, fraction)
            entry[f"{kind}_step"] = None if i is None else int(steps[i])
            entry[f"{kind}_t_over_tau1"] = None if i is None else float(t[i])
            entry[f"{kind}_final"] = float(acc[-1]) if acc else None
        out[name] = entry
    return out


def train(Pij, Pi, s, r, device, callback):
    """train.method's QWEM trainer (qwem_sgd | qwem_gd; validate refuses the others)."""
    fn = qwem.train_qwem_sgd if r.method == "qwem_sgd" else qwem.train_qwem_gd
    return fn(Pij, Pi, s.train, r, device, callback)
