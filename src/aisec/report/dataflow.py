"""The data-flow diagram of an AI system as inline SVG, with the attack points of its threats.

The diagram is generated from the profile (no external tools): data sources, training, the
model artefact and its supplier, the model, serving, callers or sensors, outputs, and for
LLM agents the retrieved content and tools. Each applicable threat gets a numbered red marker
on the components it attacks (the catalogue's ``attack_points``); a legend maps numbers to
threats.

:func:`dataflow_layout` computes the picture (boxes, arrows, markers, legend) as plain values;
:func:`dataflow_svg` draws it through the autoescaped template ``dataflow.svg.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aisec.report.templating import environment
from aisec.threat.model import ThreatModel

TEMPLATE = "dataflow.svg.j2"
"""Template file in ``aisec/report/templates``."""

W, H = 150, 56
"""Width and height of one component box."""
WIDTH = 900
"""Width of the drawing."""
DETAIL_CHARS = 28
"""Longest detail line drawn in a box; longer ones are cut (the tooltip has them whole)."""

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


@dataclass(frozen=True)
class Marker:
    """A numbered attack-point marker of one threat on one component."""

    number: int
    threat: str
    cx: int
    cy: int


@dataclass(frozen=True)
class Node:
    """One component box, with the markers of the threats that attack it."""

    key: str
    title: str
    detail: str
    x: int
    y: int
    markers: tuple[Marker, ...] = ()

    @property
    def short_detail(self) -> str:
        """The detail as drawn in the box (cut with an ellipsis when too long)."""
        if len(self.detail) <= DETAIL_CHARS:
            return self.detail
        return self.detail[: DETAIL_CHARS - 1] + "…"

    @property
    def centre_x(self) -> str:
        """Horizontal centre of the box, for centred text."""
        return f"{self.x + W / 2:.0f}"


@dataclass(frozen=True)
class Edge:
    """An arrow between two boxes (coordinates already formatted)."""

    x1: str
    y1: str
    x2: str
    y2: str


@dataclass(frozen=True)
class LegendItem:
    """One legend entry: marker number, threat id and its risk level."""

    number: int
    threat: str
    risk_level: str
    x: int
    y: int


@dataclass(frozen=True)
class Diagram:
    """Everything :data:`TEMPLATE` draws."""

    name: str
    width: int
    height: int
    box_width: int
    box_height: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    legend: tuple[LegendItem, ...]


def _nodes(tm: ThreatModel) -> list[Node]:
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
        Node("data", "Data sources", ", ".join(p.data_sources), 10, 170),
        Node("training", "Training", f"{p.technology}, {p.task}", 190, 170),
        Node("artifact", "Model artefact", f"{supplier}; {formats}", 370, 40),
        Node("model", "Model", f"{p.modality} {p.task}", 370, 170),
        Node("serving", "Serving", ", ".join(p.exposure), 550, 170),
        Node("outputs", "Outputs", ", ".join(p.outputs), 730, 170),
        Node("input", inp[0], inp[1], 550, 300),
    ]
    if p.reads_untrusted:
        nodes.append(
            Node("retrieval", "Untrusted content", "retrieved documents, web, e-mail", 190, 300)
        )
    if p.tools:
        nodes.append(Node("tools", "Tools", ", ".join(p.tool_names), 730, 300))
    return nodes


def _anchor(a: Node, b: Node) -> Edge:
    ax, ay = a.x + W / 2, a.y + H / 2
    bx, by = b.x + W / 2, b.y + H / 2
    if abs(ay - by) < 1:  # same row
        xy = (a.x + W, ay, b.x, by) if bx > ax else (a.x, ay, b.x + W, by)
    elif abs(ax - bx) < 1:  # same column
        xy = (ax, a.y + H, bx, b.y) if by > ay else (ax, a.y, bx, b.y + H)
    else:
        xy = (a.x + W, ay, b.x, by) if bx > ax else (a.x, ay, b.x + W, by)
    return Edge(*(f"{v:.0f}" for v in xy))


def dataflow_layout(tm: ThreatModel) -> Diagram:
    """The data-flow diagram of a threat model as boxes, arrows, markers and a legend."""
    plain = {n.key: n for n in _nodes(tm)}
    numbered = list(enumerate(tm.applicable, 1))
    marks: dict[str, list[tuple[int, str]]] = {}
    for i, t in numbered:
        for point in t.entry.attack_points:
            key = POINT_NODE[point]
            if key in plain and (i, t.id) not in marks.get(key, []):
                marks.setdefault(key, []).append((i, t.id))
    nodes = []
    for n in plain.values():
        markers = tuple(
            Marker(num, tid, n.x + W - 8 - 19 * (j % 7), n.y - 4 - 19 * (j // 7))
            for j, (num, tid) in enumerate(marks.get(n.key, []))
        )
        nodes.append(Node(n.key, n.title, n.detail, n.x, n.y, markers))
    edges = tuple(_anchor(plain[a], plain[b]) for a, b in _EDGES if a in plain and b in plain)
    legend = tuple(
        LegendItem(num, t.id, t.risk_level, 10 + (k % 2) * 450, 385 + 18 * (k // 2))
        for k, (num, t) in enumerate(numbered)
    )
    return Diagram(
        name=tm.profile.name,
        width=WIDTH,
        height=380 + 18 * ((len(numbered) + 1) // 2),
        box_width=W,
        box_height=H,
        nodes=tuple(nodes),
        edges=edges,
        legend=legend,
    )


def dataflow_svg(tm: ThreatModel) -> str:
    """The data-flow diagram of a threat model as a self-contained ``<svg>`` element."""
    svg = environment().get_template(TEMPLATE).render(d=dataflow_layout(tm))
    return svg.strip()
