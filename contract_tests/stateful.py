"""The link-following state machine, with the one step links cannot take: reading a code from email.

Schemathesis builds the machine from the document's links (verify → refresh, revoke-token,
logout, listSessions, getCurrentUser, completeRegistration; refresh → itself and the rest;
listSessions → revokeSession). Every chain that reaches a token starts at verify, whose code
arrives out of band, so for a positive verify step the machine first asks the target for a code
and puts the real one in the body: for a fresh address (``registration_required``, then
completeRegistration through the link) or, when the target has no resend cooldown, for the
account the scenario is logged in as (``authenticated``: a second session of that user). Which of
the two follows from the generated body, and every scenario starts with a login of its own, so a
scenario's path depends only on what Hypothesis drew (Hypothesis refuses a machine whose draws
depend on state left by earlier scenarios). Negative verify steps go out as generated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .auth import fresh_email, request_code
from .checks import operation_id

if TYPE_CHECKING:
    from schemathesis import Case
    from schemathesis.specs.openapi.schemas import OpenApiSchema

    from .targets import Target


def build_state_machine(schema: OpenApiSchema, target: Target) -> Any:
    base: Any = schema.as_state_machine()

    class ContractStateMachine(base):  # type: ignore[misc]
        """The document's links, on ``target``, with real codes for verify."""

        def setup(self) -> None:
            super().setup()
            # A login of the scenario's own: nothing it does depends on earlier scenarios. Both the
            # cached token and the provider's identity go: a relogin verify below logs in as
            # ``current``, and an identity left by an earlier scenario brings that scenario's
            # account and sessions into this one's answers: the same draws then gave different
            # statuses and Hypothesis refused the machine (FlakyStrategyDefinition).
            target.auth.cached.invalidate()
            target.auth.provider.current = None

        def before_call(self, case: Case[Any]) -> None:
            super().before_call(case)
            if operation_id(case) != "verifyEmailCode" or not isinstance(case.body, dict) or target.mailbox is None:
                return
            meta = case.meta
            if meta is not None and not meta.generation.mode.is_positive:
                return
            email = fresh_email("chain")
            if target.relogin and len(str(case.body.get("email", ""))) % 2:
                current = target.auth.provider.current or target.auth.provider.fetch()
                email = current.email
            code = request_code(target.http, target.mailbox, email)
            if code is not None:
                case.body = {**case.body, "email": email, "code": code}

    ContractStateMachine.__name__ = f"ContractStateMachine_{target.name}"
    return ContractStateMachine
