"""Bad input as a hostile user types it: every case exits 2 with one line naming the bad value, and
nothing is written under --out. The table spans the three experiments and the tool commands."""
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repro.cli.app import app
from tests_cli_data import TINY_RF, word_corpus

runner = CliRunner()
W2V = ["preset=quick", "vocab_size=50", "d=4", "window=2", "device=cpu"]  # + --corpus FILE, added below
RICH = ["preset=quick", "device=cpu"]

# (command, arguments, a substring the one error line must contain)
CASES = [
    # generic options and checks, on rf-sweep
    ("rf-sweep", ["--device", "cuda:7"], "cuda:7"),
    ("rf-sweep", ["--device", "tpu"], "tpu"),
    ("rf-sweep", ["--seed", "-1"], "seed=-1"),
    ("rf-sweep", ["seed=4294967296"], "seed=4294967296"),
    ("rf-sweep", ["--out", "{file}"], "afile"),
    ("rf-sweep", ["--out", "{file}/sub"], "afile"),
    ("rf-sweep", ["--out", "/sys/repro-out"], "/sys/repro-out"),
    ("rf-sweep", ["trials=${nope}"], "trials=${nope}"),
    ("rf-sweep", ["trials=${oc.env:NOPE_VAR}"], "NOPE_VAR"),
    ("rf-sweep", ["~trials"], "trials"),
    ("rf-sweep", ["seed=range(1000000000)", "--dry-run"], "1000000000 runs"),
    ("rf-sweep", ["seed=range(20)", "--max-runs", "10"], "cap of 10"),
    ("rf-sweep", ["--max-runs", "0"], "--max-runs=0"),
    ("rf-sweep", ["seed=range(0,5,0)"], "range(0,5,0)"),
    ("rf-sweep", ["dataset.noise=interval(0,1)"], "interval(0,1)"),
    ("rf-sweep", ["--name", "../../x"], "../../x"),
    ("rf-sweep", ["--name", "/abs/x"], "/abs/x"),
    ("rf-sweep", ["--name", "x" * 300], "300 characters"),
    ("rf-sweep", ["--name", "a b"], "'a b'"),
    ("rf-sweep", ["--name", ".."], "'..'"),
    ("rf-sweep", ["--launcher", "pbs"], "pbs"),
    ("rf-sweep", ["launcher=pbs"], "pbs"),
    ("rf-sweep", ["--launcher", "ray", "launcher=slurm"], "two launchers"),
    ("rf-sweep", ["--jobs", "0"], "launcher.jobs=0"),
    ("rf-sweep", ["--jobs", "2", "--launcher", "slurm"], "--jobs=2"),
    ("rf-sweep", ["--data-dir", "/no/such/folder"], "/no/such/folder"),
    ("rf-sweep", ["data_dir=/no/such/folder"], "/no/such/folder"),
    ("rf-sweep", ["trials=[1,2"], "cannot parse"),
    ("rf-sweep", ["nosuchkey=1"], "nosuchkey"),
    # rf-sweep's own keys
    ("rf-sweep", ["trials=abc"], "trials"),
    ("rf-sweep", ["trials=0"], "trials"),
    ("rf-sweep", ["trials=1,0"], "trials"),
    ("rf-sweep", ["dataset=imagenet"], "imagenet"),
    ("rf-sweep", ["features=nope"], "nope"),
    ("rf-sweep", ["dataset.noise=inf"], "dataset.noise=inf"),
    ("rf-sweep", ["dataset.alpha=inf"], "dataset.alpha=inf"),
    ("rf-sweep", ["dataset.alpha=0.5"], "dataset.alpha"),
    ("rf-sweep", ["ridges.values=[inf]"], "inf"),
    ("rf-sweep", ["grid.n=[10,1e12,5]"], "grid.n"),
    ("rf-sweep", ["grid.n=[1,2]"], "grid.n"),
    ("rf-sweep", ["grid.n=[a,b,c]"], "grid.n"),
    ("rf-sweep", ["grid.layout=diagonal"], "diagonal"),
    ("rf-sweep", ["n_test=-5"], "n_test=-5"),
    ("rf-sweep", ["dtype=float8"], "float8"),
    # richness
    ("richness", RICH + ["width=1000000000000"], "width=1000000000000"),
    ("richness", RICH + ["width=${nope}"], "width=${nope}"),
    ("richness", RICH + ["--seed", "-1"], "seed=-1"),
    ("richness", RICH + ["--device", "cuda:7"], "cuda:7"),
    ("richness", RICH + ["lr=abc"], "lr='abc'"),
    ("richness", RICH + ["experiment=e9"], "e9"),
    ("richness", RICH + ["gamma0=-1"], "gamma0"),
    ("richness", RICH + ["steps=-3"], "steps"),
    ("richness", RICH + ["r=nan"], "r=nan"),
    ("richness", RICH + ["~optimizer"], "optimizer"),
    # word2vec (a tiny corpus file keeps the hub out of it)
    ("word2vec", W2V + ["train.lr=abc"], "train.lr"),
    ("word2vec", W2V + ["vocab_size=0"], "vocab_size=0"),
    ("word2vec", W2V + ["d=-1"], "d=-1"),
    ("word2vec", W2V + ["window=inf"], "window"),
    ("word2vec", W2V + ["~window"], "window"),
    ("word2vec", W2V + ["train.method=foo"], "foo"),
    ("word2vec", W2V + ["--seed", "-1"], "seed=-1"),
    ("word2vec", W2V + ["k_neg=${oc.env:NOPE_VAR}"], "NOPE_VAR"),
    ("word2vec", ["preset=quick", "--corpus", "/no/such/corpus.txt"], "/no/such/corpus.txt"),
]

