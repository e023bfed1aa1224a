"""The one authenticated-client kit of the tests: users are made the product's way, over real HTTP.

``bootstrap_admin`` does what ``algogrid create-admin`` does (storage's ``issue_admin_activation``: the
first admin's one-time token); every other step goes through the gateway's routes: ``POST /auth/activate/
totp`` (enrolment), ``POST /auth/activate`` (password + a current TOTP code computed with pyotp, as an
authenticator app would), ``POST /users`` (an admin creates a trader or viewer), and ``POST /auth/login``
(bearer) or ``POST /auth/session`` (browser cookies + CSRF). No bypass exists in the product.

``TEST_AUTH`` is the auth config of test gateways: a fixed HS256 secret, a local cipher key, and Argon2id
below OWASP cost through the product's explicit ``allow_insecure_for_tests`` switch (refused in paper/live).
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from pydantic import SecretStr

from gateway.auth import AuthConfig, CipherConfig, PasswordHashConfig, hash_token, new_token
from gateway.auth.totp import STEP_S

__all__ = [
    "TEST_AUTH",
    "Account",
    "activate",
    "activate_sync",
    "authorise",
    "bootstrap_admin",
    "browser_login",
    "create_user",
    "login",
    "login_sync",
    "token_of_link",
]

TEST_AUTH = AuthConfig(
    jwt_secret=SecretStr("test-signing-secret-" + "k" * 40),
    passwords=PasswordHashConfig(memory_kib=256, time_cost=1, allow_insecure_for_tests=True),
    cipher=CipherConfig(local_key=SecretStr(base64.b64encode(b"t" * 32).decode())),
)
PASSWORD = "correct-Horse-battery-42"
_MARGIN_S = 10.0  # seconds a request may take on a loaded machine before its code is checked


@dataclass
class Account:
    """A person of the tests: credentials, the TOTP secret their "phone" holds, and the last code used."""

    email: str
    role: str
    password: str = PASSWORD
    user_id: str = ""
    totp_secret: str | None = None
    last_step: int = -1
    tokens: dict[str, Any] = field(default_factory=dict)

    def code(self) -> str:
        """Return a current code never used before (the next step within the ±1 drift window).

        When this person used every code the window allows, wait for the next step first, as they would
        wait for their phone's next code (at most one step, 30 s; rare: a test needing many codes).
        """
        assert self.totp_secret is not None
        pause = self.wait_for_code_s()
        if pause > 0:
            time.sleep(pause)
        at = time.time()
        now = int(at // STEP_S)
        # The previous step's code stays valid only until this step ends (the server allows ±1 step): near
        # the boundary a slow request would arrive too late, so it is used only with time to spare.
        oldest = now - 1 if at % STEP_S < STEP_S - _MARGIN_S else now
        for step in range(oldest, now + 2):
            if step > self.last_step:
                self.last_step = step
                return pyotp.TOTP(self.totp_secret).at(step * STEP_S)
        raise AssertionError("three logins within one TOTP step: use refresh or another account")

    def wait_for_code_s(self) -> float:
        """Return how long to wait before ``code()`` has a fresh step to give (0: one is there now).

        Codes follow the wall clock, so a test that needs more codes of one person than a step gives waits
        for the next step, as the person would wait for their phone's next code (at most one step).
        """
        at = time.time()
        now = int(at // STEP_S)
        oldest = now - 1 if at % STEP_S < STEP_S - _MARGIN_S else now
        if any(step > self.last_step for step in range(oldest, now + 2)):
            return 0.0
        return (now + 1) * STEP_S - at + 0.05


def token_of_link(link: str) -> str:
    """Return the one-time token of an activation/reset link (``…/ui/#/activate?token=…``)."""
    return parse_qs(urlsplit(urlsplit(link).fragment).query)["token"][0]


async def bootstrap_admin(storage: Any, email: str | None = None) -> tuple[str, str]:
    """Create an admin as ``algogrid create-admin`` does; return (email, one-time activation token)."""
    email = email or f"admin-{uuid.uuid4().hex[:8]}@example.com"
    token = new_token()
    issued = await storage.users.issue_admin_activation(email, hash_token(token), ttl_hours=48, actor="test")
    assert issued is not None
    return email, token


async def activate(client: httpx.AsyncClient, token: str, email: str, role: str) -> Account:
    """Enrol TOTP (trader/admin) and set the password through the activation routes."""
    account = Account(email=email, role=role)
    body: dict[str, Any] = {"token": token, "password": account.password}
    if role in ("trader", "admin"):
        setup = await client.post("/auth/activate/totp", json={"token": token})
        assert setup.status_code == 200, setup.text
        account.totp_secret = setup.json()["secret"]
        body["totp_code"] = account.code()
    done = await client.post("/auth/activate", json=body)
    assert done.status_code == 200, done.text
    account.user_id = done.json()["user_id"]
    return account


def _login_body(account: Account) -> dict[str, Any]:
    body: dict[str, Any] = {"email": account.email, "password": account.password}
    if account.totp_secret is not None:
        body["totp_code"] = account.code()
    return body


async def first_admin(storage: Any, client: httpx.AsyncClient) -> Account:
    """Make the first admin the product's way, log in over HTTP and authorise ``client`` with its token."""
    email, token = await bootstrap_admin(storage)
    account = await activate(client, token, email, "admin")
    await login(client, account)
    authorise(client, account)
    return account


async def login(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    """Log in over ``POST /auth/login``; return the token pair (also kept on the account)."""
    answer = await client.post("/auth/login", json=_login_body(account))
    assert answer.status_code == 200, answer.text
    account.tokens = answer.json()
    return account.tokens


def authorise(client: httpx.AsyncClient | httpx.Client, account: Account) -> None:
    """Send the account's access token on every later request of ``client``."""
    client.headers["Authorization"] = f"Bearer {account.tokens['access_token']}"


async def browser_login(client: httpx.AsyncClient, account: Account) -> str:
    """Log in as the browser does (cookies); set the CSRF header on the client; return the CSRF token."""
    answer = await client.post("/auth/session", json=_login_body(account))
    assert answer.status_code == 200, answer.text
    csrf: str = answer.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    return csrf


async def create_user(admin: httpx.AsyncClient, role: str, email: str | None = None) -> Account:
    """Have the (authorised) admin client create a user with ``role`` and activate it over HTTP."""
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    created = await admin.post("/users", json={"email": email, "role": role})
    assert created.status_code == 201, created.text
    async with httpx.AsyncClient(base_url=str(admin.base_url), timeout=10.0) as anonymous:
        return await activate(anonymous, token_of_link(created.json()["activation_link"]), email, role)


def activate_sync(client: httpx.Client, token: str, email: str, role: str = "admin") -> Account:
    """``activate`` for synchronous tests (a subprocess's gateway, the browser tests' setup)."""
    account = Account(email=email, role=role)
    body: dict[str, Any] = {"token": token, "password": account.password}
    if role in ("trader", "admin"):
        setup = client.post("/auth/activate/totp", json={"token": token})
        assert setup.status_code == 200, setup.text
        account.totp_secret = setup.json()["secret"]
        body["totp_code"] = account.code()
    done = client.post("/auth/activate", json=body)
    assert done.status_code == 200, done.text
    account.user_id = done.json()["user_id"]
    return account


def login_sync(client: httpx.Client, account: Account) -> dict[str, Any]:
    """``login`` for synchronous tests."""
    answer = client.post("/auth/login", json=_login_body(account))
    assert answer.status_code == 200, answer.text
    account.tokens = answer.json()
    return account.tokens
