"""Every private name of Connexion that authspec touches, why, and the version it was checked on.

Connexion 3.3 offers public extension points for most of what authspec needs (``validator_map``,
``security_map``, ``resolver``, ``middlewares``, ``add_middleware``, ``add_error_handler``) and
authspec uses those first. What remains goes below the public surface; each entry of ``BOND``
names the private attribute, the authspec module that touches it, and why no public point serves.
``tests/core/test_connexion_bond.py`` fails when the installed Connexion is not ``PINNED`` (so an
upgrade starts by re-reading this list), when a listed name is gone from Connexion, and when
authspec touches a private Connexion name this list does not hold.

Besides these names, ``authspec.fastpath`` subclasses Connexion's request and response validation
operations (re-implementing their ``__call__`` to keep per-operation plans) and ``AsyncApp``
(re-implementing ``add_middleware`` so positions name the replaced layers); those follow public
class names but private behaviour, and are covered by the same pin and by the parity tests (stock
and fast apps answer alike).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The Connexion release this bond was written against (pyproject pins the minor, this the patch).
PINNED = "3.3.0"


@dataclass(frozen=True)
class Touchpoint:
    """One private name: where Connexion defines it, where authspec touches it, and why."""

    name: str
    defined_in: str  # the Connexion module (and class) that defines it
    used_in: tuple[str, ...]  # authspec modules, relative to the repository
    why: str


BOND: tuple[Touchpoint, ...] = (
    Touchpoint(
        "_resolve_func",
        "connexion.security:AbstractSecurityHandler",
        ("authspec/app.py",),
        "the bearer verifier is per app (the service's key ring, the mock's worlds); the public "
        "x-bearerInfoFunc names a module-level function, which cannot carry that state",
    ),
    Touchpoint(
        "_get_verify_func",
        "connexion.security:BasicSecurityHandler",
        ("authspec/app.py",),
        "a resource server's missing, non-Basic or malformed Authorization must be refused as "
        "invalid_client with a Basic challenge; Connexion's wrapper answers those before any "
        "verifier runs (a Bearer-style 401)",
    ),
    Touchpoint(
        "_accepts_kwarg",
        "connexion.security:AbstractSecurityHandler",
        ("authspec/app.py",),
        "Connexion inspects the verifier's signature on every request; the fast path caches it",
    ),
    Touchpoint(
        "_operation",
        "connexion.context / connexion.operations:AbstractOperation",
        ("authspec/fastpath.py", "authspec/resolver.py"),
        "the resolver reads the raw operation dict (tags, x-planned) and the once-decorated handler "
        "reads the current operation: no public accessor exists for either",
    ),
    Touchpoint(
        "_uri_parser_class",
        "connexion.operations:AbstractOperation",
        ("authspec/fastpath.py",),
        "the parameter validator is built once per operation with the operation's URI parser",
    ),
    Touchpoint(
        "_validator_map",
        "connexion.middleware.request_validation:RequestValidationOperation",
        ("authspec/fastpath.py",),
        "the per-operation plans build validators from the app's validator_map",
    ),
    Touchpoint(
        "_fn",
        "connexion.apps.asynchronous:AsyncOperation",
        ("authspec/fastpath.py",),
        "the handler is decorated once instead of on every call",
    ),
    Touchpoint(
        "_middleware_app",
        "connexion.apps.asynchronous:AsyncApp",
        ("authspec/fastpath.py",),
        "its api_cls is the only way to make AsyncApp build FastAsyncApi operations",
    ),
    Touchpoint(
        "_parse",
        "connexion.validators.abstract:AbstractRequestBodyValidator / AbstractResponseBodyValidator",
        ("authspec/validation.py", "authspec/fastpath.py", "authspec/formbody.py"),
        "hostile bodies (deep nesting, huge integers, lone surrogates, unknown charsets) must be "
        "400/415 envelopes; the validator_map replaces the class, but parsing is this method. The "
        "fast path keeps the decoded request body for the handler and validates an answer from the "
        "value it was encoded from (authspec.jsonbody): decoding is this method too; an urlencoded "
        "form parsed by the validator is kept for the handler the same way (authspec.formbody)",
    ),
    Touchpoint(
        "_validate",
        "connexion.validators.json:JSONRequestBodyValidator",
        ("authspec/validation.py", "authspec/fastpath.py"),
        "one readable line per problem, and the compiled validator's fast acceptance",
    ),
    Touchpoint(
        "_encoding",
        "connexion.validators.abstract:AbstractRequestBodyValidator",
        ("authspec/validation.py",),
        "the parser decodes with the request's charset, which Connexion keeps here",
    ),
    Touchpoint(
        "_schema",
        "connexion.validators.json:JSONRequestBodyValidator",
        ("authspec/fastpath.py", "authspec/validation.py", "authspec/formbody.py"),
        "the compiled validator is looked up by the schema Connexion validates against, and the "
        "fallback validators are rebuilt on it with ECMA-262 patterns (authspec.patterns); a form "
        "schema with file properties keeps the handler's own form parsing",
    ),
    Touchpoint(
        "_form_parser_cls",
        "connexion.validators.form_data:FormDataValidator",
        ("authspec/formbody.py",),
        "an urlencoded form is parsed once, by a parser that reads plain forms without "
        "python-multipart's per-byte callbacks; Connexion builds its parser from this property",
    ),
    Touchpoint(
        "_validator",
        "connexion.validators.json:JSONRequestBodyValidator",
        ("authspec/validation.py",),
        "every problem of a body is listed (iter_errors), not only Connexion's first, by a validator "
        "that reads pattern as ECMA-262",
    ),
)

#: Private names of authspec's own that happen to share a name with one of Connexion's.
OWN_NAMES = {
    ("authspec/spec.py", "_schema"): "the bundler's method that hoists one named schema",
    ("authspec/checks.py", "_validator"): "the house-rule checker's jsonschema validator factory",
}
