"""Defaults live in configs/ only: no code under experiments/ looks a config key up with a fallback.

Checked on the syntax tree, not by grep, so that dict.get on an unrelated dict stays legal. Flagged:
- `X.get(key, default)` with a default other than None, and `getattr(X, key, default)` /
  `OmegaConf.select(X, key, default=...)`, where X is a config: a name (or attribute) called like one
  (cfg, config, conf, node, settings, ...), a parameter annotated DictConfig, or a name or attribute
  assigned from one (`ds = cfg.dataset`, `self.ds = cfg.dataset`);
- a lookup helper with a default, `helper(cfg, "key", default)` (the old `_get` and `block`), any
  call of a function named `_get`, and any name containing FALLBACK.
Not caught: a config reached only through an unannotated parameter with an unrelated name.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "experiments"
CONFIG_NAME = re.compile(r"^(cfg|config|conf|node|settings|hydra_cfg|omega)$|(^|_)cfg$|^cfg_")


def _chain(node: ast.AST) -> list[str]:
    """Names along an expression like self.cfg.train[0] -> ['self', 'cfg', 'train']."""
    names = []
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "select"):
            node = node.func.value  # cfg.get("train") is still a config node
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names[::-1]
        else:
            return names[::-1]


def _config_aliases(scope: ast.AST, known: set[str] = frozenset()) -> set[str]:
    """Names bound to a config node in this scope (ds = cfg.dataset; self.ds = cfg.dataset; a
    parameter annotated DictConfig), to a fixpoint."""
    aliases: set[str] = set(known)
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for a in scope.args.args + scope.args.kwonlyargs:
            if a.annotation is not None and "DictConfig" in ast.unparse(a.annotation):
                aliases.add(a.arg)
    assigns = [n for n in ast.walk(scope) if isinstance(n, ast.Assign)]
    changed = True
    while changed:
        changed = False
        for a in assigns:
            if not _is_config(a.value, aliases):
                continue
            for target in a.targets:
                name = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else None
                if name is not None and name not in aliases:
                    aliases.add(name)
                    changed = True
    return aliases


def _is_config(node: ast.AST, aliases: set[str]) -> bool:
    names = _chain(node)
    return bool(names) and (names[0] in aliases or any(n in aliases or CONFIG_NAME.search(n) for n in names[1:])
                            or bool(CONFIG_NAME.search(names[0])))


def _is_bare_config(node: ast.AST, aliases: set[str]) -> bool:
    return isinstance(node, ast.Name) and (node.id in aliases or bool(CONFIG_NAME.search(node.id)))


def _not_none(node: ast.AST | None) -> bool:
    return node is not None and not (isinstance(node, ast.Constant) and node.value is None)


def fallbacks(source: str, filename: str) -> list[str]:
    """Every code-side config default in one module, as 'file:line: code'."""
    tree = ast.parse(source, filename)
    # attributes assigned from a config anywhere in the module (self.ds = cfg.dataset) are configs everywhere
    attributes = {t.attr for a in ast.walk(tree) if isinstance(a, ast.Assign) for t in a.targets
                  if isinstance(t, ast.Attribute) and _is_config(a.value, _config_aliases(tree))}
    scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    aliases = {id(s): _config_aliases(s, attributes) for s in scopes}
    found = []

    def flag(node, what):
        found.append(f"{filename}:{node.lineno}: {what}: {ast.get_source_segment(source, node)}")

    def visit(node, known):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            known = known | aliases[id(node)]
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "get" and _is_config(f.value, known):
                default = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "default"), None)
                if _not_none(default):
                    flag(node, "config lookup with a default")
            if isinstance(f, ast.Name) and f.id == "getattr" and len(node.args) == 3 and _is_config(node.args[0], known):
                flag(node, "getattr with a default on a config")
            if isinstance(f, ast.Attribute) and f.attr == "select" and node.args and _is_config(node.args[0], known):
                if _not_none(next((k.value for k in node.keywords if k.arg == "default"), None)):
                    flag(node, "OmegaConf.select with a default")
            if (isinstance(f, ast.Name) and f.id == "_get") or (isinstance(f, ast.Attribute) and f.attr == "_get"):
                flag(node, "_get helper")
            elif (len(node.args) >= 2 and _is_bare_config(node.args[0], known) and isinstance(node.args[1], ast.Constant)
                  and isinstance(node.args[1].value, str) and not (isinstance(f, ast.Name) and f.id == "getattr")
                  and _not_none(node.args[2] if len(node.args) > 2 else
                                next((k.value for k in node.keywords if k.arg == "default"), None))):
                flag(node, "lookup helper with a default")
        if isinstance(node, ast.Name) and "FALLBACK" in node.id.upper():
            flag(node, "FALLBACK table")
        for child in ast.iter_child_nodes(node):
            visit(child, known)

    visit(tree, aliases[id(tree)])
    return found


PACKAGES = [p.name for p in sorted(ROOT.iterdir()) if (p / "__init__.py").exists()]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_config_lookup_with_a_fallback_default(package):
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        found += fallbacks(path.read_text(), str(path.relative_to(ROOT.parent)))
    assert not found, "defaults belong in configs/, not in code:\n" + "\n".join(found)


@pytest.mark.parametrize("code,flagged", [
    ('def f(cfg):\n    return cfg.get("lr", 0.1)', True),
    ('def f(cfg):\n    return cfg.train.get("steps", 100)', True),
    ('def f(cfg):\n    ds = cfg.dataset\n    return ds.get("noise", 0.0)', True),
    ('def f(self):\n    return self.cfg.get("k", 1)', True),
    ('def f(cfg):\n    return getattr(cfg, "k", 3)', True),
    ('def f(cfg):\n    return OmegaConf.select(cfg, "a.b", default=2)', True),
    ('def f(cfg):\n    return _get(cfg, "lr", 0.1)', True),
    ('def f(cfg):\n    return block(cfg, "trials", 1)', True),
    ('def f(c: DictConfig):\n    return c.get("lr", 0.1)', True),
    ('class T:\n    def __init__(self, cfg):\n        self.ds = cfg.dataset\n'
     '    def m(self):\n        return self.ds.get("noise", 0.0)', True),
    ('FALLBACK = {"ntk_probe": 64}', True),
    ('def f(cfg):\n    return cfg.get("values")', False),              # no default: a missing key stays None
    ('def f(cfg):\n    return cfg.get("values", None)', False),
    ('def f(counts):\n    return counts.get("the", 0)', False),         # a plain dict, not a config
    ('def f(info):\n    return info.get("status", "pending")', False),
    ('def f(cfg):\n    table = {}\n    return table.get(cfg.name, 1)', False),
    ('def f(cfg):\n    require_range(cfg.seed, "seed", 0, 10)', False),     # a check, not a lookup
    ('def f(cfg):\n    return build(Settings, cfg, "prefix")', False),
])
def test_the_checker_flags_config_fallbacks_and_only_those(code, flagged):
    assert bool(fallbacks(code, "x.py")) == flagged, fallbacks(code, "x.py")
