"""experiment=emergence: when and why analogy families emerge (spec §8, Figs 4, 6, 8).

Reads top to bottom:
  1. load: token ids, unigram P_i, co-occurrences (the same cached statistics as every word2vec run)
  2. build: M* and its top n eigenpairs (n = the d grid's top; cached), the grid cut at the positive
     eigenvalues; the families from the data folder's Google and BATS sets (families.py)
  3. loop over families and d: task vectors R_d, SNR(d), the spike and MP fit, localisation of ⟨r⟩,
     per-family accuracy of W_d (authors' and standard protocols), cos(x̂, w) and its ratio (Fig. 8)
  4. train (emergence.train): train.method's QWEM with per-family accuracy over steps, against the
     predicted acc(W_{r(t)}); emergence steps side by side
  5. save: emergence.json, families.json, summary (peak SNR vs accuracy rank correlation), figures
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from repro.experiments.common import cache
from repro.experiments.common.atomic import atomic_write_json
from repro.experiments.common.device import resolve_device
from repro.experiments.common.errors import require, require_range
from repro.experiments.common.log import logger
from repro.experiments.common.metrics import MetricsWriter

from . import corpus as corpus_mod, cooccurrence, emergence_training as et, family_accuracy, features, spiked, targets, theory
from .emergence_eigs import cut_grid, d_grid, top_pairs
from .families import Sources, authors_questions, build_family, standard_questions
from .settings import Settings, as_dict, resolve
from .task_vectors import localisation, localisation_summary, snr_curve, task_vectors

log = logger("word2vec")
QWEM_TRAINERS = ("qwem_sgd", "qwem_gd")


# ----------------------------------------------------------------------------------------------
# validate (called by run.validate after the checks every word2vec run shares)

def validate(s: Settings, data_dir: Path | None) -> None:
    e = s.emergence
    known = sorted(e.sources)
    require(len(e.families) > 0, "emergence.families=[] is invalid: no family to analyse; valid: names from "
            f"emergence.sources: {', '.join(known)}")
    for name in e.families:
        require(name in e.sources, f"emergence.families={name} is invalid: unknown family; valid: {', '.join(known)} "
                f"(or add emergence.sources.{name}=[google:<section>, bats:<code>])")
    for key in ("fig4_families", "fig6_families"):
        for name in getattr(e, key):
            require(name in e.families, f"emergence.{key}={name} is invalid: not in emergence.families; "
                    f"valid: {', '.join(e.families)}")
    require(e.fig4_family in e.families, f"emergence.fig4_family={e.fig4_family} is invalid: not in "
            f"emergence.families; valid: {', '.join(e.families)}")
    require_range(e.min_pairs, "emergence.min_pairs", 3)
    g = e.d_grid
    require_range(g.lo_log2, "emergence.d_grid.lo_log2", 0.0, float(np.log2(s.vocab_size)))
    require(g.step_log2 > 0, f"emergence.d_grid.step_log2={g.step_log2} is invalid: the grid must grow; valid: > 0")
    if g.hi_log2 is not None:
        require(g.hi_log2 >= g.lo_log2, f"emergence.d_grid.hi_log2={g.hi_log2} is invalid: below lo_log2={g.lo_log2}; "
                f"valid: >= lo_log2")
        top = max(grid_of(s))
        require(top <= s.vocab_size, f"emergence.d_grid.hi_log2={g.hi_log2} is invalid: d up to {top} > "
                f"vocab_size={s.vocab_size} (W_d has at most V columns); valid: hi_log2 <= {np.log2(s.vocab_size):.2f} "
                f"or null (up to V)")
    for d in tuple(e.mp_ds) + (e.fig6_d,):
        require(d >= 1, f"emergence.mp_ds/fig6_d={d} is invalid: not a dimension; valid: >= 1")
    require_range(e.mp_outliers, "emergence.mp_outliers", 0, e.min_pairs - 1)
    require_range(e.localisation_k, "emergence.localisation_k", 1)
    require(0 < e.emergence_fraction <= 1, f"emergence.emergence_fraction={e.emergence_fraction} is invalid: a "
            f"fraction of the final accuracy; valid: 0 < fraction <= 1")
    if e.train:
        require(s.train.method in QWEM_TRAINERS, f"train.method={s.train.method} is invalid with emergence.train=true: "
                f"the prediction acc(W_r(t)) is QWEM's dynamics; valid: qwem_sgd | qwem_gd (or emergence.train=false)")
    src = Sources(data_dir)
    require(bool(src.google_pairs or src.bats), f"data_dir={data_dir} is invalid for experiment=emergence: no "
            f"analogies/questions-words.txt nor analogies/BATS_3.0/; valid: a data folder with them")
    for name in e.families:
        for source in e.sources[name]:
            require(not src.missing(str(source)), f"emergence.sources.{name}={source} is invalid: no such analogy "
                    f"section in {data_dir}; valid: google:<section> | bats:<code>, e.g. {', '.join(src.available()[:4])}")
    words = cached_vocabulary(s, data_dir)
    if words is not None:
        check_families(s, src, {w: i for i, w in enumerate(words)})


def grid_of(s: Settings) -> list[int]:
    """The requested d grid: 2^lo, 2^(lo+step), ... up to 2^hi_log2, or up to V when hi_log2 is null."""
    g = s.emergence.d_grid
    return d_grid(g.lo_log2, np.log2(s.vocab_size) if g.hi_log2 is None else g.hi_log2, g.step_log2)


def cached_vocabulary(s: Settings, data_dir) -> list[str] | None:
    """The corpus's vocabulary when its token cache is already there (run.validate fills it for small
    local corpora); None otherwise (the families are then checked when the run loads the corpus)."""
    if not s.cache:
        return None
    z = cache.load("word2vec_tokens", corpus_mod.token_key(corpus_mod.source_of(s.corpus, data_dir)[2], s.corpus,
                                                           s.vocab_size))
    return None if z is None else [str(w) for w in z["words"]]


def check_families(s: Settings, src: Sources, vocab: dict[str, int]) -> list:
    fams = [build_family(name, list(s.emergence.sources[name]), src, vocab) for name in s.emergence.families]
    for f in fams:
        require(f.n >= s.emergence.min_pairs, f"emergence.families={f.name} is invalid: {f.n} in-vocabulary pairs at "
                f"vocab_size={s.vocab_size} (sources {', '.join(f.counts)}); valid: >= emergence.min_pairs="
                f"{s.emergence.min_pairs} pairs (drop it, add sources, or raise vocab_size)")
    return fams


# ----------------------------------------------------------------------------------------------
# run

def run_emergence(s: Settings, run_dir: Path) -> dict:
    from .run import data_dir_of

    e, t0, timings = s.emergence, time.perf_counter(), {}
    device = resolve_device(s.device)
    data_dir = data_dir_of(s)

    # 1. load: the corpus statistics, through the caches every word2vec run shares
    corpus = corpus_mod.load_corpus(s.corpus, s.vocab_size, data_dir, use_cache=s.cache)
    fp = corpus_mod.corpus_fingerprint(s.corpus, s.vocab_size, data_dir)
    cooc = cooccurrence.cached_cooccurrence(corpus, fp, s.window, use_cache=s.cache)
    Pij, Pi = cooc.joint(), corpus.unigram()
    del cooc
    vocab = {w: i for i, w in enumerate(corpus.words)}
    src = Sources(data_dir)
    fams = check_families(s, src, vocab)

    # 2. build: M* and its top eigenpairs, the d grid they allow
    grid = grid_of(s)
    n = min(max(grid), s.vocab_size)
    frob_sq = float(targets.mean_sq(Pij, Pi, s.k_neg)) * s.vocab_size**2
    w, v, timings["eig_s"], method = top_pairs(lambda: targets.m_star(Pij, Pi, s.k_neg), n, s,
                                               {"corpus": fp, "window": s.window, "V": s.vocab_size}, device)
    grid, cut = cut_grid(grid, s.vocab_size, int((w > 0).sum()), len(w))
    cut["hi"] = "vocab_size (d_grid.hi_log2=null)" if e.d_grid.hi_log2 is None else f"2^{e.d_grid.hi_log2:g}"
    log(f"emergence: top {len(w)} eigenpairs of M* ({method}); d grid {grid[0]}..{grid[-1]} ({len(grid)} values)"
        + (f", cut by {', '.join(cut['cut_by'])}" if cut["cut_by"] else ""))
    for f in fams:
        log(f"family {f.name}: {f.n} pairs (" + ", ".join(f"{k}: {c['added']}/{c['listed']}" for k, c in f.counts.items())
            + ")")

    # 3. loop: task vectors, SNR, spike and MP fit, localisation, accuracy over d, Fig. 8 cosines
    t = time.perf_counter()
    per_family, Rs = {}, {}
    mp_ds = sorted({d for d in tuple(e.mp_ds) + (e.fig6_d,) if d <= grid[-1]})
    skipped = sorted({d for d in tuple(e.mp_ds) + (e.fig6_d,) if d > grid[-1]})
    if skipped:
        log(f"emergence: MP fits at d = {skipped} skipped: past the d grid's top {grid[-1]}")
    for f in fams:
        R = task_vectors(w, v, f.a, f.b)
        Rs[f.name] = R
        p = localisation(R, min(e.localisation_k, grid[-1]))
        per_family[f.name] = {
            "n_pairs": f.n, "snr": snr_curve(R, grid),
            "fits": [spiked.analyse(R[:, :d], e.mp_outliers) for d in grid],
            "mp": {str(d): {"spectrum": spiked.spectrum(R[:, :d]), **spiked.analyse(R[:, :d], e.mp_outliers)}
                   for d in mp_ds},
            "localisation": p, "localisation_summary": localisation_summary(p)}
    timings["task_vectors_s"] = time.perf_counter() - t
    t = time.perf_counter()
    qs = authors_questions(fams, vocab)
    acc = family_accuracy.accuracy_over_d(w, v, qs, grid)
    acc_std = family_accuracy.accuracy_over_d(w, v, standard_questions(fams, e.sources, src, vocab), grid) \
        if e.standard else {}
    cosr = family_accuracy.cos_ratio_over_d(w, v, fams, grid)
    timings["accuracy_s"] = time.perf_counter() - t
    for f in fams:
        per_family[f.name].update(accuracy=acc[f.name], accuracy_standard=acc_std.get(f.name), **cosr[f.name])

    # 4. train: per-family accuracy over QWEM training vs acc(W_{r(t)})
    summary: dict = {}
    training = None
    if e.train:
        training, summary["resolved"] = train_and_track(s, Pij, Pi, corpus, qs, w, v, frob_sq, device, run_dir, timings)
        summary["emergence_times"] = training["emergence"]
    del Pij

    # 5. save
    words_of = features.top_words(v[:, :min(e.localisation_k, len(w))], corpus.words, min(e.localisation_k, len(w)), 6)
    report = {"grid": grid, "grid_cut": cut, "eigvals": w, "eigen_method": method, "families": per_family,
              "accuracy_all": acc["all"], "accuracy_standard_all": acc_std.get("all"),
              "feature_words": [row["top"] for row in words_of], "training": training,
              "settings": {"mp_outliers": e.mp_outliers, "mp_ds": mp_ds, "fig6_d": e.fig6_d,
                           "fig4_family": e.fig4_family, "fig4_families": list(e.fig4_families),
                           "fig6_families": list(e.fig6_families), "localisation_k": e.localisation_k}}
    atomic_write_json(run_dir / "emergence.json", report)
    atomic_write_json(run_dir / "families.json", {f.name: {"n_pairs": f.n, "sources": f.counts, "pairs": f.words}
                                                  for f in fams})
    summary.update(family_summary(per_family, grid, s.d))
    summary.update(experiment="emergence", corpus=corpus.source, vocab_size=s.vocab_size, eigen_method=method,
                   eigenpairs=len(w), eigvals_positive_in_computed=int((w > 0).sum()), d_grid=grid, d_grid_cut=cut,
                   mp_ds_skipped=skipped, accuracy_all_max=float(max(acc["all"])), **{k: round(x, 3) for k, x in timings.items()})
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    from . import emergence_plots

    emergence_plots.plot_emergence(run_dir)
    return summary


def train_and_track(s, Pij, Pi, corpus, qs, w, v, frob_sq, device, run_dir, timings):
    """Train train.method's QWEM (TrainingLogger's metrics.jsonl, as experiment=train writes it) and
    track per-family accuracy over steps against acc(W_{r(t)})."""
    from .monitor import TrainingLogger

    r = resolve(s, float(w[0]), frob_sq, device.type, torch.get_num_threads())
    log(f"train {r.method}: lr={r.lr:.4g} ({r.lr_rule}), init={r.init} x {r.init_scale:g}, d={r.d}, steps={r.steps}")
    dyn = theory.Dynamics(w, r.init_scale, r.d, s.eval.theory_rule, s.k_neg, frob_sq)
    writer = MetricsWriter(run_dir)
    monitor = TrainingLogger(writer, dyn, None, None, r.method, s.eval, 0)
    tracker = et.FamilyTracker(qs, w, v, dyn, s.eval.analogy_every)
    t = time.perf_counter()
    et.train(Pij, Pi, s, r, device, et.Both(monitor, tracker))
    tracker.finish()
    monitor.close()
    writer.close()
    timings["train_s"] = time.perf_counter() - t
    times = et.emergence_times(tracker.rows, list(qs.sections), s.emergence.emergence_fraction)
    return {"rows": tracker.rows, "emergence": times, "tau": dyn.tau, "method": r.method}, as_dict(r)


def family_summary(per_family: dict, grid: list[int], d_model: int) -> dict:
    """Scalars per family and the rank correlation of peak SNR with accuracy across families."""
    out, peak_snr, peak_acc = {}, [], []
    for name, f in per_family.items():
        i = int(np.argmax(f["snr"]))
        j = int(np.argmax(f["accuracy"]))
        at = min(range(len(grid)), key=lambda k: abs(grid[k] - d_model))
        fit = f["fits"][at]
        out[f"family_{name}"] = {"n_pairs": f["n_pairs"], "peak_snr": float(f["snr"][i]), "d_peak_snr": grid[i],
                                 "snr_rises_then_falls": bool(0 < i < len(grid) - 1), "max_accuracy": float(f["accuracy"][j]),
                                 "d_max_accuracy": grid[j], "d": grid[at], "accuracy_at_d": float(f["accuracy"][at]),
                                 "spike_overlap_at_d": fit["overlap"], "d_eff_at_d": fit["d_eff"],
                                 "min_spike_overlap": float(min(x["overlap"] for x in f["fits"])),
                                 "spike_overlap_mp_ds": {d: x["overlap"] for d, x in f["mp"].items()},
                                 "d_eff_mp_ds": {d: x["d_eff"] for d, x in f["mp"].items()},
                                 "localisation_top5_share": f["localisation_summary"]["top_share"]}
        peak_snr.append(f["snr"][i])
        peak_acc.append(f["accuracy"][j])
    if len(peak_snr) >= 3:
        rho, pval = spearmanr(peak_snr, peak_acc)
        out.update(spearman_peak_snr_vs_accuracy=float(rho), spearman_pvalue=float(pval))
    return out
