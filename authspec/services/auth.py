"""Login rules: email codes, registration and the current user.

Codes: six CSPRNG digits, stored as a keyed hash, ``code_ttl`` seconds of life, single use, only
the latest per email; every check is an attempt counted atomically *before* the comparison, so
of N parallel guesses at most ``code_max_attempts`` are ever compared, and the last allowed wrong
one voids the code (429 ``too_many_attempts``). A resend keeps the attempt count of a live code.
Voided codes lock the email (per account, Keycloak's brute-force detection): from the
``code_lockout_after``-th voided within ``code_lockout_window``, every code request and verify of
that email answers 429 ``rate_limited`` for ``code_lockout_seconds``, doubling per further voided
code up to ``code_lockout_max``; the counters live behind the ``RateLimiter`` port.
Requests are limited per mailbox (``mailbox_of``: the address without its ``+tag``, lower case,
so ``bomb+1@x`` and ``bomb+2@x`` share both limits) by a cooldown (``code_resend_after``) and an
hourly cap (``code_mailbox_hourly``), and per client IP (an IPv6 client by its /64:
``ip_bucket``); a request whose email could not be sent does not spend the cooldown (the user may
retry at once), but it still counts against its IP's limit and the mailbox's hourly cap, which
bound how hard a client can drive a failing mail server. The account is the exact address. The
code is stored only once it was handed to the mailer. The answer to a code request does not
depend on whether the email has an account: unknown emails get a code too, and verifying it leads
to registration (a single-use registration token), which grants no other access.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import uuid
from datetime import timedelta

from authspec.clock import Clock
from authspec.credentials import hash_token, new_code, new_opaque_token
from authspec.errors import Conflict, ServiceUnavailable, TooManyRequests, Unauthorized
from authspec.services.messages import compose_code_message
from authspec.services.ports import (
    ClientInfo,
    DuplicateEmail,
    EmailCode,
    Events,
    Mailer,
    NoEvents,
    RateLimiter,
    RegistrationToken,
    Repository,
    User,
)
from authspec.services.results import Authenticated, CodeSent, Registered, RegistrationRequired
from authspec.services.secrets import ServiceSecrets
from authspec.services.tokens import TokenService
from authspec.settings import Settings

log = logging.getLogger("authspec.auth")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def mailbox_of(email: str) -> str:
    """The mailbox a normalised address delivers to, as the per-mailbox limits count it: the local
    part without any ``+tag`` (subaddressing, RFC 5233), lower case. Only the limits use it."""
    local, at, domain = email.lower().rpartition("@")
    if not at:
        return email.lower()
    return f"{local.partition('+')[0]}@{domain}"


def _email_key(email: str) -> str:
    # Limiter keys name no address: a digest is enough to tell emails apart.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def ip_bucket(ip: str | None) -> str:
    """The client a per-IP limit counts: an IPv4 address (IPv4-mapped IPv6 too) as itself, an IPv6
    address by its /64 — one subscriber's LAN (RFC 6177), whose hosts pick addresses at will — and
    ``-`` for no address. Anything else (a test client's name) counts as written."""
    if not ip:
        return "-"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


def _invalid_code() -> Unauthorized:
    return Unauthorized("The code is wrong or has expired", code="invalid_code")


class AuthService:
    def __init__(
        self,
        repo: Repository,
        limiter: RateLimiter,
        mailer: Mailer,
        tokens: TokenService,
        secrets: ServiceSecrets,
        clock: Clock,
        settings: Settings,
        events: Events | None = None,
    ) -> None:
        self.events = events or NoEvents()
        self.repo = repo
        self.limiter = limiter
        self.mailer = mailer
        self.tokens = tokens
        self.secrets = secrets
        self.clock = clock
        self.settings = settings

    def _who(self, email: str, client: ClientInfo) -> dict[str, str | None]:
        # What a security event says about who and where: a keyed hash, never the address.
        return {"email_hash": self.secrets.email_hash(email), "client_ip": client.ip}

    async def _limit(
        self, key: str, limit: int, window: int, message: str, who: dict[str, str | None] | None = None
    ) -> None:
        retry_after = await self.limiter.hit(key, limit=limit, window=window, now=self.clock.now())
        if retry_after:
            extra = {"event": "rate_limited", "limit": key.partition(":")[0], "retry_after": retry_after, **(who or {})}
            log.info("rate limited", extra=extra)
            self.events.rate_limited(key.partition(":")[0])  # the limit's name, never its key
            raise TooManyRequests(message.format(retry_after=retry_after), retry_after=retry_after)

    async def _release(self, key: str) -> None:
        if self.settings.code_resend_after <= 0:
            return
        try:
            await self.limiter.release(key, now=self.clock.now())
        except Exception as exc:  # the store is away too: the original failure is the one to report
            extra = {"event": "limit.release_failed", "error": type(exc).__name__}
            log.warning("a cooldown could not be released", extra=extra)

    async def _refuse_if_locked(self, email: str, who: dict[str, str | None]) -> None:
        if self.settings.code_lockout_after <= 0:
            return
        wait = await self.limiter.remaining(f"code-lock:{_email_key(email)}", now=self.clock.now())
        if wait:
            extra = {"event": "rate_limited", "limit": "code-lock", "retry_after": wait, **who}
            log.info("email locked", extra=extra)
            self.events.rate_limited("code-lock")
            raise TooManyRequests(f"Try again in {wait} seconds", retry_after=wait)

    async def _voided(self, email: str, who: dict[str, str | None]) -> None:
        """A code of ``email`` was voided: count it, and lock the email from the configured count on."""
        s = self.settings
        if s.code_lockout_after <= 0:
            return
        key, now = _email_key(email), self.clock.now()
        voided = await self.limiter.count(f"code-voided:{key}", window=s.code_lockout_window, now=now)
        if voided < s.code_lockout_after:
            return
        lock = min(s.code_lockout_seconds * 2 ** min(voided - s.code_lockout_after, 32), s.code_lockout_max)
        await self.limiter.extend(f"code-lock:{key}", seconds=lock, now=now)
        # The count outlives the lock by a window, so the next voided code after it locks longer.
        await self.limiter.extend(f"code-voided:{key}", seconds=lock + s.code_lockout_window, now=now)
        extra = {"event": "code.lockout", "voided": voided, "seconds": lock, **who}
        log.warning("email locked out", extra=extra)

    async def request_code(self, email: str, client: ClientInfo) -> CodeSent:
        """Send a new code to ``email`` (whether or not it has an account)."""
        s = self.settings
        email = normalize_email(email)
        who = self._who(email, client)
        await self._limit(
            f"code-ip:{ip_bucket(client.ip)}",
            s.code_ip_limit,
            s.code_ip_window,
            "Try again in {retry_after} seconds",
            who,
        )
        await self._refuse_if_locked(email, who)
        mailbox = _email_key(mailbox_of(email))
        cooldown = f"code-email:{mailbox}"
        if s.code_resend_after > 0:
            await self._limit(cooldown, 1, s.code_resend_after, "Try again in {retry_after} seconds", who)
        if s.code_mailbox_hourly > 0:
            await self._limit(
                f"code-mailbox-hour:{mailbox}", s.code_mailbox_hourly, 3600, "Try again in {retry_after} seconds", who
            )
        now = self.clock.now()
        code = new_code()
        # Mail first, then store: a code that was never delivered never supersedes the email's live
        # one, and a failure of either step releases the cooldown this request would have spent.
        try:
            await self.mailer.send(compose_code_message(email, code, expires_in=s.code_ttl, sent_at=now))
        except Exception as exc:
            # The class and the mailer's message; the formatter hashes any address the message names.
            extra = {"event": "mail.failed", "error": type(exc).__name__, "detail": str(exc)[:200], **who}
            log.error("the code email could not be sent", extra=extra)
            self.events.code_send_failed()
            await self._release(cooldown)
            raise ServiceUnavailable("The code could not be sent; try again later") from exc
        try:
            await self.repo.replace_email_code(
                EmailCode(
                    id=str(uuid.uuid4()),
                    email=email,
                    code_hash=self.secrets.codes.hash(email, code),
                    created_at=now,
                    expires_at=now + timedelta(seconds=s.code_ttl),
                ),
                max_attempts=s.code_max_attempts,
            )
        except BaseException:
            await self._release(cooldown)
            raise
        log.info("code sent", extra={"event": "code.sent", **who})
        self.events.code_sent()
        return CodeSent(expires_in=s.code_ttl, resend_after=s.code_resend_after)

    def _refused(self, outcome: str, error: Exception) -> Exception:
        """Count a verify that ended in ``outcome`` (``Events.login``), and give ``error`` back to raise."""
        self.events.login(outcome)
        return error

    def _too_many(self, code: EmailCode, who: dict[str, str | None]) -> TooManyRequests:
        wait = (code.created_at + timedelta(seconds=self.settings.code_resend_after) - self.clock.now()).total_seconds()
        log.info("rate limited", extra={"event": "rate_limited", "limit": "code-attempts", **who})
        return TooManyRequests(
            "Too many wrong codes; request a new code", code="too_many_attempts", retry_after=max(1, int(wait) + 1)
        )

    async def verify_code(
        self, email: str, code: str, *, device_name: str | None, client: ClientInfo
    ) -> Authenticated | RegistrationRequired:
        """Check ``code``: log an existing user in, or hand a new email a registration token."""
        s = self.settings
        email = normalize_email(email)
        who = self._who(email, client)
        await self._limit(
            f"verify-ip:{ip_bucket(client.ip)}",
            s.verify_ip_limit,
            s.verify_ip_window,
            "Try again in {retry_after} seconds",
            who,
        )
        await self._refuse_if_locked(email, who)
        now = self.clock.now()
        stored = await self.repo.get_email_code(email)
        if stored is None or stored.consumed_at is not None or now >= stored.expires_at:
            raise self._refused("invalid_code", _invalid_code())
        if stored.attempts >= s.code_max_attempts:
            raise self._refused("too_many_attempts", self._too_many(stored, who))
        attempts = await self.repo.register_code_attempt(email, stored.id, max_attempts=s.code_max_attempts)
        if attempts is None:
            latest = await self.repo.get_email_code(email)
            if latest is not None and latest.id == stored.id and latest.consumed_at is None:
                raise self._refused("too_many_attempts", self._too_many(latest, who))
            raise self._refused("invalid_code", _invalid_code())
        if not self.secrets.codes.matches(email, code, stored.code_hash):
            log.info("wrong code", extra={"event": "code.wrong", "attempts": attempts, **who})
            self.events.login("wrong_code")  # the guess that voids the code too
            if attempts >= s.code_max_attempts:
                log.warning("code voided", extra={"event": "code.voided", "attempts": attempts, **who})
                await self._voided(email, who)
                raise self._too_many(stored, who)
            raise _invalid_code()
        if not await self.repo.consume_email_code(email, stored.id, now):
            raise self._refused("invalid_code", _invalid_code())

        user = await self.repo.get_user_by_email(email)
        if user is not None:
            pair = await self.tokens.start_session(user, device_name=device_name, client=client)
            log.info(
                "logged in",
                extra={"event": "login", "user_id": user.id, "session_id": pair.session_id, **who},
            )
            self.events.login("success")
            return Authenticated(tokens=pair, user=user)
        plain = new_opaque_token()
        await self.repo.put_registration_token(
            RegistrationToken(
                token_hash=hash_token(plain),
                email=email,
                created_at=now,
                expires_at=now + timedelta(seconds=s.registration_ttl),
            )
        )
        log.info("registration required", extra={"event": "registration.required", **who})
        self.events.login("registration_required")
        return RegistrationRequired(registration_token=plain, expires_in=s.registration_ttl)

    async def complete_registration(
        self,
        registration_token: str,
        *,
        first_name: str,
        last_name: str,
        device_name: str | None,
        client: ClientInfo,
    ) -> Registered:
        """Create the user a registration token was issued for, with a first session."""
        now = self.clock.now()
        token_hash = hash_token(registration_token)
        token = await self.repo.get_registration_token(token_hash)
        invalid = Unauthorized("The registration token is invalid or has expired", code="invalid_registration_token")
        if token is None or token.consumed_at is not None or now >= token.expires_at:
            raise invalid
        # Use the token first: of concurrent registrations with it exactly one goes on, and the
        # others learn that the token is spent (not that an account exists, which they cannot know).
        if not await self.repo.consume_registration_token(token_hash, now):
            raise invalid
        already = Conflict("An account already exists for this email", code="already_registered")
        if await self.repo.get_user_by_email(token.email) is not None:
            raise already
        user = User(
            id=str(uuid.uuid4()),
            email=token.email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            created_at=now,
        )
        try:
            await self.repo.create_user(user)
        except DuplicateEmail:
            raise already from None
        pair = await self.tokens.start_session(user, device_name=device_name, client=client)
        log.info(
            "registered",
            extra={"event": "registered", "user_id": user.id, "session_id": pair.session_id, "client_ip": client.ip},
        )
        self.events.login("registered")
        return Registered(tokens=pair, user=user)

    async def current_user(self, user_id: str) -> User:
        user = await self.repo.get_user(user_id)
        if user is None:  # the session check passed, so the user was deleted in between
            raise Unauthorized("The session of this token has ended", code="session_ended")
        return user
