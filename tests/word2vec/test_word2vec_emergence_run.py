"""experiment=emergence end to end on a generated corpus with two planted analogy families, and its
bad input (one line, exit 2, nothing written)."""
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from repro.cli.app import app
from repro.experiments.word2vec import run as R
from repro.experiments.word2vec import theory

CONCEPTS = ["ba", "be", "bi", "bo", "bu", "da", "de", "di"]
FORMS = ["plain", "early", "late", "alta", "altb", "altc", "altd", "alte", "altf"]


def planted_corpus(folder: Path, n_articles=400, length=200, early_markers=6, seed=0) -> Path:
    """Articles about one concept each: its 4 topic words (60% of tokens), 15 shared fillers (20%)
    and its 9 forms (20%). Every `<c>early` is followed by one of 6 shared early markers, every
    `<c>late` by the one late marker; the other forms are unmarked. So `<c>plain -> <c>early` and
    `<c>plain -> <c>late` are two families whose task vectors lie along the marker eigen-features:
    6 markers make the early feature's eigenvalue larger than the late one's (it is learned first),
    and 6 unmarked distractors per concept keep a family's accuracy low until its feature is there.
    Writes corpus.txt and analogies/questions-words.txt (sections early, late, sparse); V = 126."""
    rng = np.random.default_rng(seed)
    early = [f"earlymark{chr(97 + k)}" for k in range(early_markers)]
    fill = [f"fill{chr(97 + k)}" for k in range(15)]
    arts = []
    for a in range(n_articles):
        c = CONCEPTS[a % len(CONCEPTS)]
        topic = [f"{c}top{chr(97 + k)}" for k in range(4)]
        toks = []
        for u in rng.random(length):
            if u < 0.6:
                toks.append(topic[rng.integers(4)])
            elif u < 0.8:
                toks.append(fill[rng.integers(len(fill))])
            else:
                form = FORMS[rng.integers(len(FORMS))]
                toks.append(c + form)
                if form == "early":
                    toks.append(early[rng.integers(len(early))])
                elif form == "late":
                    toks.append("latemark")
        arts.append(" ".join(toks))
    (folder / "corpus.txt").write_text("\n\n".join(arts))
    lines = []
    for fam in ("early", "late"):
        lines.append(f": {fam}")
        lines += [f"{c1}plain {c1}{fam} {c2}plain {c2}{fam}" for c1 in CONCEPTS for c2 in CONCEPTS if c1 != c2]
    lines += [": sparse", "baplain baearly beplain nosuchword", "biplain bilate bo nowhere"]   # 2 in-vocabulary pairs
    (folder / "analogies").mkdir(exist_ok=True)
    (folder / "analogies" / "questions-words.txt").write_text("\n".join(lines) + "\n")
    return folder / "corpus.txt"


def overrides(corpus: Path, data_dir: Path) -> list[str]:
    return ["preset=quick", "experiment=emergence", "corpus=file", f"corpus.path={corpus}", f"data_dir={data_dir}",
            "device=cpu", "vocab_size=126", "window=2", "d=10", "emergence.families=[early,late]",
            "+emergence.sources.early=[google:early]", "+emergence.sources.late=[google:late]",
            "+emergence.sources.sparse=[google:sparse]", "emergence.fig4_family=early",
            "emergence.fig4_families=[early,late]", "emergence.fig6_families=[late]", "emergence.d_grid.hi_log2=6",
            "emergence.mp_ds=[8,16]", "emergence.fig6_d=16", "emergence.localisation_k=32", "emergence.train=true",
            # 750 GD steps of theory time 0.01 (dt * lambda_1 = 0.46, stable): t reaches ~6 tau_1, past both modes
            "train.steps=750", "train.dt_per_step=0.01", "eval.analogy_every=1"]


@pytest.fixture
def planted(tmp_path):
    return planted_corpus(tmp_path), tmp_path


@pytest.mark.slow   # 13-15 s on the loaded 2-core machine, 9 of them drawing the four figures
def test_planted_families_emerge_in_the_order_of_their_eigen_features(compose, planted, run_dir):
    corpus, data_dir = planted
    cfg = compose("word2vec", *overrides(corpus, data_dir))
    R.validate(cfg)
    summary = R.run(cfg, run_dir)
    rep = json.loads((run_dir / "emergence.json").read_text())
    fams = json.loads((run_dir / "families.json").read_text())
    assert fams["early"]["n_pairs"] == 8 and fams["late"]["n_pairs"] == 8
    w = np.asarray(rep["eigvals"])
    # each family's mean task vector lives on one eigen-feature: early's has the larger eigenvalue
    k = {f: rep["families"][f]["localisation_summary"]["top_features"][0] for f in ("early", "late")}
    assert k["early"][1] > 0.8 and k["late"][1] > 0.7
    ke, kl = k["early"][0], k["late"][0]
    assert ke != kl and w[ke] > w[kl] and kl < 10                     # both inside the trained d = 10
    tau = theory.learning_times(w[:10], 1e-8, d=10)
    assert tau[ke] < tau[kl]
    # the closed form answers both families (a guess among a concept's 7 other forms: 1/7)
    assert max(rep["families"]["early"]["accuracy"]) > 0.9 and max(rep["families"]["late"]["accuracy"]) > 0.4
    em = summary["emergence_times"]
    # theory: acc(W_{r(t)}) reaches half its final value for early before late ...
    assert em["early"]["predicted_step"] < em["late"]["predicted_step"]
    # ... and so does the trained QWEM
    assert em["early"]["measured_step"] < em["late"]["measured_step"]
    assert em["early"]["measured_final"] > 0.9 and em["late"]["measured_final"] > 0.4
    for name in ("fig4", "fig6", "fig8", "family_training"):
        assert (run_dir / "figures" / f"{name}.png").stat().st_size > 0
    assert summary["d_grid"][-1] <= summary["d_grid_cut"]["bounds"]["positive_eigenvalues"]


runner = CliRunner()


def snapshot(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("extra,needle", [
    (["emergence.families=[early,late,sparse]"], "emergence.families=sparse is invalid: 2 in-vocabulary pairs"),
    (["emergence.d_grid.hi_log2=8"], "emergence.d_grid.hi_log2=8.0 is invalid: d up to 256 > vocab_size=126"),
    (["emergence.families=[early,late,nope]"], "emergence.families=nope is invalid: unknown family"),
    (["+emergence.sources.bad=[google:nosuch]", "emergence.families=[early,late,bad]"], "emergence.sources.bad=google:nosuch"),
    (["train.method=sgns"], "train.method=sgns is invalid with emergence.train=true"),
], ids=["few-pairs", "grid-above-V", "unknown-family", "unknown-source", "not-qwem"])
def test_bad_emergence_input_is_one_line_exit_2_and_writes_nothing(planted, extra, needle):
    corpus, data_dir = planted
    args = ["word2vec", "--out", str(data_dir / "out")] + overrides(corpus, data_dir) + extra
    before = snapshot(data_dir)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip() and not ln.startswith("[word2vec]")]  # logs: stderr
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], result.output
    assert snapshot(data_dir) == before
