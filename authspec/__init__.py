"""authspec: the shared core of a contract-first authentication and session API.

This package owns what the real service (``handlers``) and the stateful mock (``mock``) share:
loading the OpenAPI bundle, the application factory, settings, the error tree and the
envelope renderer, and the seams (clock, mail, keys, storage) the services use. It never
imports ``handlers`` or ``mock``; they import it (see ARCHITECTURE.md).
"""

import warnings

# connexion 3.3 imports starlette.testclient at module level (connexion/apps/abstract.py, for its
# unused-by-us ``test_client()``), and starlette 1.x warns there that the test client prefers
# httpx2. The servers never build a test client, so ``authspec serve`` / ``authspec mock`` would
# print a deprecation they cannot act on. Installing httpx2 would swap the HTTP client of every
# test client for a warning about an import; instead this one message is silenced, here, because
# this package is imported before connexion by every entry point (the CLI, ``uvicorn --factory
# authspec.mock.app:create_app``, the tests).
warnings.filterwarnings(
    "ignore",
    message=r"Using `httpx` with `starlette\.testclient` is deprecated",
    category=UserWarning,  # starlette.exceptions.StarletteDeprecationWarning, without importing starlette
)

__version__ = "0.1.0"
