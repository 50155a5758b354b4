"""Every catalog id is tied to the rule that emits it, and every rule to its ids.

Rules declare their ids with ``@catalog.rule(...)``. This test reads the rule modules'
source: a function that passes an id to a call (``finding("spf.missing", ...)``) must
declare it, a function may not declare an id it never names, and every id a module
mentions is declared by one of its rules; an active id must have a registered rule, a
planned one none.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from dmarc_audit.catalog import CATALOG, CHECKS, RULES, UnknownCheckId, rule
from dmarc_audit.catalog.model import CheckStatus

PACKAGE = Path(__file__).resolve().parent.parent / "dmarc_audit"
RULE_FILES = (*sorted((PACKAGE / "checks").glob("*.py")), PACKAGE / "message" / "rules.py")


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


@cache
def _registered() -> dict[str, tuple[str, ...]]:
    for path in RULE_FILES:
        importlib.import_module(_module(path))
    return dict(RULES)


def _ids_in(node: ast.AST) -> set[str]:
    return {
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in CATALOG
    }


def _declared(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str] | None:
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Name)
            and decorator.func.id == "rule"
        ):
            return {a.value for a in decorator.args if isinstance(a, ast.Constant)}
    return None


def _in_calls(node: ast.AST) -> set[str]:
    """Ids written as (part of) an argument of a call: ``finding("spf.missing", ...)``."""
    out: set[str] = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                out |= _ids_in(arg)
    return out


@dataclass(frozen=True)
class RuleSource:
    """One top-level function of a rule module, as written."""

    name: str
    named: frozenset[str]
    """Every id the body mentions, directly or through a module-level table it uses."""
    passed: frozenset[str]
    """Ids the body passes to a call (emits or hands to a helper that emits)."""
    declared: frozenset[str] | None
    """The ids of its ``@rule(...)``; None when it has none."""


def _functions(path: Path) -> tuple[list[RuleSource], set[str]]:
    """The module's top-level functions and every id the module mentions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    tables: dict[str, set[str]] = {}
    for top in tree.body:
        if isinstance(top, ast.Assign | ast.AnnAssign) and (ids := _ids_in(top)):
            targets = top.targets if isinstance(top, ast.Assign) else [top.target]
            tables.update({t.id: ids for t in targets if isinstance(t, ast.Name)})
    functions = []
    for top in tree.body:
        if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef):
            body = ast.Module(body=top.body, type_ignores=[])
            named = _ids_in(body)
            for n in ast.walk(body):
                if isinstance(n, ast.Name) and n.id in tables:
                    named |= tables[n.id]
            declared = _declared(top)
            functions.append(
                RuleSource(
                    top.name,
                    frozenset(named),
                    frozenset(_in_calls(body)),
                    None if declared is None else frozenset(declared),
                )
            )
    mentioned = set().union(*tables.values(), *(f.named for f in functions))
    return functions, mentioned


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: _module(p))
def test_each_rule_declares_the_ids_it_emits(path: Path) -> None:
    """An id passed to a call is declared; nothing is declared that the body never names;
    every id the module mentions (tables included) is declared by one of its rules."""
    functions, mentioned = _functions(path)
    undeclared = [
        f"{f.name}: emits {sorted(f.passed - (f.declared or set()))} without @rule"
        for f in functions
        if f.passed - (f.declared or set())
    ]
    false = [
        f"{f.name}: declares {sorted(f.declared - f.named)} it never names"
        for f in functions
        if f.declared is not None and f.declared - f.named
    ]
    claimed = set().union(*(f.declared or set() for f in functions))
    assert undeclared == [] and false == []
    assert sorted(mentioned - claimed) == []


def test_every_active_id_has_a_rule_and_no_planned_id_has_one() -> None:
    registered = _registered()
    active = {i.id for i in CHECKS if i.status is CheckStatus.ACTIVE}
    planned = {i.id for i in CHECKS if i.status is CheckStatus.PLANNED}
    assert sorted(active - set(registered)) == []
    assert sorted(planned & set(registered)) == []
    assert set(registered) <= set(CATALOG)


def test_the_registry_names_the_rule() -> None:
    assert "dmarc_audit.checks.dmarc.check_policy_none" in _registered()["dmarc.policy-none"]


def test_an_unknown_id_fails_at_import_time() -> None:
    with pytest.raises(UnknownCheckId):
        rule("dmarc.no-such-check")
