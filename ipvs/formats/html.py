"""Rich HTML for Jupyter (tables, services, statistics and plans), and pandas frames.

The renderers are functions. :func:`register_ipython` registers them with
IPython's HTML formatter by type name, so a :class:`~ipvs.Table` or a
:class:`~ipvs.Plan` displays as a table in a notebook; ``import ipvs`` calls it
when IPython is already running, so nothing needs to be done by hand.
"""

from __future__ import annotations

import sys
from html import escape
from typing import Any

import attrs

from ipvs._model import Destination, Service, ServiceEntry, Stats, Table
from ipvs._plan import Plan

__all__ = [
    "plan_html",
    "register_ipython",
    "service_html",
    "stats_frame",
    "stats_html",
    "table_html",
]

_STYLE = (
    "<style>.ipvs td,.ipvs th{padding:2px 8px;text-align:left;font-family:monospace}"
    ".ipvs .svc{font-weight:bold;background:#eef}.ipvs .add{color:#080}"
    ".ipvs .chg{color:#a60}.ipvs .del{color:#b00}.ipvs .num{text-align:right}</style>"
)


def _bar(weight: int, total: int) -> str:
    share = weight / total if total else 0.0
    width = round(share * 80)
    return (
        f'<span style="display:inline-block;width:{width}px;height:8px;background:#69c"></span>'
        f" {share:.0%}"
    )


def _service_rows(service: Service, destinations: tuple[Destination, ...]) -> list[str]:
    settings = [service.scheduler]
    if service.flags:
        settings.append(f"flags={','.join(service.flag_names)}")
    if service.timeout:
        settings.append(f"timeout={service.timeout}")
    if service.pe_name:
        settings.append(f"pe={service.pe_name}")
    rows = [
        f'<tr class="svc"><td colspan="2">{escape(service.describe())}</td>'
        f'<td colspan="4">{escape(" ".join(settings))}</td></tr>'
    ]
    total = sum(d.weight for d in destinations)
    for d in destinations:
        rows.append(
            f"<tr><td>&rarr; {escape(d.describe())}</td><td>{d.forward.name.lower()}</td>"
            f'<td class="num">{d.weight}</td><td>{_bar(d.weight, total)}</td>'
            f'<td class="num">{d.active_connections}</td>'
            f'<td class="num">{d.inactive_connections}</td></tr>'
        )
    return rows


_HEAD = (
    "<tr><th>Service / destination</th><th>Method</th><th>Weight</th><th>Share</th>"
    "<th>ActiveConn</th><th>InActConn</th></tr>"
)


def service_html(service: Service, destinations: tuple[Destination, ...] = ()) -> str:
    """Render one service (and its destinations) as HTML.

    Args:
        service: the service.
        destinations: its destinations.

    Returns:
        An HTML fragment.
    """
    rows = "".join(_service_rows(service, destinations))
    return f'{_STYLE}<table class="ipvs">{_HEAD}{rows}</table>'


def table_html(table: Table) -> str:
    """Render a whole table as HTML: services with destinations, weights and shares.

    Args:
        table: the table.

    Returns:
        An HTML fragment.
    """
    rows: list[str] = []
    for entry in table.entries():
        rows += _service_rows(entry.service, entry.sorted_destinations())
    caption = f"<caption>{len(table)} services, {table.destination_count()} destinations</caption>"
    return f'{_STYLE}<table class="ipvs">{caption}{_HEAD}{"".join(rows)}</table>'


_STATS_FIELDS = tuple(a.name for a in attrs.fields(Stats))


def stats_html(stats: Stats) -> str:
    """Render statistics as a two-row HTML table.

    Args:
        stats: the statistics.

    Returns:
        An HTML fragment.
    """
    head = "".join(f"<th>{f}</th>" for f in _STATS_FIELDS)
    cells = "".join(f'<td class="num">{getattr(stats, f):,}</td>' for f in _STATS_FIELDS)
    return f'{_STYLE}<table class="ipvs"><tr>{head}</tr><tr>{cells}</tr></table>'


def plan_html(plan: Plan) -> str:
    """Render a plan as HTML, coloured by add, change and delete.

    Args:
        plan: the plan.

    Returns:
        An HTML fragment.
    """
    css = {"+": "add", "~": "chg", "-": "del"}
    rows = "".join(
        f'<tr class="{css[op.symbol]}"><td>{escape(op.describe())}</td></tr>' for op in plan
    )
    rows += "".join(
        f'<tr class="chg"><td>draining {escape(d.describe())}</td></tr>' for d in plan.drains
    )
    return f'{_STYLE}<table class="ipvs">{rows}<tr><th>{escape(plan.summary())}</th></tr></table>'


def stats_frame(table: Table) -> Any:
    """Return the statistics of every service and destination as a pandas DataFrame.

    Args:
        table: a table read from the kernel (with statistics).

    Returns:
        A ``pandas.DataFrame`` with one row per service and per destination.

    Raises:
        ImportError: pandas is not installed (``pip install 'ipvs[pandas]'``).
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for entry in table.entries():
        svc = entry.service
        row: dict[str, Any] = {"service": svc.describe(), "destination": None}
        row.update({f: getattr(svc.stats, f) if svc.stats else 0 for f in _STATS_FIELDS})
        rows.append(row)
        for d in entry.sorted_destinations():
            row = {
                "service": svc.describe(),
                "destination": d.describe(),
                "weight": d.weight,
                "active_connections": d.active_connections,
                "inactive_connections": d.inactive_connections,
            }
            row.update({f: getattr(d.stats, f) if d.stats else 0 for f in _STATS_FIELDS})
            rows.append(row)
    return pd.DataFrame(rows)


def _entry_html(entry: ServiceEntry) -> str:
    return service_html(entry.service, entry.sorted_destinations())


# (module, class name, renderer) for IPython's formatter: registration by
# name keeps this module from importing anything just to register.
_RENDERERS = (
    ("ipvs._model._table", "Table", table_html),
    ("ipvs._model._table", "ServiceEntry", _entry_html),
    ("ipvs._model._service", "Service", service_html),
    ("ipvs._model._objects", "Stats", stats_html),
    ("ipvs._plan._diff", "Plan", plan_html),
)


def register_ipython(shell: Any = None) -> bool:
    """Make IPython and Jupyter display tables, services, statistics and plans as HTML.

    Args:
        shell: the IPython shell (default: the running one, if any).

    Returns:
        True if a shell was found and the renderers registered.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")
        get = getattr(ipython, "get_ipython", None)
        shell = get() if callable(get) else None
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["text/html"]
    for module, name, render in _RENDERERS:
        formatter.for_type_by_name(module, name, render)
    return True
