"""The ``ipvs`` command line: ipvsadm's outputs, plus plans, atomic applies and netns.

Errors are one line on standard error, ``ipvs: `` and the message, and
exit status 2 (``ipvs diff`` exits 1 when something would change, like
diff(1)): argument errors, unreadable files, bad documents and the kernel's
refusals alike, and never a traceback. Arguments and files are checked
before the kernel is asked anything. Only what a command needs is imported,
so start-up stays light.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
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

#: The largest file ``apply``, ``diff`` and ``restore`` read.
MAX_FILE = 256 << 20
#: The longest wait ``stats --watch`` takes, in seconds.
MAX_WATCH = 86400.0
#: The longest error message printed (the rest is cut).
MAX_MESSAGE = 1000


class CLIError(Exception):
    """An expected error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.partition(" ")[2]
        where = f"{command}: " if command else ""
        _fail(f"{where}{message} (see '{self.prog} --help')", sys.stderr)


def _seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= MAX_WATCH):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 and at most {MAX_WATCH:g}, got {text!r}"
        )
    return value


def _count(text: str) -> int:
    """An argparse type: a count, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r:.40}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def _client(args: argparse.Namespace) -> Client:
    from ipvs._client._sync import Client

    return Client(netns=args.netns)


def _read(path: str | None) -> tuple[str, str]:
    """Read a file (``-`` or None: standard input) as UTF-8 text; return it and its name."""
    from ipvs.errors import ValidationError
    from ipvs.formats import decode_text

    name = "<stdin>" if path is None or path == "-" else path
    try:
        if name == "<stdin>":
            if sys.stdin is None:
                raise CLIError("<stdin>: there is no standard input")
            buffer = getattr(sys.stdin, "buffer", None)  # None: a text stream put in its place
            data = (buffer or sys.stdin).read(MAX_FILE + 1)
        else:
            with open(name, "rb") as fh:
                data = fh.read(MAX_FILE + 1)
    except OSError as exc:
        raise CLIError(f"{name}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE:
        raise CLIError(f"{name}: larger than {MAX_FILE >> 20} MiB")
    try:
        return decode_text(data), name
    except ValidationError as exc:
        raise CLIError(f"{name}: {exc}") from None


def load_table(text: str, name: str, *, resolve: bool = True) -> Table:
    """Read a desired state (see :func:`ipvs.formats.load_table`).

    Args:
        text: the file's text.
        name: the file name.
        resolve: resolve host and port names in ipvsadm rules.

    Returns:
        The table.

    Raises:
        CLIError: the text cannot be read; the message names the file.
    """
    from ipvs.errors import ValidationError
    from ipvs.formats import load_table as load

    try:
        return load(text, name, resolve=resolve)
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
    from ipvs._model import ServiceEntry, Table
    from ipvs.formats import ipvsadm

    key = _selected_service(args)
    if args.connection:
        if key is not None:
            raise CLIError("--connection lists every connection: give no service with it")
        with _client(args) as client:
            connections = client.connections()
        if args.json:
            _json([_connection_doc(c) for c in connections])
        else:
            _out(
                args, ipvsadm.connections_listing(connections, persistent_conn=args.persistent_conn)
            )
        return EXIT_OK
    with _client(args) as client:
        if key is None:
            table = client.snapshot()
            info = client.info()
        else:  # one service, as ipvsadm -Ln -t VIP:PORT lists it: no version line
            entry = ServiceEntry(service=client.service(key), destinations=client.destinations(key))
            table = Table([entry])
            info = None
    if args.json:
        _json(_table_doc(table, stats=True))
        return EXIT_OK
    text = ipvsadm.listing(
        table,
        stats=args.stats,
        rate=args.rate,
        thresholds=args.thresholds,
        persistent_conn=args.persistent_conn,
        exact=args.exact,
        info=info,
    )
    _out(args, text)
    return EXIT_OK


def _connection_doc(c: Any) -> dict[str, Any]:
    return {
        "protocol": c.protocol,
        "client": f"{c.client_address}",
        "client_port": c.client_port,
        "virtual": f"{c.virtual_address}",
        "virtual_port": c.virtual_port,
        "destination": f"{c.destination_address}",
        "destination_port": c.destination_port,
        "state": c.state,
        "expires": c.expires,
        "pe_name": c.pe_name,
        "pe_data": c.pe_data,
    }


def _selected_service(args: argparse.Namespace) -> Any:
    """The service named by ipvsadm-style options (-t, -u, --sctp-service, -f [-6]), if any."""
    given = [
        (kind, value)
        for kind, value in (
            ("tcp", args.tcp_service),
            ("udp", args.udp_service),
            ("sctp", args.sctp_service),
            ("fwmark", args.fwmark_service),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise CLIError("name one service: -t, -u, --sctp-service or -f")
    if args.ipv6 and (not given or given[0][0] != "fwmark"):
        raise CLIError("-6 goes with -f MARK (an address service's family is its address's)")
    if not given:
        return None
    kind, value = given[0]
    if kind == "fwmark":
        return _service_key(f"fwmark:{value}:{6 if args.ipv6 else 4}")
    return _service_key(f"{kind}:{value}")


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
    from ipvs.formats import _check_ipvsadm_text, _has_rules, ipvsadm

    text, name = _read(args.file)
    desired: Table | None = None
    try:
        if not args.noflush and not _has_rules(text):
            raise CLIError(
                f"{name}: no rules: restoring nothing would delete every service "
                "(use 'ipvs flush', or a '-C' line, to mean that)"
            )
        _check_ipvsadm_text(text)
        if args.noflush:
            ipvsadm.parse(text, resolve=args.resolve)  # the rules, before asking the kernel
        else:
            desired = ipvsadm.parse_table(text, resolve=args.resolve)
    except ValidationError as exc:
        raise CLIError(f"{name}: {exc}") from None
    with _client(args) as client:
        if desired is None:
            try:
                desired = ipvsadm.parse_table(text, base=client.snapshot(), resolve=args.resolve)
            except ValidationError as exc:
                raise CLIError(f"{name}: {exc}") from None
        return _apply_and_report(args, client, desired)


def cmd_apply(args: argparse.Namespace) -> int:
    text, name = _read(args.file)
    desired = load_table(text, name, resolve=args.resolve)
    scope = _scope(args.scope, desired)
    with _client(args) as client:
        return _apply_and_report(
            args, client, desired, scope=scope, drain=args.drain, dry_run=args.dry_run
        )


def cmd_diff(args: argparse.Namespace) -> int:
    from ipvs._plan import diff

    text, name = _read(args.file)
    desired = load_table(text, name, resolve=args.resolve)
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
    key = _selected_service(args)
    if args.service is not None:
        if key is not None:
            raise CLIError("name the service once: tcp:ADDR:PORT, or -t ADDR:PORT")
        key = _service_key(args.service)
    with _client(args) as client:
        client.zero(key)
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
            if fam not in ("", "4", "6"):
                raise ValueError(f"the family after the mark must be 4 or 6, not {fam!r}")
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

    if args.values:
        if len(args.values) != 3:
            raise CLIError("timeouts takes three values: TCP TCPFIN UDP (0 leaves one unchanged)")
        tcp, fin, udp = args.values
        wanted = Timeouts(tcp=tcp, tcp_fin=fin, udp=udp)
        with _client(args) as client:
            client.set_timeouts(wanted)
        return EXIT_OK
    with _client(args) as client:
        current = client.timeouts()
    if args.json:
        _json({"tcp": current.tcp, "tcp_fin": current.tcp_fin, "udp": current.udp})
    else:
        _out(args, ipvsadm.timeouts_listing(current))
    return EXIT_OK


def cmd_daemon(args: argparse.Namespace) -> int:
    from ipvs._model import SyncDaemon
    from ipvs.formats import ipvsadm

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
        with _client(args) as client:
            client.start_daemon(daemon)
        return EXIT_OK
    with _client(args) as client:
        if args.action == "stop":
            client.stop_daemon(args.state)
            return EXIT_OK
        daemons = client.daemons()
    if args.json:
        from ipvs.formats.document import daemon_to_dict

        _json([daemon_to_dict(d) for d in daemons])
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


def _no_resolve(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-resolve",
        dest="resolve",
        action="store_false",
        help="refuse host and port names in ipvsadm rules (default: resolve them, as "
        "ipvsadm -R does)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser.

    Returns:
        The parser.
    """

    def options(suppress: bool) -> _Parser:
        # The subcommands repeat the global options so they may come after the
        # command too; there they must not reset what was given before it.
        extra: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
        p = _Parser(add_help=False)
        p.add_argument("--netns", metavar="NAME", help="network namespace (name or path)", **extra)
        p.add_argument("--json", action="store_true", help="print data as JSON", **extra)
        p.add_argument("-q", "--quiet", action="store_true", help="print less", **extra)
        return p

    common = options(suppress=False)
    repeated = options(suppress=True)

    parser = _Parser(
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

    def service_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("-t", "--tcp-service", metavar="ADDR:PORT", help="one TCP service")
        p.add_argument("-u", "--udp-service", metavar="ADDR:PORT", help="one UDP service")
        p.add_argument("--sctp-service", metavar="ADDR:PORT", help="one SCTP service")
        p.add_argument("-f", "--fwmark-service", metavar="MARK", help="one firewall-mark service")
        p.add_argument("-6", "--ipv6", action="store_true", help="with -f: the IPv6 mark service")

    p = add("show", cmd_show, "list the table like ipvsadm -Ln (one service with -t, -u, -f)")
    service_options(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--stats", action="store_true", help="with counters (ipvsadm -Ln --stats)")
    group.add_argument("--rate", action="store_true", help="with rates (ipvsadm -Ln --rate)")
    group.add_argument(
        "--thresholds", action="store_true", help="with thresholds (ipvsadm -Ln --thresholds)"
    )
    group.add_argument(
        "--persistent-conn",
        action="store_true",
        help="with persistent connections (ipvsadm -Ln --persistent-conn)",
    )
    p.add_argument("--exact", action="store_true", help="exact numbers (ipvsadm --exact)")
    p.add_argument(
        "-c", "--connection", action="store_true", help="the connection table (ipvsadm -Lnc)"
    )

    p = add("save", cmd_save, "print the table as ipvsadm -Sn save text")
    p.add_argument("--thresholds", action="store_true", help="also save -x/-y (not ipvsadm's)")

    p = add("restore", cmd_restore, "load ipvsadm save text, atomically (unlike ipvsadm -R)")
    p.add_argument("file", nargs="?", help="the rules (default: standard input)")
    p.add_argument("--noflush", action="store_true", help="merge into the current table")
    _no_resolve(p)

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
        _no_resolve(p)
        if name == "apply":
            p.add_argument("--dry-run", action="store_true", help="print the plan only")
            p.add_argument("--drain", action="store_true", help="weight 0 instead of removal")

    p = add("stats", cmd_stats, "print counters (or rates), once or repeatedly")
    p.add_argument("--watch", type=_seconds, metavar="SECONDS", help="repeat every SECONDS")
    p.add_argument("--count", type=_count, default=0, help="stop after COUNT rounds (0: never)")
    p.add_argument("--rate", action="store_true", help="rates instead of counters")
    p.add_argument(
        "--prometheus", action="store_true", help="Prometheus text format (as ipvs run serves)"
    )

    p = add("run", cmd_run, "run a director: apply CONFIG, health checks, reload on SIGHUP")
    p.add_argument("config", help="the configuration: a table document with checks (YAML, JSON)")
    p.add_argument("--check", action="store_true", help="check CONFIG and exit")

    add("flush", cmd_flush, "delete every service (ipvsadm -C)")
    p = add("zero", cmd_zero, "zero counters (ipvsadm -Z [-t|-u|-f ...])")
    p.add_argument("service", nargs="?", help="tcp:ADDR:PORT, udp:..., sctp:..., fwmark:N[:6]")
    service_options(p)

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


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(message: str) -> str:
    """The message on one line: control characters escaped, cut to MAX_MESSAGE."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], message)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _fail(message: str, stream: IO[str] | None) -> NoReturn:
    if stream is not None:  # None: started with standard error closed
        try:
            stream.write(f"ipvs: {_one_line(message)}\n")
            stream.flush()
        except (OSError, ValueError):
            pass
    raise SystemExit(EXIT_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    from ipvs.errors import IPVSError

    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except (CLIError, IPVSError) as exc:
        _fail(str(exc), sys.stderr)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        _fail("interrupted", sys.stderr)
    except OSError as exc:  # the system refused something the library does not type
        _fail(str(exc.strerror or exc) + (f": {exc.filename}" if exc.filename else ""), sys.stderr)
    except Exception as exc:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("IPVS_DEBUG"):
            raise
        _fail(
            f"internal error (a bug; IPVS_DEBUG=1 shows the traceback): "
            f"{type(exc).__name__}: {exc}",
            sys.stderr,
        )
