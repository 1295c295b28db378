"""The device application: asyncio tasks (LED, button, RSSI history) after boot.

A host session interrupts it with Ctrl-C (the app returns to the REPL quietly) and ends
by calling ``resume()``, which re-enters the loop with the same state: nothing the app
keeps in RAM (RSSI history, last verdict) is lost to a host session.
"""

import asyncio

from camdiag import store

STATE = {"running": False, "profile": None, "started": False}


async def _heartbeat():
    while True:
        await asyncio.sleep_ms(1000)


def _setup():
    if STATE["started"]:
        return
    STATE["profile"] = store.load_profile()
    STATE["started"] = True


async def _main():
    _setup()
    tasks = [asyncio.create_task(_heartbeat())]
    try:
        while True:
            await asyncio.sleep_ms(1000)
    finally:
        for t in tasks:
            t.cancel()


def main():
    STATE["running"] = True
    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        pass
    finally:
        STATE["running"] = False
        asyncio.new_event_loop()


def resume():
    main()
