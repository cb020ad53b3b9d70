"""The ``ipvs`` command line: ipvsadm's outputs, plus plans, atomic applies and netns.

Errors are one line on standard error and exit status 2 (``ipvs diff``
exits 1 when something would change, like diff(1)). Only what a command
needs is imported, so start-up stays light.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from ipvs._client._sync import Client
    from ipvs._model import Table
    from ipvs._plan import Plan, Scope

__all__ = ["main"]

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2


class CLIError(Exception):
    """An expected error: printed as one line, exit status 2."""


def _client(args: argparse.Namespace) -> Client:
    from ipvs._client._sync import Client

    return Client(netns=args.netns)


def _read(path: str | None) -> tuple[str, str]:
    if path is None or path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read(), path
    except OSError as exc:
        raise CLIError(f"{path}: {exc.strerror}") from None


def load_table(text: str, name: str) -> Table:
    """Read a desired state (see :func:`ipvs.formats.load_table`).

    Args:
        text: the file's text.
        name: the file name.

    Returns:
        The table.

    Raises:
        CLIError: the text cannot be read; the message names the file.
    """
    from ipvs.errors import ValidationError
    from ipvs.formats import load_table as load

    try:
        return load(text, name)
    except ValidationError as exc:
        raise CLIError(str(exc)) from None


def _scope(values: Sequence[str] | None, desired: Table) -> Scope | None:
    from ipvs._plan import Scope
    from ipvs.errors import ValidationError

    if not values:
        return None
    scope: Scope | None = None
    for value in values:
        try:
            if value == "listed":
                part = Scope.of(desired)
            elif value.startswith("fwmark:"):
                part = Scope.fwmarks(*(int(v) for v in value[7:].split(",")))
            else:
                part = Scope.networks(*value.split(","))
        except (ValidationError, ValueError) as exc:
            raise CLIError(f"--scope {value!r}: {exc}") from None
        scope = part if scope is None else scope | part
    return scope


def _progress(args: argparse.Namespace) -> Callable[[int, int], None] | None:
    if args.quiet or not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        rate = done / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} ops {rate:,.0f}/s"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _out(args: argparse.Namespace, text: str) -> None:
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _table_doc(table: Table, *, stats: bool = False) -> dict[str, Any]:
    from ipvs.formats.document import table_to_dict

    return table_to_dict(table, stats=stats)


def _plan_doc(plan: Plan) -> dict[str, Any]:
    from ipvs.formats.document import plan_to_dict

    return plan_to_dict(plan)


# -- commands -------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:
    from ipvs.formats import ipvsadm

    with _client(args) as client:
        table = client.snapshot()
        if args.json:
            _json(_table_doc(table, stats=True))
            return EXIT_OK
        info = client.info()
    _out(
        args, ipvsadm.listing(table, stats=args.stats, rate=args.rate, exact=args.exact, info=info)
    )
    return EXIT_OK


def cmd_save(args: argparse.Namespace) -> int:
    from ipvs.formats import ipvsadm

    with _client(args) as client:
        table = client.snapshot()
    if args.json:
        _json(_table_doc(table))
    else:
        sys.stdout.write(ipvsadm.save(table, thresholds=args.thresholds))
    return EXIT_OK


def _apply_and_report(
    args: argparse.Namespace,
    client: Client,
    desired: Table,
    *,
    scope: Scope | None = None,
    drain: bool = False,
    dry_run: bool = False,
) -> int:
    result = client.apply(
        desired, scope=scope, drain=drain, dry_run=dry_run, progress=_progress(args)
    )
    if args.json:
        _json({**_plan_doc(result.plan), "applied": result.applied and bool(result.plan)})
    elif not args.quiet:
        _out(args, str(result.plan))
        if dry_run and result.plan:
            _out(args, "(dry run: nothing was changed)")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from ipvs.errors import ValidationError
    from ipvs.formats import ipvsadm

    text, name = _read(args.file)
    with _client(args) as client:
        try:
            if args.noflush:
                desired = ipvsadm.parse_table(text, base=client.snapshot())
            else:
                desired = ipvsadm.parse_table(text)
        except ValidationError as exc:
            raise CLIError(f"{name}: {exc}") from None
        return _apply_and_report(args, client, desired)


def cmd_apply(args: argparse.Namespace) -> int:
    text, name = _read(args.file)
    desired = load_table(text, name)
    scope = _scope(args.scope, desired)
    with _client(args) as client:
        return _apply_and_report(
            args, client, desired, scope=scope, drain=args.drain, dry_run=args.dry_run
        )


def cmd_diff(args: argparse.Namespace) -> int:
    from ipvs._plan import diff

    text, name = _read(args.file)
    desired = load_table(text, name)
    scope = _scope(args.scope, desired)
    with _client(args) as client:
        plan = diff(client.snapshot(), desired, scope=scope)
    if args.json:
        _json(_plan_doc(plan))
    else:
        _out(args, str(plan))
    return EXIT_CHANGES if plan else EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from ipvs.formats import ipvsadm

    count = 0
    with _client(args) as client:
        while True:
            table = client.snapshot()
            if args.prometheus:
                from ipvs.daemon import render

                sys.stdout.write(render(args.netns, table=table))
            elif args.json:
                _json(_table_doc(table, stats=True))
            else:
                text = ipvsadm.listing(
                    table, stats=not args.rate, rate=args.rate, info=client.info()
                )
                if args.watch and sys.stdout.isatty():
                    sys.stdout.write("\x1b[H\x1b[2J")
                _out(args, text)
            sys.stdout.flush()
            count += 1
            if not args.watch or (args.count and count >= args.count):
                return EXIT_OK
            time.sleep(args.watch)


def cmd_run(args: argparse.Namespace) -> int:
    from ipvs import daemon

    if args.check:
        _out(args, f"{args.config}: {daemon.check(args.config).describe()}")
        return EXIT_OK
    return daemon.run(args.config, netns=args.netns)


def cmd_flush(args: argparse.Namespace) -> int:
    with _client(args) as client:
        client.flush()
    return EXIT_OK


def cmd_zero(args: argparse.Namespace) -> int:
    with _client(args) as client:
        client.zero(_service_key(args.service) if args.service else None)
    return EXIT_OK


def _service_key(text: str) -> Any:
    """Parse ``tcp:10.0.0.1:80``, ``udp:[2001:db8::1]:53`` or ``fwmark:5[:6]``."""
    from ipvs._model import ServiceKey
    from ipvs.errors import ValidationError

    try:
        kind, _, rest = text.partition(":")
        kind = kind.lower()
        if kind == "fwmark":
            mark, _, fam = rest.partition(":")
            return ServiceKey.mark(int(mark), "inet6" if fam == "6" else "inet")
        if rest.startswith("["):
            addr, _, port = rest[1:].partition("]:")
        else:
            addr, _, port = rest.rpartition(":")
        return ServiceKey(protocol=kind, address=addr, port=int(port))
    except (ValueError, ValidationError) as exc:
        raise CLIError(
            f"bad service {text!r} (use tcp:ADDR:PORT, udp:..., sctp:... or fwmark:N[:6]): {exc}"
        ) from None


def cmd_timeouts(args: argparse.Namespace) -> int:
    from ipvs._model import Timeouts
    from ipvs.formats import ipvsadm

    with _client(args) as client:
        if args.values:
            if len(args.values) != 3:
                raise CLIError(
                    "timeouts takes three values: TCP TCPFIN UDP (0 leaves one unchanged)"
                )
            tcp, fin, udp = args.values
            client.set_timeouts(Timeouts(tcp=tcp, tcp_fin=fin, udp=udp))
            return EXIT_OK
        current = client.timeouts()
    if args.json:
        _json({"tcp": current.tcp, "tcp_fin": current.tcp_fin, "udp": current.udp})
    else:
        _out(args, ipvsadm.timeouts_listing(current))
    return EXIT_OK


def cmd_daemon(args: argparse.Namespace) -> int:
    import attrs

    from ipvs._model import SyncDaemon
    from ipvs.formats import ipvsadm

    with _client(args) as client:
        if args.action == "start":
            daemon = SyncDaemon(
                state=args.state,
                interface=args.interface,
                sync_id=args.syncid,
                max_length=args.sync_maxlen,
                group=args.mcast_group,
                port=args.mcast_port,
                ttl=args.mcast_ttl,
            )
            client.start_daemon(daemon)
            return EXIT_OK
        if args.action == "stop":
            client.stop_daemon(args.state)
            return EXIT_OK
        daemons = client.daemons()
    if args.json:
        _json([attrs.asdict(d) for d in daemons])
    else:
        _out(args, ipvsadm.daemons_listing(daemons))
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    with _client(args) as client:
        info = client.info()
        services = client.services()
    if args.json:
        _json(
            {
                "version": info.version,
                "connection_table_size": info.connection_table_size,
                "services": len(services),
            }
        )
    else:
        _out(args, f"{info.describe()}, {len(services)} services")
    return EXIT_OK


# -- parser ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser.

    Returns:
        The parser.
    """

    def options(suppress: bool) -> argparse.ArgumentParser:
        # The subcommands repeat the global options so they may come after the
        # command too; there they must not reset what was given before it.
        extra: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
        p = argparse.ArgumentParser(add_help=False)
        p.add_argument("--netns", metavar="NAME", help="network namespace (name or path)", **extra)
        p.add_argument("--json", action="store_true", help="print data as JSON", **extra)
        p.add_argument("-q", "--quiet", action="store_true", help="print less", **extra)
        return p

    common = options(suppress=False)
    repeated = options(suppress=True)

    parser = argparse.ArgumentParser(
        prog="ipvs",
        description="Program the Linux IPVS load balancer: ipvsadm's formats, plans, "
        "atomic pipelined applies, network namespaces.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], text: str) -> Any:
        p = sub.add_parser(name, help=text, description=text, parents=[repeated])
        p.set_defaults(func=func)
        return p

    p = add("show", cmd_show, "list the table like ipvsadm -Ln")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--stats", action="store_true", help="with counters (ipvsadm -Ln --stats)")
    group.add_argument("--rate", action="store_true", help="with rates (ipvsadm -Ln --rate)")
    p.add_argument("--exact", action="store_true", help="exact numbers (ipvsadm --exact)")

    p = add("save", cmd_save, "print the table as ipvsadm -Sn save text")
    p.add_argument("--thresholds", action="store_true", help="also save -x/-y (not ipvsadm's)")

    p = add("restore", cmd_restore, "load ipvsadm save text, atomically (unlike ipvsadm -R)")
    p.add_argument("file", nargs="?", help="the rules (default: standard input)")
    p.add_argument("--noflush", action="store_true", help="merge into the current table")

    for name, func, text in (
        ("apply", cmd_apply, "make the kernel match FILE, all or nothing; prints the plan"),
        ("diff", cmd_diff, "print the plan for FILE; exit 0 if nothing would change, 1 if so"),
    ):
        p = add(name, func, text)
        p.add_argument("file", help="desired state: YAML, JSON or ipvsadm save text ('-': stdin)")
        p.add_argument(
            "--scope",
            action="append",
            metavar="SCOPE",
            help="services the plan may touch: CIDR[,CIDR], fwmark:N[,N], or 'listed' "
            "(repeatable; default: all)",
        )
        if name == "apply":
            p.add_argument("--dry-run", action="store_true", help="print the plan only")
            p.add_argument("--drain", action="store_true", help="weight 0 instead of removal")

    p = add("stats", cmd_stats, "print counters (or rates), once or repeatedly")
    p.add_argument("--watch", type=float, metavar="SECONDS", help="repeat every SECONDS")
    p.add_argument("--count", type=int, default=0, help="stop after COUNT rounds")
    p.add_argument("--rate", action="store_true", help="rates instead of counters")
    p.add_argument(
        "--prometheus", action="store_true", help="Prometheus text format (as ipvs run serves)"
    )

    p = add("run", cmd_run, "run a director: apply CONFIG, health checks, reload on SIGHUP")
    p.add_argument("config", help="the configuration: a table document with checks (YAML, JSON)")
    p.add_argument("--check", action="store_true", help="check CONFIG and exit")

    add("flush", cmd_flush, "delete every service (ipvsadm -C)")
    p = add("zero", cmd_zero, "zero counters (ipvsadm -Z)")
    p.add_argument("service", nargs="?", help="tcp:ADDR:PORT, udp:..., sctp:..., fwmark:N[:6]")

    p = add("timeouts", cmd_timeouts, "show or set connection timeouts (ipvsadm --set)")
    p.add_argument("values", nargs="*", type=int, metavar="TCP TCPFIN UDP")

    p = add("daemon", cmd_daemon, "start, stop or show the connection sync daemons")
    p.add_argument("action", choices=["start", "stop", "show"])
    p.add_argument("state", nargs="?", choices=["master", "backup"], default="master")
    p.add_argument("--mcast-interface", dest="interface", default="eth0")
    p.add_argument("--syncid", type=int, default=0)
    p.add_argument("--sync-maxlen", type=int, default=0)
    p.add_argument("--mcast-group", default=None)
    p.add_argument("--mcast-port", type=int, default=0)
    p.add_argument("--mcast-ttl", type=int, default=0)

    add("info", cmd_info, "show the IPVS version and table size")
    return parser


def _fail(message: str, stream: IO[str]) -> NoReturn:
    stream.write(f"ipvs: {message}\n")
    raise SystemExit(EXIT_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    from ipvs.errors import IPVSError

    try:
        return int(args.func(args))
    except CLIError as exc:
        _fail(str(exc), sys.stderr)
    except IPVSError as exc:
        _fail(str(exc), sys.stderr)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        _fail("interrupted", sys.stderr)
