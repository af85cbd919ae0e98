"""Every command the README shows and every `--help` example runs, from a scratch folder, with tiny
sizes appended (the README's own values stay on the line; appended overrides win) and a generated
DATA folder. A command that needs a GPU is expected to refuse cleanly where there is none."""
import gzip
import re
import shlex
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from repro.cli.app import app
from repro.cli.registry import EXPERIMENTS
from tests_cli_data import TINY_RF, data_folder, word_corpus

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
TINY = {
    "rf-sweep": TINY_RF,
    "richness": ["preset=quick"],
    "word2vec": ["preset=quick", "vocab_size=60", "d=4", "window=2", "benchmark.ablation.vocab_size=60",
                 "benchmark.ablation.d=4"],
}
SLOW = ("richness", "word2vec")  # their quick presets take 10 s or more each on 2 shared cores


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if "bin/repro " in line:  # the install one-liner ends by running repro
                line = "repro " + line.split("bin/repro ", 1)[1]
            if line.startswith("repro"):
                out.append(line)
    return out


def help_examples() -> list[str]:
    commands = [[]] + [[c] for c in EXPERIMENTS] + [["show-config"], ["plot"], ["aggregate"], ["runs"]]
    found = []
    for c in commands:
        text = runner.invoke(app, [*c, "--help"], terminal_width=400).output
        found += [" ".join(m.split()) for m in re.findall(r"Example:\s+(repro [^\n│]*)", text)]
    return found


COMMANDS = list(dict.fromkeys(readme_commands() + help_examples()))


def test_the_readme_and_help_have_the_commands_we_run():
    assert len(readme_commands()) >= 20 and len(help_examples()) == 1 + len(EXPERIMENTS) + 4
    assert all(c in COMMANDS for c in ("repro --help", "repro runs", "repro rf-sweep preset=quick"))


def marks(command: str):
    return [pytest.mark.slow] if any(f"repro {e}" in command for e in SLOW) else []


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # ~/data and ~/my_corpus.txt.gz live here
    home = tmp_path / "home"
    data_folder(home / "data")
    with gzip.open(home / "my_corpus.txt.gz", "wt") as f:
        f.write(word_corpus(tmp_path / "c.txt").read_text())
    return tmp_path


def one(args: list[str]):
    result = runner.invoke(app, args)
    return result.exit_code, result.output, result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


@pytest.mark.parametrize("command", [pytest.param(c, marks=marks(c)) for c in COMMANDS])
def test_command_runs(scratch, command):
    data = str(scratch / "home" / "data")
    words = shlex.split(command.replace("~/", str(scratch / "home") + "/"))[1:]
    words = [data if w == "DATA" else w for w in words]
    if "<run>" in command or "<sweep>" in command or words[:1] in (["plot"], ["aggregate"], ["runs"]):
        code, out, run = one(["rf-sweep", *TINY_RF])
        code, out, sweep = one(["rf-sweep", *TINY_RF, "seed=0,1"])
        assert code == 0, out
        words = [w.replace("outputs/rf_sweep/<run>", run).replace("outputs/rf_sweep/<sweep>", sweep) for w in words]
    if "outputs/word2vec/<sweep>" in command:   # a word2vec sweep of its own (two tiny runs on the DATA corpus)
        code, out, sweep = one(["word2vec", "--corpus", "wikitext2", "--data-dir", data, *TINY["word2vec"], "seed=0,1"])
        assert code == 0, out
        words = [w.replace("outputs/word2vec/<sweep>", sweep) for w in words]
    if words and words[0] in TINY and "--help" not in words:
        words += TINY[words[0]]
        if words[0] == "richness" and "--experiment" not in words:
            words += ["steps=5"]  # the default experiment (train): a few SGD steps are enough here
    code, out, last = one(words)
    if "--device cuda" in command and not torch.cuda.is_available():
        assert code == 2 and "CUDA is not available" in out, out
        return
    assert code == 0, f"{command}\n{out}"
    if words and words[0] in TINY and "--help" not in words and "--dry-run" not in words:
        assert (Path(last) / "summary.json").exists() or (Path(last) / "sweep.json").exists(), out
