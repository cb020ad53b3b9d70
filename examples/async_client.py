"""An asyncio control plane with ``ipvs.AsyncClient``, and one client shared by threads.

``ipvs.AsyncClient`` has every method of ``ipvs.Client`` as a coroutine, with
the same arguments, results and errors; batches and transactions are used
with ``async with``. This script:

1. applies a desired table, all or nothing (``await client.apply``);
2. adds a second service with a pipelined batch (``async with client.batch()``);
3. changes a weight and removes a destination in a transaction
   (``async with client.transaction()``);
4. reads the table and the version from two tasks sharing the client;
5. from four threads sharing one blocking ``ipvs.Client``, adds destinations;

checks what it reads back after each step, and exits with status 1 on any
mismatch. It touches only services in 192.0.2.0/24 (TEST-NET-1) and removes
them at the end. It needs CAP_NET_ADMIN; run it in the sandbox kernel::

    python -m ipvs.testing.sandbox -- .venv/bin/python examples/async_client.py
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor

import ipvs

OURS = ipvs.Scope.networks("192.0.2.0/24")  # the part of the table this program owns


def check(condition: bool, message: str) -> None:
    """Stop with status 1 unless ``condition`` holds."""
    if not condition:
        sys.exit(f"FAILED: {message}")
    print(f"  ok: {message}")


async def control_plane() -> None:
    """Steps 1 to 4: the asyncio client."""
    web = ipvs.Service.tcp("192.0.2.80", 80, scheduler="wrr")
    web1 = ipvs.Destination(address="10.1.1.2", port=8080, forward="masq", weight=1)
    web2 = ipvs.Destination(address="10.1.2.2", port=8080, forward="masq", weight=1)
    dns = ipvs.Service.udp("192.0.2.53", 53, scheduler="rr")
    dns_backends = [ipvs.Destination(address=f"10.1.3.{i}", port=53) for i in (2, 3)]

    async with ipvs.AsyncClient() as client:
        # 1. Desired state in, plan out, applied all or nothing.
        result = await client.apply(ipvs.Table([(web, [web1, web2])]), scope=OURS)
        print(result.plan)
        check(len(result.plan) == 3, "apply: one service and two destinations added")

        # 2. A batch: writes queued locally, sent pipelined when the block ends.
        async with client.batch() as batch:
            batch.add_service(dns)
            for d in dns_backends:
                batch.add_destination(dns, d)
        check(batch.failures == [], f"batch: {len(batch)} writes sent, none failed")

        # 3. A transaction: checked as queued, committed with rollback on exit.
        async with client.transaction() as tx:
            tx.update_destination(web, web1.replace(weight=3))
            tx.delete_destination(web, web2)
        assert tx.result is not None
        print(tx.result.plan)
        check(tx.result.plan.counts() == (0, 1, 1), "transaction: one change, one delete")

        # 4. Tasks may share the client: each call holds its lock, so they take turns.
        table, info = await asyncio.gather(client.snapshot(), client.info())
        print(f"IPVS {info.version}: {len(table)} services")
        expected = ipvs.Table([(web, [web1.replace(weight=3)]), (dns, dns_backends)])
        check(table.filter(OURS) == expected, "the kernel holds what was written")

        await client.apply(ipvs.Table(), current=table, scope=OURS)  # clean up


def shared_between_threads() -> None:
    """Step 5: one blocking client, four threads; calls run one after the other."""
    svc = ipvs.Service.tcp("192.0.2.81", 80, scheduler="rr")
    dests = [ipvs.Destination(address=f"10.2.0.{i}", port=80) for i in range(1, 9)]
    with ipvs.Client() as client:
        client.add_service(svc)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda d: client.add_destination(svc, d), dests))
        got = client.destinations(svc)
        check(set(got) == set(dests), f"threads: {len(dests)} destinations added")
        client.delete_service(svc)


if __name__ == "__main__":
    asyncio.run(control_plane())
    shared_between_threads()