TOOL_CASES = [
    (["runs", "/nonexistent"], "/nonexistent"),
    (["aggregate", "/nonexistent"], "/nonexistent"),
    (["plot", "/nonexistent"], "/nonexistent"),
    (["aggregate", "{file}"], "afile"),
    (["aggregate", "{empty}"], "no finished runs"),
    (["plot", "{empty}"], "no finished runs"),
    (["show-config", "nosuch"], "nosuch"),
    (["show-config", "rf-sweep", "trials=0"], "trials"),
    (["show-config", "rf-sweep", "trials=abc"], "trials"),
    (["show-config", "richness", "width=${nope}"], "width=${nope}"),
    (["show-config", "rf-sweep", "seed=0,1"], "sweep"),
    (["show-config", "rf-sweep", "device=tpu"], "tpu"),
]


def one_error_line(output: str, needle: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error:") and needle in lines[0], lines[0]
    return lines[0]


def snapshot(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def places(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "empty").mkdir()
    corpus = tmp_path / "corpus.txt"
    word_corpus(corpus)
    return {"file": str(tmp_path / "afile"), "empty": str(tmp_path / "empty"), "corpus": str(corpus)}


@pytest.mark.parametrize("command,args,needle", CASES, ids=[f"{c}:{' '.join(a)[-40:]}" for c, a, _ in CASES])
def test_bad_experiment_input_is_one_line_exit_2_and_writes_nothing(tmp_path, places, command, args, needle):
    args = [a.format(**places) if "{" in a and "$" not in a else a for a in args]
    if command == "rf-sweep":
        args = TINY_RF + args
    if command == "word2vec" and "--corpus" not in args:
        args = ["--corpus", places["corpus"]] + args
    if "--out" not in args:
        args += ["--out", str(tmp_path / "D")]
    before = snapshot(tmp_path)
    result = runner.invoke(app, [command, *args])
    assert result.exit_code == 2, result.output
    one_error_line(result.output, needle)
    assert snapshot(tmp_path) == before  # nothing under --out, nothing anywhere else


@pytest.mark.parametrize("args,needle", TOOL_CASES, ids=[" ".join(a) for a, _ in TOOL_CASES])
def test_bad_tool_input_is_one_line_exit_2(tmp_path, places, args, needle):
    args = [a.format(**places) if "{" in a and "$" not in a else a for a in args]
    before = snapshot(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    one_error_line(result.output, needle)
    assert snapshot(tmp_path) == before


def test_the_table_is_big_enough():
    assert len(CASES) + len(TOOL_CASES) >= 40
    assert {c for c, _, _ in CASES} == {"rf-sweep", "richness", "word2vec"}
