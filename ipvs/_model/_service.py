"""The identity of a virtual service (:class:`ServiceKey`) and the service itself."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import attrs

from ipvs._model._checks import (
    KEEP,
    MAX_PERSISTENCE,
    U16,
    U32,
    Keep,
    bracket,
    building_twin,
    check_name,
    ip_int,
    is_int,
    slot_setter,
    to_address,
    to_family,
    to_protocol,
)
from ipvs._model._enums import (
    Family,
    ForwardMethod,
    Protocol,
    Scheduler,
    ServiceFlags,
    TunnelFlags,
    TunnelType,
)
from ipvs._model._objects import Destination, Stats
from ipvs.errors import ValidationError

__all__ = ["Service", "ServiceKey", "flag_names", "key_of", "unchecked_service"]

_NO_FLAGS = ServiceFlags(0)
_INET, _INET6 = Family.INET, Family.INET6
_TCP, _UDP = Protocol.TCP, Protocol.UDP


def _key_field(name: str, value: object, lo: int, hi: int) -> int:
    if not is_int(value):
        raise ValidationError(f"ServiceKey.{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:  # type: ignore[operator]
        raise ValidationError(f"ServiceKey.{name} must be in {lo}..{hi}, got {value!r}")
    return value  # type: ignore[return-value]


@attrs.frozen(kw_only=True, slots=True, init=False, eq=False, weakref_slot=False)
class ServiceKey:
    """The identity of a virtual service, as the kernel looks it up.

    A key is either a firewall-mark key (``fwmark`` set; ``protocol``,
    ``address`` and ``port`` None) or an address key (``protocol``, ``address``
    and ``port`` set; ``fwmark`` None).

    Args:
        family: address family. Derived from ``address`` when omitted; for a
            fwmark key it defaults to :attr:`Family.INET`.
        protocol: transport protocol (a :class:`Protocol`, its number, or
            ``"tcp"``/``"udp"``/``"sctp"``).
        address: virtual IP address (an address object or a string).
        port: virtual port, 0..65535.
        fwmark: firewall mark, 1..2**32-1.

    Raises:
        ValidationError: a value is out of range, or the fields do not form
            one of the two kinds of key, or ``family`` disagrees with
            ``address``.
    """

    family: Family
    protocol: Protocol | None = None
    address: IPv4Address | IPv6Address | None = None
    port: int | None = None
    fwmark: int | None = None
    # (fwmark or 0, family, protocol or 0, address as int or 0, port or 0):
    # unique per key, so it serves as identity, hash and sort key at once
    _ident: tuple[int, int, int, int, int] = attrs.field(init=False, repr=False)
    _hash: int = attrs.field(init=False, repr=False)

    def __init__(
        self,
        *,
        family: Family | int | str | None = None,
        protocol: Protocol | int | str | None = None,
        address: IPv4Address | IPv6Address | str | None = None,
        port: int | None = None,
        fwmark: int | None = None,
    ) -> None:
        fam: Family
        proto: Protocol | None
        addr: IPv4Address | IPv6Address | None
        if fwmark is not None:
            if protocol is not None or address is not None or port is not None:
                raise ValidationError("ServiceKey: a fwmark key takes no protocol, address or port")
            if fwmark.__class__ is not int or not 1 <= fwmark <= U32:
                fwmark = _key_field("fwmark", fwmark, 1, U32)
            fam = _INET if family is None else to_family(family)
            proto, addr = None, None
            ident = (fwmark, fam, 0, 0, 0)
        else:
            if protocol is None or address is None or port is None:
                raise ValidationError(
                    "ServiceKey: give either fwmark, or all of protocol, address and port"
                )
            addr = to_address(address)
            fam = _INET if addr.__class__ is IPv4Address or addr.version == 4 else _INET6
            if family is not None and family is not fam and to_family(family) != fam:
                raise ValidationError(f"ServiceKey.family {family!r} disagrees with address {addr}")
            proto = protocol if protocol.__class__ is Protocol else to_protocol(protocol)
            if port.__class__ is not int or not 0 <= port <= U16:
                port = _key_field("port", port, 0, U16)
            ident = (0, fam, proto, ip_int(addr), port)
        _k_family(self, fam)
        _k_protocol(self, proto)
        _k_address(self, addr)
        _k_port(self, port)
        _k_fwmark(self, fwmark)
        _k_ident(self, ident)
        _k_hash(self, hash(ident))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not ServiceKey:
            return NotImplemented
        return self._ident == other._ident

    def __ne__(self, other: object) -> bool:
        if other.__class__ is not ServiceKey:
            return NotImplemented
        return self._ident != other._ident

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def tcp(cls, address: IPv4Address | IPv6Address | str, port: int) -> ServiceKey:
        """Build the key of a TCP service.

        Args:
            address: virtual IP address.
            port: virtual port.

        Returns:
            The key.
        """
        return cls(protocol=Protocol.TCP, address=address, port=port)

    @classmethod
    def udp(cls, address: IPv4Address | IPv6Address | str, port: int) -> ServiceKey:
        """Build the key of a UDP service.

        Args:
            address: virtual IP address.
            port: virtual port.

        Returns:
            The key.
        """
        return cls(protocol=Protocol.UDP, address=address, port=port)

    @classmethod
    def sctp(cls, address: IPv4Address | IPv6Address | str, port: int) -> ServiceKey:
        """Build the key of an SCTP service.

        Args:
            address: virtual IP address.
            port: virtual port.

        Returns:
            The key.
        """
        return cls(protocol=Protocol.SCTP, address=address, port=port)

    @classmethod
    def mark(cls, fwmark: int, family: Family | int | str = Family.INET) -> ServiceKey:
        """Build the key of a firewall-mark service.

        Args:
            fwmark: the mark, 1..2**32-1.
            family: :attr:`Family.INET` (default) or :attr:`Family.INET6`.

        Returns:
            The key.
        """
        return cls(fwmark=fwmark, family=family)

    @property
    def is_fwmark(self) -> bool:
        """True for a firewall-mark key."""
        return self.fwmark is not None

    def describe(self) -> str:
        """Describe the key the way ipvsadm prints it.

        Returns:
            Text such as ``"TCP 10.0.0.1:80"``, ``"UDP [2001:db8::1]:53"``,
            ``"FWM 5"`` or ``"FWM 5 IPv6"``.
        """
        if self.fwmark is not None:
            return f"FWM {self.fwmark}" + (" IPv6" if self.family == Family.INET6 else "")
        assert self.protocol is not None and self.address is not None
        assert self.port is not None
        return f"{self.protocol.name} {bracket(self.address, self.port)}"

    def sort_key(self) -> tuple[int, int, int, int, int]:
        """Return a key for sorting services like ``ipvsadm -L``.

        Returns:
            A tuple ordering by fwmark, family, protocol, address and port.
        """
        return self._ident


def _convert_netmask(family: Family, value: object) -> IPv4Address | int:
    if family == Family.INET:
        if value is None:
            return IPv4Address(U32)
        if isinstance(value, IPv4Address):
            return value
        if isinstance(value, str):
            text = value.strip().lstrip("/")
            if text.isascii() and text.isdigit() and len(text) <= 3:
                value = int(text)
            else:
                try:
                    return IPv4Address(text)
                except ValueError:
                    raise ValidationError(
                        f"Service.netmask: invalid IPv4 mask {value!r:.40}"
                    ) from None
        if is_int(value) and 0 <= value <= 32:  # type: ignore[operator]
            return IPv4Address((U32 << (32 - value)) & U32)  # type: ignore[operator]
        raise ValidationError(
            "Service.netmask: an IPv4 service takes a dotted mask or a prefix 0..32, "
            f"got {value!r:.40}"
        )
    if value is None:
        return 128
    if isinstance(value, str):
        text = value.strip().lstrip("/")
        if text.isascii() and text.isdigit() and len(text) <= 3:
            value = int(text)
    if is_int(value) and 1 <= value <= 128:  # type: ignore[operator]
        return int(value)  # type: ignore[call-overload, no-any-return]
    raise ValidationError(
        f"Service.netmask: an IPv6 service takes a prefix length 1..128, got {value!r:.40}"
    )


_HOST_MASK = IPv4Address(U32)
_KNOWN_FLAGS = 0x3F  # PERSISTENT, HASHED, ONEPACKET, SCHED1..3
#: Scheduler names that need no further check (the kernel's own, lower case).
_SCHEDULERS = frozenset(s.value for s in Scheduler)
_PE_NAMES = frozenset({"sip"})


def _check_kernel_name(place: str, value: object, max_len: int, known: frozenset[str]) -> str:
    """Check a scheduler or persistence engine name; refuse a known name in another case."""
    check_name(place, value, max_len)
    assert isinstance(value, str)
    lower = value.lower()
    if lower != value and lower in known:
        raise ValidationError(
            f"{place} {value!r}: the kernel's names are case-sensitive; use {lower!r}"
        )
    return value


@attrs.frozen(kw_only=True, slots=True, init=False, weakref_slot=False)
class Service:
    """A virtual service: its identity plus its settings.

    Args:
        key: the service identity.
        scheduler: scheduler name (a :class:`Scheduler` or any kernel
            scheduler name, 1..15 printable ASCII characters; the kernel's
            names are case-sensitive, so ``"RR"`` is refused). ipvsadm's
            default is ``"wlc"``.
        flags: :class:`ServiceFlags`; ``HASHED`` may not be given, nor bits
            the kernel does not define. ``ONEPACKET`` is for UDP and
            firewall-mark services only (as in ipvsadm); ``PERSISTENT``
            needs a ``timeout`` of at least 1.
        timeout: persistence timeout in seconds, 0..2,678,400 (31 days,
            ipvsadm's bound; the kernel keeps ``timeout * HZ`` in 32 bits).
        netmask: persistence netmask. For IPv4: an :class:`~ipaddress.IPv4Address`
            or dotted string, or a prefix length 0..32 (converted to a mask).
            For IPv6: a prefix length 1..128. Defaults to a host mask.
        pe_name: persistence engine name (1..16 characters), or None.
        stats: live statistics (not compared).

    Raises:
        ValidationError: a value is invalid.
    """

    key: ServiceKey
    scheduler: str = "wlc"
    flags: ServiceFlags = _NO_FLAGS
    timeout: int = 0
    netmask: IPv4Address | int
    pe_name: str | None = None
    stats: Stats | None = attrs.field(default=None, eq=False)

    def __init__(
        self,
        *,
        key: ServiceKey,
        scheduler: Scheduler | str = "wlc",
        flags: ServiceFlags | int = _NO_FLAGS,
        timeout: int = 0,
        netmask: IPv4Address | int | str | None = None,
        pe_name: str | None = None,
        stats: Stats | None = None,
    ) -> None:
        if key.__class__ is not ServiceKey:
            raise ValidationError(f"Service.key must be a ServiceKey, got {key!r}")
        if scheduler.__class__ is not str or scheduler not in _SCHEDULERS:
            if isinstance(scheduler, Scheduler):
                scheduler = scheduler.value
            else:
                scheduler = _check_kernel_name("Service.scheduler", scheduler, 15, _SCHEDULERS)
        if flags is not _NO_FLAGS:
            flags = _check_flags(key, flags, timeout)
        if timeout.__class__ is not int or not 0 <= timeout <= MAX_PERSISTENCE:
            if not is_int(timeout):
                raise ValidationError(f"Service.timeout must be an integer, got {timeout!r}")
            raise ValidationError(
                f"Service.timeout must be in 0..{MAX_PERSISTENCE} seconds (31 days, "
                f"ipvsadm's bound), got {timeout!r}"
            )
        if netmask is None:
            mask: IPv4Address | int = _HOST_MASK if key.family is _INET else 128
        else:
            mask = _convert_netmask(key.family, netmask)
        if pe_name is not None:
            pe_name = _check_kernel_name("Service.pe_name", pe_name, 16, _PE_NAMES)
        if stats is not None and not isinstance(stats, Stats):
            raise ValidationError(f"Service.stats has the wrong type: {stats!r}")
        _s_key(self, key)
        _s_scheduler(self, scheduler)
        _s_flags(self, flags)
        _s_timeout(self, timeout)
        _s_netmask(self, mask)
        _s_pe_name(self, pe_name)
        _s_stats(self, stats)

    @classmethod
    def tcp(
        cls,
        address: IPv4Address | IPv6Address | str,
        port: int,
        *,
        scheduler: Scheduler | str = "wlc",
        flags: ServiceFlags | int = _NO_FLAGS,
        timeout: int = 0,
        netmask: IPv4Address | int | str | None = None,
        pe_name: str | None = None,
        stats: Stats | None = None,
    ) -> Service:
        """Build a TCP service.

        Args:
            address: virtual IP address.
            port: virtual port.
            scheduler: as for :class:`Service`.
            flags: as for :class:`Service`.
            timeout: as for :class:`Service`.
            netmask: as for :class:`Service`.
            pe_name: as for :class:`Service`.
            stats: live statistics (not compared), as for :class:`Service`.

        Returns:
            The service.

        Raises:
            ValidationError: a value is invalid.
        """
        return cls(
            key=ServiceKey.tcp(address, port),
            scheduler=scheduler,
            flags=flags,
            timeout=timeout,
            netmask=netmask,
            pe_name=pe_name,
            stats=stats,
        )

    @classmethod
    def udp(
        cls,
        address: IPv4Address | IPv6Address | str,
        port: int,
        *,
        scheduler: Scheduler | str = "wlc",
        flags: ServiceFlags | int = _NO_FLAGS,
        timeout: int = 0,
        netmask: IPv4Address | int | str | None = None,
        pe_name: str | None = None,
        stats: Stats | None = None,
    ) -> Service:
        """Build a UDP service.

        Args:
            address: virtual IP address.
            port: virtual port.
            scheduler: as for :class:`Service`.
            flags: as for :class:`Service`.
            timeout: as for :class:`Service`.
            netmask: as for :class:`Service`.
            pe_name: as for :class:`Service`.
            stats: live statistics (not compared), as for :class:`Service`.

        Returns:
            The service.

        Raises:
            ValidationError: a value is invalid.
        """
        return cls(
            key=ServiceKey.udp(address, port),
            scheduler=scheduler,
            flags=flags,
            timeout=timeout,
            netmask=netmask,
            pe_name=pe_name,
            stats=stats,
        )

    @classmethod
    def sctp(
        cls,
        address: IPv4Address | IPv6Address | str,
        port: int,
        *,
        scheduler: Scheduler | str = "wlc",
        flags: ServiceFlags | int = _NO_FLAGS,
        timeout: int = 0,
        netmask: IPv4Address | int | str | None = None,
        pe_name: str | None = None,
        stats: Stats | None = None,
    ) -> Service:
        """Build an SCTP service.

        Args:
            address: virtual IP address.
            port: virtual port.
            scheduler: as for :class:`Service`.
            flags: as for :class:`Service`.
            timeout: as for :class:`Service`.
            netmask: as for :class:`Service`.
            pe_name: as for :class:`Service`.
            stats: live statistics (not compared), as for :class:`Service`.

        Returns:
            The service.

        Raises:
            ValidationError: a value is invalid.
        """
        return cls(
            key=ServiceKey.sctp(address, port),
            scheduler=scheduler,
            flags=flags,
            timeout=timeout,
            netmask=netmask,
            pe_name=pe_name,
            stats=stats,
        )

    @classmethod
    def mark(
        cls,
        fwmark: int,
        family: Family | int | str = Family.INET,
        *,
        scheduler: Scheduler | str = "wlc",
        flags: ServiceFlags | int = _NO_FLAGS,
        timeout: int = 0,
        netmask: IPv4Address | int | str | None = None,
        pe_name: str | None = None,
        stats: Stats | None = None,
    ) -> Service:
        """Build a firewall-mark service.

        Args:
            fwmark: the mark, 1..2**32-1.
            family: :attr:`Family.INET` (default) or :attr:`Family.INET6`.
            scheduler: as for :class:`Service`.
            flags: as for :class:`Service`.
            timeout: as for :class:`Service`.
            netmask: as for :class:`Service`.
            pe_name: as for :class:`Service`.
            stats: live statistics (not compared), as for :class:`Service`.

        Returns:
            The service.

        Raises:
            ValidationError: a value is invalid.
        """
        return cls(
            key=ServiceKey.mark(fwmark, family),
            scheduler=scheduler,
            flags=flags,
            timeout=timeout,
            netmask=netmask,
            pe_name=pe_name,
            stats=stats,
        )

    def replace(
        self,
        *,
        key: ServiceKey | Keep = KEEP,
        scheduler: Scheduler | str | Keep = KEEP,
        flags: ServiceFlags | int | Keep = KEEP,
        timeout: int | Keep = KEEP,
        netmask: IPv4Address | int | str | Keep = KEEP,
        pe_name: str | Keep | None = KEEP,
    ) -> Service:
        """Return a copy with some settings changed (``attrs.evolve`` without importing attrs).

        The copy is checked like a new service; live statistics are not
        carried over (they describe the kernel's object, not the new one).

        Args:
            key: a new identity.
            scheduler: as for :class:`Service`.
            flags: as for :class:`Service`.
            timeout: as for :class:`Service`.
            netmask: as for :class:`Service`.
            pe_name: as for :class:`Service` (None removes it).

        Returns:
            The new service.

        Raises:
            ValidationError: a new value is invalid, or does not fit with the
                values kept (a netmask of the other family, say).

        Example:
            >>> web = Service.tcp("10.0.0.1", 80, scheduler="rr")
            >>> web.replace(scheduler="wrr").scheduler
            'wrr'
        """
        new_key = self.key if isinstance(key, Keep) else key
        if isinstance(netmask, Keep):
            mask: IPv4Address | int | str | None = (
                self.netmask if new_key.family is self.key.family else None
            )
        else:
            mask = netmask
        return Service(
            key=new_key,
            scheduler=self.scheduler if isinstance(scheduler, Keep) else scheduler,
            flags=self.flags if isinstance(flags, Keep) else flags,
            timeout=self.timeout if isinstance(timeout, Keep) else timeout,
            netmask=mask,
            pe_name=self.pe_name if isinstance(pe_name, Keep) else pe_name,
        )

    def destination(
        self,
        address: IPv4Address | IPv6Address | str,
        port: int | None = None,
        *,
        forward: ForwardMethod | int | str = ForwardMethod.ROUTE,
        weight: int = 1,
        upper_threshold: int = 0,
        lower_threshold: int = 0,
        tunnel_type: TunnelType | int | str = TunnelType.IPIP,
        tunnel_port: int = 0,
        tunnel_flags: TunnelFlags | int | str = TunnelFlags.NOCSUM,
    ) -> Destination:
        """Build a destination for this service, its port defaulting to the service's.

        ipvsadm does the same: ``-r 10.1.0.1`` without a port takes the
        virtual port (0 for a firewall-mark service, where the packet's own
        port is kept).

        Args:
            address: the real server's address.
            port: its port; default: the service's port.
            forward: as for :class:`Destination`.
            weight: as for :class:`Destination`.
            upper_threshold: as for :class:`Destination`.
            lower_threshold: as for :class:`Destination`.
            tunnel_type: as for :class:`Destination`.
            tunnel_port: as for :class:`Destination`.
            tunnel_flags: as for :class:`Destination`.

        Returns:
            The destination (not added anywhere: put it in a :class:`Table`).

        Raises:
            ValidationError: a value is invalid.

        Example:
            >>> web = Service.tcp("10.0.0.1", 8080)
            >>> web.destination("10.1.0.1", forward="masq").describe()
            '10.1.0.1:8080'
        """
        if port is None:
            port = self.key.port or 0
        return Destination(
            address=address,
            port=port,
            forward=forward,
            weight=weight,
            upper_threshold=upper_threshold,
            lower_threshold=lower_threshold,
            tunnel_type=tunnel_type,
            tunnel_port=tunnel_port,
            tunnel_flags=tunnel_flags,
        )

    @property
    def family(self) -> Family:
        """The service's address family."""
        return self.key.family

    @property
    def protocol(self) -> Protocol | None:
        """The service's protocol (None for a fwmark service)."""
        return self.key.protocol

    @property
    def address(self) -> IPv4Address | IPv6Address | None:
        """The virtual address (None for a fwmark service)."""
        return self.key.address

    @property
    def port(self) -> int | None:
        """The virtual port (None for a fwmark service)."""
        return self.key.port

    @property
    def fwmark(self) -> int | None:
        """The firewall mark (None for an address service)."""
        return self.key.fwmark

    @property
    def flag_names(self) -> list[str]:
        """The flags' names for this service's scheduler (see :func:`flag_names`)."""
        return flag_names(self.flags, self.scheduler)

    @property
    def prefix_length(self) -> int:
        """The persistence netmask as a prefix length (IPv4 masks need not be contiguous).

        Returns the count of leading one bits for IPv4.
        """
        if isinstance(self.netmask, IPv4Address):
            value = int(self.netmask)
            count = 0
            while count < 32 and value & (1 << (31 - count)):
                count += 1
            return count
        return self.netmask

    def describe(self) -> str:
        """Describe the service by its key, like ipvsadm.

        Returns:
            Text such as ``"TCP 10.0.0.1:80"``.
        """
        return self.key.describe()

    def sort_key(self) -> tuple[int, int, int, int, int]:
        """Return the key's sort key (see :meth:`ServiceKey.sort_key`).

        Returns:
            A tuple suitable for sorting.
        """
        return self.key.sort_key()


def _check_flags(key: ServiceKey, flags: object, timeout: object) -> ServiceFlags:
    if not is_int(flags) or not 0 <= flags <= U32:  # type: ignore[operator]
        raise ValidationError(f"Service.flags must be an integer in 0..{U32}, got {flags!r}")
    value = int(flags)  # type: ignore[call-overload]
    if value & ServiceFlags.HASHED:
        raise ValidationError("Service.flags: HASHED is read-only")
    if value & ~_KNOWN_FLAGS:
        raise ValidationError(
            f"Service.flags: bits {value & ~_KNOWN_FLAGS:#x} are not service flags the kernel knows"
        )
    if value & ServiceFlags.ONEPACKET and key.fwmark is None and key.protocol is not _UDP:
        assert key.protocol is not None
        raise ValidationError(
            f"Service.flags: ONEPACKET is for UDP and firewall-mark services only (as in "
            f"ipvsadm; the kernel applies it to UDP only), not {key.protocol.name}"
        )
    if value & ServiceFlags.PERSISTENT and timeout == 0:
        raise ValidationError("Service.flags: PERSISTENT needs a timeout of at least 1 second")
    return flags if flags.__class__ is ServiceFlags else ServiceFlags(value)


_k_family, _k_protocol, _k_address, _k_port, _k_fwmark, _k_ident, _k_hash = (
    slot_setter(ServiceKey, a.name) for a in attrs.fields(ServiceKey)
)
_s_key, _s_scheduler, _s_flags, _s_timeout, _s_netmask, _s_pe_name, _s_stats = (
    slot_setter(Service, a.name) for a in attrs.fields(Service)
)
_BuildingService = building_twin(Service)
_new = object.__new__


def unchecked_service(
    key: ServiceKey,
    scheduler: str,
    flags: ServiceFlags,
    timeout: int,
    netmask: IPv4Address | int,
    pe_name: str | None,
    stats: Stats | None,
) -> Service:
    """Build a :class:`Service` without validation (for state read from the kernel).

    The caller guarantees the types and that the netmask suits the key's
    family; flags, timeout and names may be anything the kernel holds.
    """
    s = _new(_BuildingService)
    s.key = key
    s.scheduler = scheduler
    s.flags = flags
    s.timeout = timeout
    s.netmask = netmask
    s.pe_name = pe_name
    s.stats = stats
    s.__class__ = Service
    return s  # type: ignore[no-any-return]


def key_of(service: Service | ServiceKey) -> ServiceKey:
    """Return the key of a service, or the key itself.

    Args:
        service: a :class:`Service` or a :class:`ServiceKey`.

    Returns:
        The key.

    Raises:
        ValidationError: ``service`` is neither.
    """
    if isinstance(service, Service):
        return service.key
    if isinstance(service, ServiceKey):
        return service
    raise ValidationError(f"expected a Service or ServiceKey, got {service!r}")


_SCHED_BITS = ((1, ServiceFlags.SCHED1), (2, ServiceFlags.SCHED2), (3, ServiceFlags.SCHED3))


def flag_names(flags: ServiceFlags | int, scheduler: str) -> list[str]:
    """Name service flags the way ipvsadm does, for one scheduler.

    The scheduler flags are ``sh-fallback`` and ``sh-port`` for ``sh``,
    ``mh-fallback`` and ``mh-port`` for ``mh``, and ``flag-1`` .. ``flag-3``
    otherwise; the others are ``persistent`` and ``onepacket``. Plans, documents,
    HTML and listings all use these names.

    Args:
        flags: the flags.
        scheduler: the service's scheduler.

    Returns:
        The names, in bit order (empty when no flag is set).

    Example:
        >>> from ipvs import ServiceFlags
        >>> from ipvs._model import flag_names
        >>> flag_names(ServiceFlags.SCHED1 | ServiceFlags.SCHED2, "sh")
        ['sh-fallback', 'sh-port']
    """
    names = []
    if flags & ServiceFlags.PERSISTENT:
        names.append("persistent")
    if flags & ServiceFlags.ONEPACKET:
        names.append("onepacket")
    hashing = scheduler in ("sh", "mh")
    for number, bit in _SCHED_BITS:
        if flags & bit:
            if hashing and number == 1:
                names.append(f"{scheduler}-fallback")
            elif hashing and number == 2:
                names.append(f"{scheduler}-port")
            else:
                names.append(f"flag-{number}")
    return names
