"""A data-flow diagram of the AI system as inline SVG, with the attack points of its threats.

The diagram is generated from the profile (no external tools): data sources, training, the
model artefact and its supplier, the model, serving, callers or sensors, outputs, and for
LLM agents the retrieved content and tools. Each applicable threat gets a numbered red marker
on the components it attacks (the catalogue's ``attack_points``); a legend maps numbers to
threats.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from aisec.threat.model import ThreatModel

W, H = 150, 56
WIDTH = 900


@dataclass(frozen=True)
class _Node:
    key: str
    title: str
    detail: str
    x: int
    y: int


#: attack point (catalogue) -> diagram node
POINT_NODE = {
    "data-sources": "data",
    "training": "training",
    "model-artifact": "artifact",
    "model": "model",
    "serving": "serving",
    "inference-input": "input",
    "sensor": "input",
    "outputs": "outputs",
    "retrieval": "retrieval",
    "tools": "tools",
}


def _nodes(tm: ThreatModel) -> list[_Node]:
    p = tm.profile
    supplier = {
        "trained-in-house": "in-house training",
        "fine-tuned": "third-party base, fine-tuned",
        "third-party-pretrained": "third-party supplier",
    }[p.provenance]
    formats = ", ".join(p.model_formats) or "format not declared"
    if "physical-world" in p.exposure:
        inp = ("Sensor input", f"{p.modality} from the physical world")
    elif p.public:
        inp = ("Callers", ", ".join(e for e in p.exposure if e != "internal"))
    else:
        inp = ("Internal users", "internal network")
    nodes = [
        _Node("data", "Data sources", ", ".join(p.data_sources), 10, 170),
        _Node("training", "Training", f"{p.technology}, {p.task}", 190, 170),
        _Node("artifact", "Model artefact", f"{supplier}; {formats}", 370, 40),
        _Node("model", "Model", f"{p.modality} {p.task}", 370, 170),
        _Node("serving", "Serving", ", ".join(p.exposure), 550, 170),
        _Node("outputs", "Outputs", ", ".join(p.outputs), 730, 170),
        _Node("input", inp[0], inp[1], 550, 300),
    ]
    if p.untrusted_content:
        nodes.append(
            _Node("retrieval", "Untrusted content", "retrieved documents, web, e-mail", 190, 300)
        )
    if p.tools:
        nodes.append(_Node("tools", "Tools", ", ".join(p.tools), 730, 300))
    return nodes


_EDGES = [
    ("data", "training"),
    ("training", "artifact"),
    ("artifact", "model"),
    ("model", "serving"),
    ("serving", "outputs"),
    ("input", "serving"),
    ("retrieval", "model"),
    ("serving", "tools"),
]


def _anchor(a: _Node, b: _Node) -> tuple[float, float, float, float]:
    ax, ay = a.x + W / 2, a.y + H / 2
    bx, by = b.x + W / 2, b.y + H / 2
    if abs(ay - by) < 1:  # same row
        return (a.x + W, ay, b.x, by) if bx > ax else (a.x, ay, b.x + W, by)
    if abs(ax - bx) < 1:  # same column
        return (ax, a.y + H, bx, b.y) if by > ay else (ax, a.y, bx, b.y + H)
    return (a.x + W, ay, b.x, by) if bx > ax else (a.x, ay, b.x + W, by)


def dataflow_svg(tm: ThreatModel) -> str:
    """The data-flow diagram of a threat model as a self-contained ``<svg>`` element."""
    nodes = {n.key: n for n in _nodes(tm)}
    numbered = [(i, t) for i, t in enumerate(tm.applicable, 1)]
    marks: dict[str, list[tuple[int, str]]] = {}
    for i, t in numbered:
        for point in t.entry.attack_points:
            key = POINT_NODE[point]
            if key in nodes and (i, t.id) not in marks.get(key, []):
                marks.setdefault(key, []).append((i, t.id))
    legend_rows = (len(numbered) + 1) // 2
    height = 380 + 18 * legend_rows
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="dataflow" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" style="max-width:{WIDTH}px;font-family:sans-serif">',
        f"<title>Data-flow diagram of {escape(tm.profile.name)} with attack points</title>",
        '<defs><marker id="dfd-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ]
    for a, b in _EDGES:
        if a in nodes and b in nodes:
            x1, y1, x2, y2 = _anchor(nodes[a], nodes[b])
            out.append(
                f'<line class="flow" x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                'stroke="#555" stroke-width="1.5" marker-end="url(#dfd-arrow)"/>'
            )
    for n in nodes.values():
        detail = n.detail if len(n.detail) <= 28 else n.detail[:27] + "…"
        out.append(
            f'<g class="node" data-node="{n.key}">'
            f"<title>{escape(n.title)}: {escape(n.detail)}</title>"
            f'<rect x="{n.x}" y="{n.y}" width="{W}" height="{H}" rx="8" '
            'fill="#eef3fb" stroke="#3b5b8c"/>'
            f'<text x="{n.x + W / 2:.0f}" y="{n.y + 24}" text-anchor="middle" font-size="13" '
            f'font-weight="bold">{escape(n.title)}</text>'
            f'<text x="{n.x + W / 2:.0f}" y="{n.y + 42}" text-anchor="middle" font-size="10" '
            f'fill="#333">{escape(detail)}</text></g>'
        )
        for j, (num, tid) in enumerate(marks.get(n.key, [])):
            cx = n.x + W - 8 - 19 * (j % 7)
            cy = n.y - 4 - 19 * (j // 7)
            out.append(
                f'<g class="attack-point" data-threat="{escape(tid)}">'
                f"<title>{num}: {escape(tid)}</title>"
                f'<circle cx="{cx}" cy="{cy}" r="9" fill="#c0392b"/>'
                f'<text x="{cx}" y="{cy + 4}" text-anchor="middle" font-size="10" '
                f'fill="#fff">{num}</text></g>'
            )
    y0 = 385
    for k, (num, t) in enumerate(numbered):
        x = 10 + (k % 2) * 450
        y = y0 + 18 * (k // 2)
        out.append(
            f'<g class="legend"><circle cx="{x + 8}" cy="{y - 4}" r="7" fill="#c0392b"/>'
            f'<text x="{x + 8}" y="{y}" text-anchor="middle" font-size="9" fill="#fff">{num}</text>'
            f'<text x="{x + 22}" y="{y}" font-size="11">{escape(t.id)} ({t.risk_level})</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)
