"""The one way this tool reads YAML: safe, line-numbered, and every failure one line.

Every YAML file we read (the policy file, YAML zone data) goes through :func:`read_text`
and :func:`compose_all` / :func:`compose_one`. They turn every loader failure into an
:class:`~dmarc_audit.errors.InputError` that reads ``FILE:LINE: what``: syntax errors,
text that is not UTF-8, tags other than YAML's standard ones (``!!python/name:...``),
and documents nested too deeply (``RecursionError`` in the parser, or deeper than
:data:`MAX_DEPTH`).
Merge keys (``<<: *anchor``) are applied, as YAML 1.1 defines them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmarc_audit.errors import InputError

if TYPE_CHECKING:
    import yaml

MAX_DEPTH = 100
"""Mappings and lists nested deeper than this are refused (no YAML we read needs 10)."""

_STANDARD_TAGS = frozenset(
    "tag:yaml.org,2002:" + name
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp")
)


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of ``path``; ``what`` names the file in errors (``config``)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    return decode_utf8(data, path, what)


def decode_utf8(data: bytes, path: Path | str, what: str) -> str:
    """``data`` as UTF-8 (a leading BOM dropped), or ``FILE:LINE: ... not UTF-8``."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}:{line}: {what} is not UTF-8 text (byte 0x{data[exc.start]:02x})"
        ) from None


def compose_all(text: str, path: Path | str) -> tuple[list[yaml.Node], yaml.SafeLoader]:
    """Every document of ``text`` as checked nodes, and the loader to construct values."""
    import yaml

    loader = yaml.SafeLoader(text)
    documents: list[yaml.Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                _check_tree(node, path, loader)
                documents.append(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise InputError(f"{path}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InputError(
            f"{path}:{loader.line + 1}: invalid YAML: nested too deeply (more than {MAX_DEPTH})"
        ) from None
    finally:
        loader.dispose()
    return documents, loader


def compose_one(text: str, path: Path | str) -> tuple[yaml.Node | None, yaml.SafeLoader]:
    """The single document of ``text`` (``None`` when empty); more than one is an error."""
    documents, loader = compose_all(text, path)
    if len(documents) > 1:
        line = documents[1].start_mark.line + 1
        raise InputError(f"{path}:{line}: expected one YAML document, found another here")
    return (documents[0] if documents else None), loader


def construct(loader: yaml.SafeLoader, node: yaml.Node, path: Path | str) -> Any:
    """The Python value of a checked ``node`` (``FILE:LINE: ...`` on a bad value)."""
    import yaml

    try:
        return loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or node.start_mark
        problem = " ".join(str(exc.problem or "bad value").split())
        raise InputError(f"{path}:{mark.line + 1}: invalid YAML: {problem}") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise InputError(f"{path}:{node.start_mark.line + 1}: invalid YAML value: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}:{node.start_mark.line + 1}: nested too deeply") from None


def _check_tree(root: yaml.Node, path: Path | str, loader: yaml.SafeLoader) -> None:
    """Refuse non-standard tags and too deep nesting; apply merge keys.

    An alias is the node it names (the parser shares it), so each node is visited once
    and "billion laughs" documents cost no more than their text.
    """
    import yaml

    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        line = node.start_mark.line + 1
        if depth > MAX_DEPTH:
            raise InputError(
                f"{path}:{line}: invalid YAML: nested too deeply (more than {MAX_DEPTH})"
            )
        if node.tag not in _STANDARD_TAGS:
            raise InputError(f"{path}:{line}: invalid YAML: tag {node.tag!r} is not allowed")
        if id(node) in seen:  # an alias: checked once (its depth was checked there too)
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            loader.flatten_mapping(node)  # type: ignore[attr-defined]  # applies "<<" merges
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
