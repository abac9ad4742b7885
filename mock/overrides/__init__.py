"""Where the mock answers differently from the real service: wrappers around its handlers.

The mock serves the real service's handlers (``authspec.handlers``, resolved by name: the mock
never imports them) over the request's in-memory world. A function here named like an operation's
handler, in the module of its tag (``overrides/tokens.py``: ``refresh_token``), is called once when
the app is built, with the handler the operation would otherwise have — the shared one, or for an
``x-planned`` operation the contract responder — and returns the handler the mock serves. Only
behaviour that really differs belongs here; a module that merely re-exports does not.
"""
