"""Charts drawn as SVG text on the server: no chart library and no CDN, so a page works offline on a LAN.

Every chart scales to its container (``viewBox`` with ``width="100%"``), so it reads on a phone.
"""

from __future__ import annotations

from html import escape

from weishang_core.insight import STAGES, Funnel, Report, TreeNode
from weishang_core.money import format_yuan

WIDTH = 360
ROW = 19
LABEL = 110
COLOURS = {"posts": "#5c6bc0", "clicks": "#26a69a", "orders": "#ef6c00", "revenue": "#c62828", "commissions": "#6d4c41"}
TITLES = {
    "posts": "帖子 posts",
    "clicks": "點擊 clicks",
    "orders": "訂單 orders",
    "revenue": "收入 ¥",
    "commissions": "佣金 ¥",
}


def _shown(stage: str, value: int) -> str:
    return format_yuan(value) if stage in ("revenue", "commissions") else str(value)


def _open(chart_id: str, label: str, height: int, y: int | None) -> str:
    """A chart's root element: as wide as its container on a page, or placed at Y in a larger document."""
    size = 'width="100%"' if y is None else f'y="{y}" width="{WIDTH}" height="{height}"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" {size} '
        f'role="img" aria-label="{escape(label)}" font-family="sans-serif" font-size="13">'
    )


def funnel_height(rows: int) -> int:
    return 30 + (24 + ROW * len(STAGES)) * max(1, rows)


def funnel_svg(title: str, funnels: list[Funnel], chart_id: str = "funnel", y: int | None = None) -> str:
    """One block per outlet (or reseller): its five stages as bars, each stage scaled to its largest value.

    Narrow on purpose (360 units, 13-unit text): a phone shows it at about its natural size.
    """
    block = 24 + ROW * len(STAGES)
    peak = {stage: max([getattr(f, stage) for f in funnels] + [1]) for stage in STAGES}
    parts = [
        _open(chart_id, title, funnel_height(len(funnels)), y),
        f'<text x="0" y="16" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    if not funnels:
        parts.append('<text x="0" y="48" fill="#777">nothing in this window yet</text>')
    for row, funnel in enumerate(funnels):
        top = 30 + row * block
        parts.append(f'<text x="0" y="{top + 16}" font-weight="bold" class="row-name">{escape(funnel.name)}</text>')
        for i, stage in enumerate(STAGES):
            y = top + 22 + i * ROW
            value = getattr(funnel, stage)
            bar = round((WIDTH - LABEL - 8) * max(0, value) / peak[stage])
            parts.append(f'<text x="8" y="{y + 13}" fill="#555">{TITLES[stage]}</text>')
            parts.append(
                f'<rect x="{LABEL}" y="{y}" width="{bar}" height="16" rx="3" fill="{COLOURS[stage]}" opacity=".3"/>'
            )
            parts.append(
                f'<text x="{LABEL + 4}" y="{y + 13}" data-name="{escape(funnel.name)}" data-stage="{stage}">'
                f"{_shown(stage, value)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _layout(nodes: list[TreeNode]) -> list[tuple[TreeNode, int, int | None]]:
    """Rows in depth-first order, each with its depth and the row index of its parent."""
    rows: list[tuple[TreeNode, int, int | None]] = []

    def walk(node: TreeNode, depth: int, parent: int | None) -> None:
        rows.append((node, depth, parent))
        me = len(rows) - 1
        for child in node.children:
            walk(child, depth + 1, me)

    for root in nodes:
        walk(root, 0, None)
    return rows


def tree_height(nodes: list[TreeNode]) -> int:
    return 34 + 24 * max(1, len(_layout(nodes)))


def tree_svg(nodes: list[TreeNode], chart_id: str = "tree", y: int | None = None) -> str:
    """The referral tree, indented by level with elbow lines from sponsor to recruit."""
    rows = _layout(nodes)
    parts = [
        _open(chart_id, "referral tree", tree_height(nodes), y),
        '<text x="0" y="16" font-size="15" font-weight="bold">推薦關係 · Who brought whom</text>',
    ]
    for index, (node, depth, parent) in enumerate(rows):
        x, y = 8 + depth * 24, 40 + index * 24
        if parent is not None:
            px, py = 8 + (depth - 1) * 24, 40 + parent * 24
            parts.append(f'<path d="M{px + 4} {py + 4} V{y - 4} H{x - 2}" fill="none" stroke="#999"/>')
        fill = "#3d7a2a" if node.role == "seller" else "#ef6c00"
        parts.append(f'<circle cx="{x + 4}" cy="{y - 4}" r="5" fill="{fill}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" class="person">{escape(node.name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def report_svg(report: Report) -> str:
    """The whole report as one SVG document (``weishang report --svg FILE``): both funnels and the tree."""
    outlets, resellers = [*report.outlets, report.total], report.resellers
    top_resellers = funnel_height(len(outlets)) + 16
    top_tree = top_resellers + funnel_height(len(resellers)) + 16
    y = top_tree + tree_height(report.tree) + 16
    placed = [
        funnel_svg(f"渠道 · Outlets, last {report.days} days", outlets, "outlets", y=0),
        funnel_svg(f"分銷商 · Resellers, last {report.days} days", resellers, "resellers", y=top_resellers),
        tree_svg(report.tree, y=top_tree),
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {y}" width="{WIDTH}" height="{y}">\n'
        + '<rect width="100%" height="100%" fill="#fff"/>\n'
        + "\n".join(placed)
        + "\n</svg>\n"
    )
