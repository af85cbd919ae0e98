"""The appendix n × k heat map: 4 × 4 panels (test/train × theory/experiment, four ridges)."""
import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from repro.experiments.common.rundir import execute
from repro.experiments.rf_sweep import plots


def test_product_run_draws_the_4x4_heatmap(compose, run_dir, tiny_rf, monkeypatch):
    overrides = [o for o in tiny_rf if not o.startswith(("grid.n=", "grid.k=", "ridges.num"))]
    cfg = compose("rf_sweep", *overrides, "grid.layout=product", "grid.n=[20,60,3]", "grid.k=[20,60,3]",
                  "ridges.values=[0.001953125,0.03125,0.5,8.0]")
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("rf_sweep", run_dir) == "done"
    table = pd.read_csv(run_dir / "results.csv")
    assert len(table[["n", "k"]].drop_duplicates()) == 9  # every (n, k) pair: the experiment rows have data
    figs = {}
    real_save = plots.save
    monkeypatch.setattr(plots, "save", lambda fig, d, name, tight=True: figs.setdefault(name, fig) and real_save(fig, d, name, tight))
    paths = plots.plot_run(run_dir)
    assert (run_dir / "figures" / "heatmap_test_mse.png") in paths
    fig = figs["heatmap_test_mse"]
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 16
    titles = [ax.get_title() for ax in panels]
    rows = [t.split(",")[0] for t in titles[::4]]
    assert rows == ["test theory", "test experiment", "train theory", "train experiment"]
    assert [t.split("δ=")[1] for t in titles[:4]] == ["2^-9", "2^-5", "2^-1", "2^3"]
    assert all(ax.get_xlabel() == "k" and ax.get_ylabel() == "n" for ax in panels)
    meshes = [ax.collections[0] for ax in panels]
    assert all(m.norm.vmin == 0.2 and m.norm.vmax == 10 and m.norm.__class__.__name__ == "LogNorm" for m in meshes)
    # the experiment panels hold the measured grid at the nearest ridge (here exactly the column's ridge)
    exp_test = meshes[4].get_array().reshape(3, 3)
    want = table[np.isclose(table.ridge, 2.0**-9)].pivot_table(index="n", columns="k", values="test_mse").to_numpy()
    assert np.allclose(exp_test, want)


def test_a_cross_run_keeps_the_layout_and_says_what_the_experiment_rows_need(compose, run_dir, tiny_rf, monkeypatch):
    cfg = compose("rf_sweep", *tiny_rf)
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("rf_sweep", run_dir) == "done"
    figs = {}
    monkeypatch.setattr(plots, "save", lambda fig, d, name, tight=True: figs.setdefault(name, fig))
    plots.plot_run(run_dir)
    panels = [ax for ax in figs["heatmap_test_mse"].axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 16
    assert "grid.layout=product" in panels[4].texts[0].get_text()
