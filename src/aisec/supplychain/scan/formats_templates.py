"""Chat templates: Jinja2 programs an inference server renders, reviewed without rendering.

Templates come from GGUF metadata, from the ``chat_template`` keys of ``tokenizer_config.json``
and from standalone ``.jinja`` files. Each is parsed with Jinja2's own parser and its syntax
tree inspected (docs/scanner.md, "Chat templates").
"""

from __future__ import annotations

import re
from typing import Any

from aisec.supplychain.scan.rules import Collector

#: Attribute names through which a template reaches Python internals (SSTI gadgets).
_DUNDER = re.compile(
    r"__(class|globals|subclasses|builtins|mro|base|bases|init|import|getattribute|dict|code|"
    r"func|self|module|loader|spec|reduce|reduce_ex|call|closure|defaults)__|\bmro\b|"
    r"func_globals|f_globals|gi_frame|cr_frame|tb_frame"
)
_ESCAPED_UNDERSCORE = re.compile(r"\\x5f|\\u005f|\\137|\\N\{LOW LINE\}", re.IGNORECASE)


#: Attribute names a chat template has no business reaching: processes, environment, imports.
#: (Not ``system``, ``eval`` or ``exec``: templates keep ``ns.system`` for the system prompt.)
_RISKY_ATTRIBUTES = frozenset(
    [
        "popen",
        "environ",
        "getenv",
        "check_output",
        "check_call",
        "subprocess",
        "import_module",
        "spawnv",
        "execv",
        "builtins",
        "globals",
    ]
)


def _folded_names(tree: Any, env: Any) -> set[str]:
    """Names built at render time from constants (``"%c%c"|format(95, 95)``, ``"_" ~ "_"``,
    ``["_" * 2, ...]|join``) and attribute names that reach processes or code.

    Each expression is folded with Jinja's own constant evaluation (``Node.as_const``), which
    evaluates pure filters and operators on constants and never renders the template.
    """
    from jinja2 import nodes
    from jinja2.nodes import EvalContext

    ctx = EvalContext(env)
    found: set[str] = set()
    for node in tree.find_all(nodes.Expr):
        if isinstance(node, nodes.Getattr) and node.attr in _RISKY_ATTRIBUTES:
            found.add(node.attr)
        if isinstance(node, nodes.Const):
            continue  # plain constants are judged by the caller
        try:
            value = node.as_const(ctx)
        except Exception:  # not constant at parse time (reads a variable), or the filter fails
            continue
        if isinstance(value, str) and (value.startswith("_") or value in _RISKY_ATTRIBUTES):
            found.add(value)
    return found


TEMPLATE_EXTENSIONS = (".jinja", ".jinja2", ".j2")
"""Extensions of standalone chat templates (e.g. Hugging Face's ``chat_template.jinja``)."""


def review_json_templates(text: bytes, col: Collector) -> None:
    """Review every ``chat_template`` of a JSON file (``tokenizer_config.json``): a string, or
    a list of ``{"name": ..., "template": ...}`` as Hugging Face writes several templates."""
    import json

    try:
        doc = json.loads(text)
    except ValueError:
        return
    stack = [(doc, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if key == "chat_template":
                    _review_entry(value, col, where)
                else:
                    stack.append((value, where))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))


def _review_entry(value: Any, col: Collector, where: str) -> None:
    if isinstance(value, str):
        review_template(value, col, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                name = item.get("name", i)
                review_template(item["template"], col, f"{where}[{name}]")


def review_template(template: str, col: Collector, location: str) -> None:
    """Flag Jinja constructs that reach object internals (SCN-061) or evade review (SCN-062)."""
    hits = sorted({m.group(0) for m in _DUNDER.finditer(template)})
    escaped = _ESCAPED_UNDERSCORE.search(template) is not None
    attr_filter = re.search(r"\|\s*attr\b|\battr\s*\(", template) is not None
    ast_hits: set[str] = set()
    try:
        import jinja2
        from jinja2 import nodes

        env = jinja2.Environment()
        tree = env.parse(template)
        ast_hits |= _folded_names(tree, env)
        for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Const)):
            name = None
            if isinstance(node, nodes.Getattr):
                name = node.attr
            elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
                name = node.arg.value if isinstance(node.arg.value, str) else None
            elif isinstance(node, nodes.Const) and isinstance(node.value, str):
                name = node.value if node.value.startswith("__") else None
            if isinstance(name, str) and name.startswith("_"):
                ast_hits.add(name)
    except Exception as exc:  # template syntax errors and anything the parser raises
        col.add("SCN-062", f"chat template cannot be parsed ({type(exc).__name__})", location)
    found = sorted(set(hits) | ast_hits)
    if found:
        col.add(
            "SCN-061",
            "chat template reaches object internals: " + ", ".join(found[:8]),
            location,
            constructs=found,
        )
    elif escaped or attr_filter:
        col.add(
            "SCN-061" if escaped else "SCN-062",
            "chat template builds attribute names dynamically (escaped underscores or the "
            "attr filter)",
            location,
        )
