"""``ipvs run``: a long-running director, keepalived's ``virtual_server`` part in one process.

It reads a configuration file (a table document with health checks, VIP
binding and daemon options, see :doc:`/reference/daemon`), applies the
table, binds the services' addresses to a dummy interface
(:class:`ipvs.Binding`), runs the health checks (:mod:`ipvs.health`),
reloads the file on SIGHUP (one apply of the difference; health states
kept for the destinations that stay), repairs what other writers change
within its scope every ``daemon.resync`` seconds, serves Prometheus
metrics, and on SIGTERM or SIGINT leaves the table or removes what it
made.

* :func:`load_config`, :class:`Config`: the file;
* :class:`Director`: the engine, for asyncio programs;
* :func:`run`: the process (``ipvs run CONFIG``);
* :func:`render`, :func:`kernel_families`, :func:`director_families`,
  :func:`exposition`, :class:`MetricsServer`: the metrics (``ipvs stats
  --prometheus``), and :class:`Collector` for a prometheus-client registry.

pyroute2 (binding) and PyYAML (YAML files) are optional: ``pip install
'ipvs[run]'`` installs both. The metrics need no package (prometheus-client
only for :class:`Collector`). This layer sits above :mod:`ipvs.health`;
``import ipvs`` does not load it.
"""

from ipvs.daemon._config import (
    DEFAULT_METRICS,
    Config,
    OnStop,
    command_hook,
    config_from_dict,
    config_from_text,
    load_config,
    split_address,
)
from ipvs.daemon._director import Director, logger
from ipvs.daemon._http import MetricsServer
from ipvs.daemon._main import check, notify, run
from ipvs.daemon._metrics import (
    APPLY_BUCKETS,
    BACKEND_LABELS,
    CONTENT_TYPE,
    SERVICE_LABELS,
    Collector,
    Counters,
    Family,
    KernelReader,
    backend_labels,
    director_families,
    exposition,
    kernel_families,
    parse_totals,
    render,
    service_labels,
)

__all__ = [
    "APPLY_BUCKETS",
    "BACKEND_LABELS",
    "CONTENT_TYPE",
    "DEFAULT_METRICS",
    "SERVICE_LABELS",
    "Collector",
    "Config",
    "Counters",
    "Director",
    "Family",
    "KernelReader",
    "MetricsServer",
    "OnStop",
    "backend_labels",
    "check",
    "command_hook",
    "config_from_dict",
    "config_from_text",
    "director_families",
    "exposition",
    "kernel_families",
    "load_config",
    "logger",
    "notify",
    "parse_totals",
    "render",
    "run",
    "service_labels",
    "split_address",
]
