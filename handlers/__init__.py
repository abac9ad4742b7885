"""The real service's operations, one module per tag (auth, tokens, sessions).

Handlers are thin: they take what Connexion injects, make one call to an ``authspec`` service
and return the envelope. Operations without a handler here answer 501 ``not_implemented``.
"""
