"""HTML for Jupyter and pandas frames: functions over the model, registered with IPython."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from ipvs import Destination, Service, ServiceFlags, Stats, Table, diff
from ipvs.formats import html
from ipvs.formats.ipvsadm import parse_table

WEB = Service.tcp("10.0.0.1", 80, scheduler="sh", flags=ServiceFlags.SH_PORT)
D1 = Destination(address="10.1.0.1", port=80, forward="masq", weight=3)
D2 = Destination(address="10.1.0.2", port=80, forward="masq", weight=1)


def test_table_html_shows_services_destinations_and_shares() -> None:
    text = html.table_html(Table([(WEB, [D1, D2])]))
    assert "1 services, 2 destinations" in text
    assert "TCP 10.0.0.1:80" in text and "10.1.0.2:80" in text
    assert "flags=sh-port" in text  # the same flag name as plans and ipvsadm
    assert "75%" in text and "25%" in text


def test_plan_html_colours_operations() -> None:
    current = Table([(WEB, [D1, D2])])
    desired = Table([(attrs.evolve(WEB, scheduler="rr"), [attrs.evolve(D1, weight=5)])])
    text = html.plan_html(diff(current, desired))
    assert 'class="chg"' in text and 'class="del"' in text
    assert "Plan: 0 to add, 2 to change, 1 to delete." in text


def test_stats_html_lists_every_counter() -> None:
    text = html.stats_html(Stats(connections=7, bytes_in=12345))
    for field in attrs.fields(Stats):
        assert f"<th>{field.name}</th>" in text
    assert "12,345" in text


def test_register_ipython_registers_by_type_name() -> None:
    registered: list[tuple[str, str, Any]] = []

    class Formatter:
        def for_type_by_name(self, module: str, name: str, func: Any) -> None:
            registered.append((module, name, func))

    class Shell:
        display_formatter = type("D", (), {"formatters": {"text/html": Formatter()}})()

    assert html.register_ipython(Shell()) is True
    names = {(m, n) for m, n, _f in registered}
    assert ("ipvs._model._table", "Table") in names and ("ipvs._plan._diff", "Plan") in names
    # the names are where the classes really live
    import importlib

    for module, name, _func in registered:
        assert getattr(importlib.import_module(module), name).__name__ == name
    assert html.register_ipython() is False  # no IPython shell in this process


def test_stats_frame_has_a_row_per_service_and_destination() -> None:
    pd = pytest.importorskip("pandas")

    table = parse_table("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2\n")
    entry = next(iter(table.values()))
    live = Table(
        [
            (
                attrs.evolve(entry.service, stats=Stats(connections=7)),
                [attrs.evolve(entry.destinations[0], active_connections=3)],
            )
        ]
    )
    frame = html.stats_frame(live)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["destination"].fillna("-")) == ["-", "10.1.0.1:80"]
    assert list(frame["connections"]) == [7, 0]
    assert frame["active_connections"].iloc[1] == 3
