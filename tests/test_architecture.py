"""The house, written down as tests: layers, no import cycles, pure rules.

Every import counts: module level, inside functions and under ``if TYPE_CHECKING:``;
they are all dependencies of the design even when they break nothing at run time.
docs/architecture.md explains the layers; this file is their definition.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dmarc_audit"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__", "cli"),  # options only
    ("gate", "diff", "digest"),  # what check, diff and digest share; the digest's engine
    ("output",),  # every renderer, one registry
    ("message",),  # message mode: its own run over one message
    ("audit",),  # the run loop: collect, then judge, per domain
    ("senders",),  # the sender inventory over the reports store
    ("reports",),  # report reading, the store, the summary
    ("checks",),  # pure rules: facts in, findings out
    ("config",),  # the policy file
    ("filters",),  # select/ignore, baselines
    ("report",),  # the result model of one domain
    # collectors and their facts, one package per area
    ("spf", "dkim", "dmarc", "mx", "mailrecords", "mtasts", "dnssec", "sending", "fetch"),
    ("records", "orgdomain"),  # pure record parsers and the PSL
    ("dns",),  # resolvers: live, local zones, cache
    (
        "(root)",
        "catalog",
        "findings",
        "exit_status",
        "domains",
        "errors",
        "yamlfile",
        "redact",
        "secretfile",
        "words",
    ),
)
"""Top to bottom: a module may import from its own layer and the layers below it."""

IO_MODULES = frozenset(
    {
        "asyncio",
        "socket",
        "ssl",
        "sqlite3",
        "smtplib",
        "imaplib",
        "subprocess",
        "http",
        "urllib.request",
        "imapclient",
        "psycopg",
        "aiosmtpd",
        "dns.resolver",
        "dns.asyncresolver",
        "dns.query",
    }
)
"""Libraries that do I/O; a rule module imports none of them."""


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@cache
def _tree(name: str) -> ast.Module:
    return ast.parse(_modules()[name].read_text(encoding="utf-8"))


def _known(name: str) -> str | None:
    """The module of ours that ``name`` (a module or a name inside one) refers to."""
    modules = _modules()
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imported_names(name: str) -> list[tuple[str, int]]:
    """Every module name imported anywhere in module ``name`` (absolute, with its line)."""
    is_package = _modules()[name].name == "__init__.py"
    out: list[tuple[str, int]] = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            out.append((base, node.lineno))
            out += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return out


@cache
def _imports() -> tuple[Import, ...]:
    found: dict[tuple[str, str], Import] = {}
    for name in _modules():
        for target, line in _imported_names(name):
            if not target.startswith("dmarc_audit"):
                continue
            module = _known(target)
            if module is not None and module != name and (name, module) not in found:
                found[(name, module)] = Import(name, module, line)
    return tuple(found.values())


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def _layer(area: str) -> int:
    for index, areas in enumerate(LAYERS):
        if area in areas:
            return index
    raise AssertionError(f"dmarc_audit/{area} is in no layer: add it to LAYERS (and the docs)")


def test_every_area_has_a_layer() -> None:
    for module in _modules():
        _layer(_area(module))


def test_imports_only_go_down_the_stack() -> None:
    upward = [
        f"{i.source} (line {i.line}) imports {i.target}: "
        f"layer {_layer(_area(i.source))} may not import layer {_layer(_area(i.target))}"
        for i in _imports()
        if _layer(_area(i.target)) < _layer(_area(i.source))
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {name: set() for name in _modules()}
    for i in _imports():
        graph[i.source].add(i.target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert [" -> ".join(c) for c in cycles] == []


def test_the_layer_test_sees_every_kind_of_import() -> None:
    """Function-level and TYPE_CHECKING imports count (audit.py has both)."""
    from_audit = {i.target for i in _imports() if i.source == "dmarc_audit.audit"}
    assert "dmarc_audit.spf.analyze" in from_audit  # imported inside a function
    assert "dmarc_audit.dns.types" in from_audit  # imported under TYPE_CHECKING


def _does_io(name: str) -> list[str]:
    """Why module ``name`` counts as doing I/O (empty when it does not)."""
    why = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.AsyncFunctionDef | ast.Await):
            why.append(f"line {node.lineno}: async code")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "open"
        ):
            why.append(f"line {node.lineno}: open()")
    for target, line in _imported_names(name):
        if any(target == m or target.startswith(m + ".") for m in IO_MODULES):
            why.append(f"line {line}: imports {target}")
    return why


def test_rules_do_no_io() -> None:
    """No module under checks/ does I/O or defines ``async def``."""
    rules = [name for name in _modules() if _area(name) == "checks"]
    assert len(rules) >= 8
    impure = {name: why for name in rules if (why := _does_io(name))}
    assert impure == {}


def test_rules_import_no_collector() -> None:
    """Rules read facts; they never import a module that asks DNS, HTTPS or SMTP.

    ``dns.types`` is the one exception: it holds the Answer dataclasses rules read,
    next to the Resolver protocol (which only declares ``async def query``).
    """
    collectors = {name for name in _modules() if _does_io(name)} - {"dmarc_audit.dns.types"}
    assert "dmarc_audit.spf.analyze" in collectors and "dmarc_audit.dmarc.collect" in collectors
    wrong = [
        f"{i.source} (line {i.line}) imports {i.target}"
        for i in _imports()
        if _area(i.source) == "checks" and i.target in collectors
    ]
    assert wrong == []
