"""The stateful mock: the contract served from in-memory worlds, one per ``X-Mock-Namespace``.

``mock.app`` builds it, running the real service's handlers (resolved by name) over the shared
domain services; ``mock.overrides`` wraps the few the mock answers differently;
``mock.world`` is the in-memory store; ``mock.control`` is the ``/__mock`` control API; the
middlewares, ``Prefer`` and the answers taken from the contract itself are beside them.
"""
