"""authspec: the shared core of a contract-first authentication and session API.

This package owns what the real service (``handlers``) and the stateful mock (``mock``) share:
loading the OpenAPI bundle, the application factory, settings, the error tree and the
envelope renderer, and the seams (clock, mail, keys, storage) the services use. It never
imports ``handlers`` or ``mock``; they import it (see ARCHITECTURE.md).
"""

__version__ = "0.1.0"
