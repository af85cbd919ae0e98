"""Damaged cache entries heal: a truncated, garbled or half-missing entry of every cache kind is
named in one stderr line, deleted and recomputed, and the run's results come out the same."""
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from repro.cli.app import app
from repro.experiments.common import cache
from tests_cli_data import TINY_RF, data_folder, word_corpus

runner = CliRunner()


def damage(path: Path, how: str) -> None:
    if how == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garble":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif how == "sidecar":
        path.with_suffix(".json").write_text("{not json")
    elif how == "missing":
        path.unlink()


@pytest.mark.parametrize("how", ["truncate", "garble", "sidecar", "missing"])
def test_a_damaged_entry_is_reported_deleted_and_recomputed_once(tmp_path, monkeypatch, capsys, how):
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(1000.0), "b": np.eye(3)}

    first = cache.cached("kind", {"x": 1, "version": 1}, compute)
    data, meta = cache.entry_paths("kind", {"x": 1, "version": 1})
    damage(data, how)
    capsys.readouterr()
    again = cache.cached("kind", {"x": 1, "version": 1}, compute)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged kind cache entry" in err[0] and str(data) in err[0]
    assert len(calls) == 2 and np.array_equal(again["a"], first["a"])  # recomputed once, same value
    assert data.exists() and meta.exists()  # healed: the next read is a clean hit
    cache.cached("kind", {"x": 1, "version": 1}, compute)
    assert len(calls) == 2 and capsys.readouterr().err == ""


def summaries_equal(a: dict, b: dict) -> bool:
    drop = {"config_hash"}
    skip = lambda k: k in drop or "time" in k or "seconds" in k or k.endswith("_s")  # noqa: E731
    return {k: v for k, v in a.items() if not skip(k)} == {k: v for k, v in b.items() if not skip(k)}


def run_twice_damaging(tmp_path, monkeypatch, args, kinds, how="truncate"):
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    first = runner.invoke(app, args + ["--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    entries = {k: sorted((tmp_path / "cache" / k).glob("*.npz")) for k in kinds}
    assert all(entries.values()), entries  # every kind was cached
    for files in entries.values():
        for f in files:
            damage(f, how)
    second = runner.invoke(app, args + ["--out", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    for k in kinds:
        assert second.output.count(f"damaged {k} cache entry") == len(entries[k]), second.output
    load = lambda r: json.loads((Path(r.stdout.strip().splitlines()[-1]) / "summary.json").read_text())  # noqa: E731
    assert summaries_equal(load(first), load(second))  # nothing lost: the same results
    return first, second


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncate", "garble"])
def test_word2vec_token_cooccurrence_and_eigenpair_caches_heal(tmp_path, monkeypatch, how):
    corpus = word_corpus(tmp_path / "corpus.txt")
    args = ["word2vec", "--corpus", str(corpus), "preset=quick", "vocab_size=60", "d=4", "window=2", "device=cpu"]
    run_twice_damaging(tmp_path, monkeypatch, args, ["word2vec_tokens", "word2vec_cooc", "word2vec_eig"], how)


def test_rf_sweep_spectrum_cache_heals(tmp_path, monkeypatch):
    data = data_folder(tmp_path / "data")
    args = ["rf-sweep", "--dataset", "cifar10", "--data-dir", str(data), *TINY_RF, "device=cpu"]
    run_twice_damaging(tmp_path, monkeypatch, args, ["rf_sweep_spectra"])
