"""The trainers' callback: what a run logs per callback, next to what the theory predicts.

Per callback one metrics.jsonl row: step, loss, lr, words, the measured singular values; analogy
accuracy and the word-similarity scores (Spearman ρ per set, as sim_<set>) every eval.analogy_every-th
call; W itself at eval.checkpoints log-spaced steps (checkpoints/W_<step>.npy, Fig. 1c); for QWEM also the theory time t, t/τ_1, the predicted
singular values and loss, the effective rank r(t) and the accuracy acc(W_{r(t)}) (theory.Dynamics).
Progress goes to stderr: steps for QWEM, corpus words for SGNS (its step count is open-ended).
"""
from __future__ import annotations

import numpy as np

from repro.experiments.common.progress import Progress

from . import analogies, similarity


class TrainingLogger:
    def __init__(self, writer, dynamics, questions, rank_acc, method: str, ev, sgns_words: int,
                 sims: dict | None = None, vocab: dict | None = None, checkpoint_dir=None):
        """dynamics: theory.Dynamics (None for SGNS); questions: the Google analogies (or None);
        rank_acc(r): closed-form accuracy at rank r; ev: the Eval settings; sims/vocab: the
        similarity sets and the word index (similarity.load_benchmarks); checkpoint_dir: where the
        eval.checkpoints snapshots of W go (None: none)."""
        self.writer, self.dyn, self.q, self.rank_acc, self.method, self.ev = writer, dynamics, questions, rank_acc, method, ev
        self.calls, self.done, self.sgns_words, self.progress = 0, 0, sgns_words, None
        self.times, self.sq_sv, self.steps = [], [], []
        self.sims, self.vocab, self.checkpoint_dir, self.next_ckpt = sims or {}, vocab, checkpoint_dir, None

    def __call__(self, step, W, info):
        S = np.linalg.svd(W, compute_uv=False)
        n_sv = min(self.ev.sv_logged, W.shape[1])
        row = {"step": int(step), "loss": info.get("loss"), "lr": info.get("lr"), "words": info.get("words"),
               "sv": S[:n_sv]}
        every = self.ev.analogy_every
        due = self.q is not None and (step == 0 or (every > 0 and self.calls % every == 0))
        if self.dyn is not None:
            t = float(info["theory_time"])
            r = int(self.dyn.rank(t)[0])
            row.update(theory_time=t, t_over_tau1=t / self.dyn.tau[0], rank_theory=r,
                       sv_theory=np.sqrt(self.dyn.sq_sv(t)[0][:n_sv]), loss_theory=float(self.dyn.loss(t)[0]))
            self.times.append(t)
            self.sq_sv.append(S**2)
            self.steps.append(int(step))
            if due:
                row["analogy_theory"] = self.rank_acc(r)
        if due:
            row["analogy"] = analogies.accuracy(W, self.q)
        if self.sims and (step == 0 or (every > 0 and self.calls % every == 0)):
            row.update({f"sim_{k}": v for k, v in similarity.evaluate_all(W, self.sims, self.vocab).items()
                        if not k.endswith("_pairs")})
        self._checkpoint(step, W, info)
        self.writer.log(**row)
        self._progress(step, info, row)
        self.calls += 1

    def _checkpoint(self, step: int, W, info: dict) -> None:
        """Save W at the first call at or past each of eval.checkpoints log-spaced steps (and step 0)."""
        n, total = self.ev.checkpoints, info.get("steps")
        if self.checkpoint_dir is None or n <= 0 or not total:
            return
        if self.next_ckpt is None:
            self.next_ckpt = sorted({int(round(x)) for x in np.geomspace(1, total, n)})
        if step == 0 or (self.next_ckpt and step >= self.next_ckpt[0]):
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            np.save(self.checkpoint_dir / f"W_{int(step):08d}.npy", np.asarray(W, np.float32))
            self.next_ckpt = [x for x in self.next_ckpt if x > step]

    def _progress(self, step: int, info: dict, row: dict) -> None:
        sgns = self.method == "sgns"
        if self.progress is None:
            total = self.sgns_words if sgns else info.get("steps")
            self.progress = Progress(total, f"train {self.method}", "word" if sgns else "step")
        if not sgns and info.get("steps") and info["steps"] != self.progress.total:
            self.progress.set_total(int(info["steps"]))
        now = int(info.get("words") or 0) if sgns else int(step)
        shown = {k: row[k] for k in ("loss", "analogy") if row.get(k) is not None}
        self.progress.update(max(0, now - self.done), **shown)
        self.done = max(self.done, now)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
