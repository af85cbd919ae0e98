"""Peak memory of one rf-sweep run, from its sizes (the CLI refuses a run that cannot fit).

The largest tensors of one (n, k, trial) draw: train features n x k and test features n_test x k,
the inputs (n + n_test) x d, and the Gram matrix of the smaller side with its eigenvectors, in the
run's dtype; real datasets add the M x M kernel of the spectrum estimate (float64). A lower bound of
the true peak (no allocator slack), so a run that fits is never refused.
"""
from __future__ import annotations

INPUT_DIM = {"cifar10": 3072, "mnist": 784, "fashion_mnist": 784}


def peak_bytes(cfg) -> tuple[int, str]:
    g = cfg.grid
    n_max, k_max = int(g.n[1]), int(g.k[1])
    pairs = [(n_max, k_max)] if g.layout == "product" else [(int(g.fixed_n), k_max), (n_max, int(g.fixed_k))]
    item = 8 if cfg.dtype == "float64" else 4
    modes = int(cfg.dataset.modes)
    d = INPUT_DIM.get(cfg.dataset.name, modes)
    n_test = int(cfg.n_test)

    def draw(n, k):
        return item * ((n + n_test) * k + (n + n_test) * d + 2 * min(n, k) ** 2)

    need = max(draw(n, k) for n, k in pairs) + (8 * modes**2 if cfg.dataset.name != "gaussian" else 0)
    return need, f"grid.n={list(g.n)} grid.k={list(g.k)} n_test={n_test} dataset.modes={modes}"
