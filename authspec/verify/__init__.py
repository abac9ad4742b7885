"""``authspec.verify``: authspec's access tokens verified inside a team's own Starlette/FastAPI services.

Local verification at JWT speed against authspec's JWKS, and revocation (logout, revoked sessions,
refresh-token reuse) within a documented bound through authspec's revocation feed, with
introspection as the fallback and fail-closed refusals when neither answers::

    from authspec.verify import Verifier, VerifyMiddleware

    verifier = Verifier("https://auth.example.com", issuer="authspec", audience="authspec-api",
                        client_id="orders-api", client_secret=os.environ["ORDERS_API_CLIENT_SECRET"])
    app.add_middleware(VerifyMiddleware, verifier=verifier)  # claims in request.state.auth

It needs only PyJWT, cryptography and httpx (``pip install 'authspec[verify]'``) and never imports
authspec's server code. ``tokens`` holds the local check (``check_token``, the plain function),
``verifier`` the ``Verifier`` (JWKS cache, deny-list, feed, introspection), ``asgi`` the middleware.
"""

from .asgi import STATE_KEY, VerifyMiddleware, auth_dependency, bearer_token
from .tokens import Claims, KeySet, TokenRejected, check_token
from .verifier import ConfigurationError, Unavailable, Verifier

__all__ = [
    "STATE_KEY",
    "Claims",
    "ConfigurationError",
    "KeySet",
    "TokenRejected",
    "Unavailable",
    "Verifier",
    "VerifyMiddleware",
    "auth_dependency",
    "bearer_token",
    "check_token",
]
