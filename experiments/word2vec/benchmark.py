"""experiment=benchmark: the paper's side-by-side runs (spec §7, §9), one run per row of a sweep.

`repro word2vec --experiment benchmark` sweeps benchmark.row over ROWS (run.experiment_overrides),
so each method is its own run: a failing row keeps the others, a rerun resumes, and --jobs / SLURM /
Ray spread the rows. Every row is an ordinary experiment=train run on the same corpus statistics
(row_settings says which): the §7 table's five rows

    word2vec   harness SGNS (harness.loss=sgns, harness.reweight=sgns), tied, k_neg, small init
    qwem       QWEM (Setting 3.1, omniscient weights), the same init and theory-time step
    svd_mstar  the closed form svd(M*);  svd_ppmi, svd_pmi: svd of PPMI / PMI (zero counts: pmi_zero)

plus the figure runs: word2vec_w2v_init / qwem_w2v_init (Fig. 2's left column) and the Fig. 7
ablation {SGNS, quartic loss} × {sgns, Setting 3.1 weights} at benchmark.ablation's V, d, k_neg.
The svd_mstar row also writes the appendix spectra (top benchmark.spectra eigenvalues of M*, PMI,
PPMI and P_ij/(P_iP_j) + 1). Each row writes benchmark_row.json (its scores); when the run sits in a
sweep, it then rewrites the sweep's benchmark_table.{json,md} from every row finished so far (under
the sweep's lock), so the last row to finish leaves the whole §7 table; `repro plot` rewrites it too.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from repro.experiments.common.atomic import atomic_write_json, atomic_write_text, read_json
from repro.experiments.common.log import logger

log = logger("word2vec")

TABLE_ROWS = ("word2vec", "qwem", "svd_mstar", "svd_ppmi", "svd_pmi")
FIGURE_ROWS = ("word2vec_w2v_init", "qwem_w2v_init", "ablation_sgns", "ablation_quartic", "ablation_omniscient",
               "ablation_qwem")
ROWS = TABLE_ROWS + FIGURE_ROWS
# Fig. 7 panels: (harness.loss, harness.reweight) of each ablation row (spec §9 item 7).
ABLATIONS = {"ablation_sgns": ("sgns", "sgns"), "ablation_quartic": ("quartic", "sgns"),
             "ablation_omniscient": ("sgns", "omniscient"), "ablation_qwem": ("quartic", "omniscient")}
BASELINE_OF = {"svd_mstar": "closed_form", "svd_ppmi": "ppmi", "svd_pmi": "pmi"}
# Spec §7 (v3, V = 10k, d = 200, 2B tokens of Wikipedia): the paper's numbers beside ours.
PAPER = {
    "analogy_google": {"word2vec": 0.680, "qwem": 0.651, "svd_mstar": 0.663, "svd_ppmi": 0.506, "svd_pmi": 0.084},
    "men": {"word2vec": 0.744, "qwem": 0.755, "svd_mstar": 0.755, "svd_ppmi": 0.740, "svd_pmi": 0.448},
    "wordsim353": {"word2vec": 0.698, "qwem": 0.682, "svd_mstar": 0.683, "svd_ppmi": 0.690, "svd_pmi": 0.221},
}
PAPER_RATIOS = {"qwem_over_word2vec": 0.96, "svd_mstar_over_word2vec": 0.975}
COLUMNS = ("analogy_google", "analogy_google_standard", "men", "wordsim353", "analogy_bats", "analogy_msr", "simlex999")
ROW_FILE, TABLE_JSON, TABLE_MD, LOCK = "benchmark_row.json", "benchmark_table.json", "benchmark_table.md", ".table.lock"


def row_settings(s):
    """The experiment=train settings of row s.benchmark.row (what each row is, in one place)."""
    b, t = s.benchmark, s.train
    row = b.row
    # Small-init rows (Fig. 1, Fig. 2's right column, the table) start at benchmark.small_init_scale,
    # never at train.init_scale: the default preset's 0.1 is its word2vec-like init, which the
    # *_w2v_init rows already are.
    small = b.small_init_scale if b.small_init_scale is not None else t.init_scales.small
    if b.steps is not None:
        t = dataclasses.replace(t, steps=b.steps)
    if row in BASELINE_OF:
        return dataclasses.replace(s, experiment="train", baselines=(BASELINE_OF[row],),
                                   train=dataclasses.replace(t, method="none"))
    init, scale = ("w2v", t.init_scales.w2v) if row.endswith("_w2v_init") else ("small", small)
    top = {}
    if row.startswith("qwem"):
        train = dataclasses.replace(t, method=b.qwem_method, reweight="omniscient", init=init, init_scale=scale)
        harness = s.harness
    else:
        loss, reweight = ABLATIONS.get(row, ("sgns", "sgns"))
        train = dataclasses.replace(t, method=b.word2vec_method, init=init, init_scale=scale)
        harness = dataclasses.replace(s.harness, loss=loss, reweight=reweight)
        k = b.harness_step_scale  # same final theory time in 1/k as many smaller steps (config.yaml says why)
        train = dataclasses.replace(train, steps=max(1, int(round(t.steps / k))), gd_dt=t.gd_dt * k,
                                    dt_per_step=None if t.dt_per_step is None else t.dt_per_step * k,
                                    lr=None if t.lr is None else t.lr * k)
        if row in ABLATIONS:
            a = b.ablation
            top = dict(vocab_size=a.vocab_size, d=a.d, k_neg=a.k_neg)
            train = dataclasses.replace(train, init_scale=a.init_scale)
    return dataclasses.replace(s, experiment="train", baselines=(), train=train, harness=harness,
                               eval=dataclasses.replace(s.eval, checkpoints=b.checkpoints), **top)


def embedding_of(row: str) -> str:
    """Which embedding of the row's run is the row's model (benchmarks.json / embeddings/<name>.npy)."""
    return BASELINE_OF.get(row, "trained")


def run_benchmark(s, run_dir: Path, run_train) -> dict:
    """One row: the train run of row_settings, its scores, the spectra (svd_mstar), the sweep table."""
    row = s.benchmark.row
    r = row_settings(s)
    log(f"benchmark row {row}: train.method={r.train.method}, baselines={list(r.baselines)}, "
        f"V={r.vocab_size}, d={r.d}, k_neg={r.k_neg}")
    summary = run_train(r, run_dir)
    scores = {k: v for k, v in summary["benchmarks"][embedding_of(row)].items() if not isinstance(v, dict)}
    if row == "svd_mstar" and s.benchmark.spectra > 0:
        from .spectra import write_spectra

        write_spectra(r, run_dir, s.benchmark.spectra)
    info = {"row": row, "embedding": embedding_of(row), "method": r.train.method, "vocab_size": r.vocab_size,
            "d": r.d, "k_neg": r.k_neg, "harness": dataclasses.asdict(r.harness), "scores": scores}
    info.update(switch_on_of(info, summary))
    atomic_write_json(run_dir / ROW_FILE, info)
    summary["benchmark"] = info
    if (run_dir.parent / "sweep.json").exists():
        write_table(run_dir.parent)
    return summary


def collect(sweep_dir: Path) -> dict[str, dict]:
    """Row name -> benchmark_row.json of every row run under sweep_dir that has written one."""
    out = {}
    for path in sorted(Path(sweep_dir).glob(f"*/{ROW_FILE}")):
        info = read_json(path, None, expect=dict)
        if info is not None and "row" in info:
            if "switch_on" not in info:   # a row file written before rows carried it
                info.update(switch_on_of(info, read_json(path.parent / "summary.json", {}, expect=dict)))
            out[info["row"]] = info
    return out


def switch_on_of(info: dict, summary: dict) -> dict:
    """{"switch_on": measured t_switch(k)/τ_k with the row's loss and weights} for a trained row, else {}."""
    if summary.get("switch_on_over_tau") is None:
        return {}
    harness, h = info["method"].startswith("harness"), info.get("harness", {})
    return {"switch_on": {"over_tau": summary["switch_on_over_tau"], "max_rel_err": summary.get("switch_on_max_rel_err"),
                          "over_gd_map": summary.get("switch_on_over_gd_map"),
                          "gd_map_max_rel_err": summary.get("switch_on_gd_map_max_rel_err"),
                          "loss": h.get("loss") if harness else "quartic",
                          "reweight": h.get("reweight") if harness else "omniscient"}}


def table(rows: dict[str, dict]) -> dict:
    """The §7 table: our scores and the paper's per row, the two ratios and the ordering check."""
    ours = {row: rows[row]["scores"] for row in TABLE_ROWS if row in rows}
    acc = {row: sc.get("analogy_google") for row, sc in ours.items()}

    def ratio(a, b):
        return acc[a] / acc[b] if acc.get(a) is not None and acc.get(b) else None

    order = [acc.get(r) for r in ("svd_mstar", "svd_ppmi", "svd_pmi")]
    return {"rows": {row: {"ours": sc, "paper": {k: PAPER[k][row] for k in PAPER}} for row, sc in ours.items()},
            "missing": [r for r in TABLE_ROWS if r not in ours],
            "ratios": {"qwem_over_word2vec": ratio("qwem", "word2vec"),
                       "svd_mstar_over_word2vec": ratio("svd_mstar", "word2vec")},
            "paper_ratios": PAPER_RATIOS,
            "svd_order_mstar_ppmi_pmi": (None if None in order else bool(order[0] > order[1] > order[2])),
            "sizes": {row: {k: rows[row][k] for k in ("vocab_size", "d", "k_neg")} for row in ours},
            # against the theory, as a measurement (spec §9): t_switch(k)/τ_k of the first modes of every
            # trained row; QWEM (quartic, Setting 3.1 weights) is exact, the SGNS loss is not
            "switch_on": {row: info["switch_on"] for row, info in rows.items() if "switch_on" in info}}


def markdown(tab: dict) -> str:
    def cell(x, pct):
        return "—" if x is None or x != x else (f"{100 * x:.1f}%" if pct else f"{x:.3f}")

    rows = list(tab["rows"])
    lines = ["| benchmark | " + " | ".join(f"{r} (ours / paper)" for r in rows) + " |", "|---|" + "---|" * len(rows)]
    for col in COLUMNS:
        pct = col.startswith("analogy")
        cells = []
        for r in rows:
            ours = cell(tab["rows"][r]["ours"].get(col), pct)
            paper = tab["rows"][r]["paper"].get(col)
            cells.append(ours + (f" / {cell(paper, pct)}" if paper is not None else ""))
        lines.append(f"| {col} | " + " | ".join(cells) + " |")
    rat, pr = tab["ratios"], tab["paper_ratios"]
    lines += ["", f"QWEM / word2vec analogy accuracy: {cell(rat['qwem_over_word2vec'], True)} "
                  f"(paper ≈ {100 * pr['qwem_over_word2vec']:.1f}%); svd(M*) / word2vec: "
                  f"{cell(rat['svd_mstar_over_word2vec'], True)} (paper ≈ {100 * pr['svd_mstar_over_word2vec']:.1f}%)",
              f"svd(M*) > svd(PPMI) > svd(PMI) on analogies: {tab['svd_order_mstar_ppmi_pmi']}"]
    if tab.get("switch_on"):
        lines += ["", "Switch-on time of the first modes over the theory's τ_k (the flow), and over the switch-on of "
                      "full-batch GD's own Euler map at the run's step (what is left there is the loss); measured:", "",
                  "| row | loss | weights | over | k = 1 | 2 | 3 | 5 | 10 | max abs(ratio − 1) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r, so in tab["switch_on"].items():
            for name, key, worst in (("τ_k", "over_tau", "max_rel_err"), ("GD map", "over_gd_map", "gd_map_max_rel_err")):
                if so.get(key) is None:
                    continue
                ratios = list(so[key]) + [None] * 10
                picks = " | ".join(cell(ratios[k - 1], False) for k in (1, 2, 3, 5, 10))
                lines.append(f"| {r} | {so['loss']} | {so['reweight']} | {name} | {picks} | {cell(so.get(worst), False)} |")
    if tab["missing"]:
        lines.append(f"rows not finished: {', '.join(tab['missing'])}")
    return "\n".join(lines) + "\n"


def write_table(sweep_dir: Path) -> list[Path]:
    """Rewrite the sweep's benchmark_table.{json,md} from its finished rows (under the sweep's lock)."""
    from repro.experiments.common.rundir import RunLock

    sweep_dir = Path(sweep_dir)
    with RunLock(sweep_dir, LOCK):
        tab = table(collect(sweep_dir))
        atomic_write_json(sweep_dir / TABLE_JSON, tab)
        atomic_write_text(sweep_dir / TABLE_MD, markdown(tab))
    return [sweep_dir / TABLE_JSON, sweep_dir / TABLE_MD]


def ratios_scalar(tab: dict) -> dict:
    """Flat scalars of a table (for summaries and aggregate)."""
    return {f"ratio_{k}": v for k, v in tab["ratios"].items()} | {"svd_order_ok": tab["svd_order_mstar_ppmi_pmi"]}
