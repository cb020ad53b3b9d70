"""Sharing clients: threads on one Client, tasks on one AsyncClient, never a hang."""

from __future__ import annotations

import asyncio
import threading

import pytest

import ipvs
from ipvs import Destination, Service, Table

N_THREADS = 8
ROUNDS = 40


def test_threads_sharing_one_client_all_get_their_answers() -> None:
    """Each call holds the client's lock for its whole exchange: no reply is stolen."""
    errors: list[BaseException] = []
    with ipvs.Client() as client:
        client._sock.sock.settimeout(20)  # a hang would become a TimeoutError, not a stuck test
        services = [Service.tcp(f"10.0.{t}.1", 80, scheduler="rr") for t in range(N_THREADS)]

        def work(index: int) -> None:
            svc = services[index]
            try:
                client.add_service(svc)
                for r in range(ROUNDS):
                    client.add_destination(
                        svc, Destination(address=f"10.9.{index}.{r + 1}", port=80)
                    )
                    assert client.info().version
                    assert len(client.destinations(svc)) == r + 1
                    snap = client.snapshot()
                    assert svc.key in snap
                client.apply(Table([(svc, [])]), scope=ipvs.Scope.keys([svc.key]))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(N_THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a thread hung"
        assert errors == []
        table = client.snapshot()
        assert set(table) == {s.key for s in services}
        assert table.destination_count() == 0


def test_tasks_sharing_one_async_client() -> None:
    async def main() -> None:
        async with ipvs.AsyncClient() as client:
            services = [Service.udp(f"10.1.{t}.1", 53, scheduler="wrr") for t in range(10)]

            async def work(svc: Service, index: int) -> None:
                await client.add_service(svc)
                async with client.batch() as batch:
                    for r in range(50):
                        batch.add_destination(
                            svc, Destination(address=f"10.8.{index}.{r + 1}", port=53)
                        )
                assert len(await client.destinations(svc)) == 50
                info = await client.info()
                assert info.version

            await asyncio.wait_for(
                asyncio.gather(*(work(s, i) for i, s in enumerate(services))), timeout=120
            )
            table = await client.snapshot()
            assert len(table) == 10 and table.destination_count() == 500
            result = await client.apply(Table(), current=table)
            assert len(result.plan) == 10 and len(await client.services()) == 0

    asyncio.run(main())


def test_async_client_does_not_block_the_event_loop() -> None:
    """While a large pipelined load runs, other tasks keep running."""

    async def main() -> None:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        async with ipvs.AsyncClient() as client:
            task = asyncio.create_task(ticker())
            svc = Service.tcp("10.2.0.1", 80)
            desired = Table(
                [
                    (
                        svc,
                        [
                            Destination(address=f"10.7.{i // 250}.{i % 250 + 1}", port=80)
                            for i in range(2000)
                        ],
                    )
                ]
            )
            await client.apply(desired, current=Table())
            for _ in range(20):
                await client.snapshot()
            stop.set()
            await task
        assert ticks > 20

    asyncio.run(main())


def test_closed_clients_refuse_use() -> None:
    client = ipvs.Client()
    client.close()
    with pytest.raises(ipvs.IPVSError, match="closed"):
        client.info()

    async def main() -> None:
        aclient = ipvs.AsyncClient()
        aclient.close()
        with pytest.raises(ipvs.IPVSError, match="closed"):
            await aclient.info()

    asyncio.run(main())
