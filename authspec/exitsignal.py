"""Ending long-polls when the server is told to stop, before it waits for them.

uvicorn's graceful shutdown (SIGTERM, SIGINT) stops accepting connections and then waits for the
requests in flight — up to ``timeout_graceful_shutdown`` — before the app's lifespan ends. A
long-poll of the revocation feed would hold it that long. ``on_exit_signal`` chains a callback in
front of the handler uvicorn installed for those signals (uvicorn installs its handlers before the
app's lifespan starts, with ``signal.signal``), so held requests answer at once and the shutdown
proceeds; the returned function restores the previous handlers. Outside the main thread (an app
served by a test client) signals cannot be handled and nothing is installed.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def on_exit_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` on the running loop when SIGINT or SIGTERM arrives, then the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(callback)
        chained = previous.get(signum)
        if callable(chained):
            chained(signum, frame)
        elif chained == signal.SIG_DFL and signum == signal.SIGINT:
            raise KeyboardInterrupt

    for sig in SIGNALS:
        previous[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, old if old is not None else signal.SIG_DFL)

    return restore
