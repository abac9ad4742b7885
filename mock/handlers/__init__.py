"""The mock's operations, one module per tag (auth, tokens, sessions), named as in ``handlers/``.

They are the real service's very adapters (``authspec.operations``), run against the request's
world: ``mock.middleware`` puts that world's domain services (``authspec.services`` over the
in-memory store of ``mock.world``) where the adapters look for them, ``request.state.services``.
An operation without a function here is answered from the contract (``mock.app``'s fallback),
not with 501.
"""

from authspec.operations import Reply, reply

__all__ = ["Reply", "reply"]
