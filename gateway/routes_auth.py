"""Session and own-account routes (U-02..U-06): ``/auth/*``.

API clients use ``POST /auth/login`` (tokens in the JSON answer, then ``Authorization: Bearer``). The browser
uses ``POST /auth/session``: the same checks, but the tokens go into HttpOnly, SameSite=Strict cookies
(Secure under TLS) and only the CSRF token is readable by the page. ``/auth/refresh`` takes the refresh
token from the body (API) or its cookie (browser; then the CSRF header is required too).
"""

from __future__ import annotations

import datetime as dt
import hmac

from starlette.requests import Request
from starlette.responses import Response

from gateway.access import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE, principal_of
from gateway.auth.errors import CsrfError, InvalidTokenError
from gateway.auth.ports import RequestMeta
from gateway.auth.service import IssuedTokens, Via
from gateway.auth.tokens import TokenKind
from gateway.context import GatewayContext, ctx_of, json_response
from gateway.endpoint import Endpoint, parse_body
from gateway.models_auth import (
    ActivateBody,
    ActivationView,
    ChangePasswordBody,
    CodeBody,
    DisableTotpBody,
    EmailBody,
    LoginBody,
    MeView,
    RefreshBody,
    ResetBody,
    SessionView,
    TokenBody,
    TokenPair,
    TotpSetupView,
)
from gateway.request_context import request_meta_fields

__all__ = ["AUTH_ENDPOINTS", "meta_of"]

_REFRESH_PATH = "/auth"


def meta_of(request: Request) -> RequestMeta:
    """Return the audit facts of ``request`` (its principal, if any, is the actor)."""
    ip, agent, request_id, correlation_id = request_meta_fields(request)
    principal = getattr(request.state, "principal", None)
    return RequestMeta(principal.user_id if principal else None, ip, agent, request_id, correlation_id)


def _secure(request: Request, ctx: GatewayContext) -> bool:
    return request.url.scheme == "https" or ctx.auth.config.cookie_secure


def _set_cookies(response: Response, request: Request, ctx: GatewayContext, pair: IssuedTokens) -> None:
    secure = _secure(request, ctx)
    response.set_cookie(
        ACCESS_COOKIE,
        pair.access_token,
        max_age=pair.expires_in,
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=pair.refresh_expires_in,
        path=_REFRESH_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        pair.csrf or "",
        max_age=pair.refresh_expires_in,
        path="/",
        secure=secure,
        httponly=False,
        samesite="strict",
    )


def _clear_cookies(response: Response) -> None:
    for name, path in ((ACCESS_COOKIE, "/"), (REFRESH_COOKIE, _REFRESH_PATH), (CSRF_COOKIE, "/")):
        response.delete_cookie(name, path=path, httponly=name != CSRF_COOKIE, samesite="strict")


async def _session_answer(request: Request, pair: IssuedTokens, via: Via) -> Response:
    ctx = ctx_of(request)
    if via == "bearer":
        return json_response(
            TokenPair(
                access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
            )
        )
    claims = ctx.auth.tokens.verify(pair.access_token, TokenKind.ACCESS)
    response = json_response(
        SessionView(
            user_id=claims.sub,
            role=claims.role,
            expires_in=pair.expires_in,
            csrf_token=pair.csrf or "",
        )
    )
    _set_cookies(response, request, ctx, pair)
    return response


async def _login(request: Request, via: Via) -> Response:
    body = await parse_body(request, LoginBody)
    if isinstance(body, Response):
        return body
    pair = await ctx_of(request).auth.login(body.email, body.password, body.totp_code, meta_of(request), via)
    return await _session_answer(request, pair, via)


async def login(request: Request) -> Response:
    """Log in with e-mail, password and TOTP code; answer bearer tokens (API clients)."""
    return await _login(request, "bearer")


async def open_session(request: Request) -> Response:
    """Log in from the browser: tokens in HttpOnly SameSite=Strict cookies, the CSRF token in the answer."""
    return await _login(request, "cookie")


async def refresh(request: Request) -> Response:
    """Rotate a refresh token (body for API clients, cookie + CSRF header for the browser)."""
    ctx = ctx_of(request)
    raw = await request.body()
    body = await parse_body(request, RefreshBody) if raw.strip() else RefreshBody()
    if isinstance(body, Response):
        return body
    if body.refresh_token:
        pair = await ctx.auth.refresh(body.refresh_token, meta_of(request))
        return await _session_answer(request, pair, "bearer" if pair.csrf is None else "cookie")
    cookie = request.cookies.get(REFRESH_COOKIE)
    if not cookie:
        raise InvalidTokenError("expected a refresh token in the body or the session cookie")
    claims = ctx.auth.tokens.verify(cookie, TokenKind.REFRESH)
    sent = request.headers.get(CSRF_HEADER, "")
    if not claims.csrf or not hmac.compare_digest(sent.encode(), claims.csrf.encode()):
        raise CsrfError("missing or wrong CSRF token (send the csrf cookie's value in X-CSRF-Token)")
    pair = await ctx.auth.refresh(cookie, meta_of(request))
    return await _session_answer(request, pair, "cookie")


async def logout(request: Request) -> Response:
    """End the caller's session: its refresh family and every access token of it."""
    await ctx_of(request).auth.logout(principal_of(request), meta_of(request))
    response = Response(status_code=204)
    _clear_cookies(response)
    return response


async def me(request: Request) -> Response:
    """Answer who the caller is."""
    principal = principal_of(request)
    user = await ctx_of(request).auth.users.get(principal.user_id)
    if user is None:
        raise InvalidTokenError("the account no longer exists")
    return json_response(
        MeView(
            id=user.id,
            email=user.email,
            role=user.role,
            totp_enabled=user.totp_enabled,
            session_expires_at=dt.datetime.fromtimestamp(principal.exp, dt.UTC),
        )
    )


async def activation_totp(request: Request) -> Response:
    """Start TOTP enrolment with an activation token: secret, otpauth URI and QR code (SVG)."""
    body = await parse_body(request, TokenBody)
    if isinstance(body, Response):
        return body
    setup = await ctx_of(request).accounts.activation_totp(body.token)
    return json_response(
        TotpSetupView(secret=setup.secret, otpauth_uri=setup.otpauth_uri, qr_svg=setup.qr_svg)
    )


async def activate(request: Request) -> Response:
    """Activate an account: first password (U-04 policy) and, for trader/admin, a current TOTP code."""
    body = await parse_body(request, ActivateBody)
    if isinstance(body, Response):
        return body
    user = await ctx_of(request).accounts.activate(
        body.token, body.password, body.totp_code, meta_of(request)
    )
    enabled = body.totp_code is not None
    return json_response(ActivationView(user_id=user.id, role=user.role, totp_enabled=enabled))


async def forgot_password(request: Request) -> Response:
    """Mail a reset link when the account exists; the answer is the same either way (202)."""
    body = await parse_body(request, EmailBody)
    if isinstance(body, Response):
        return body
    await ctx_of(request).accounts.forgot(body.email, meta_of(request))
    return Response(status_code=202)


async def reset_password(request: Request) -> Response:
    """Set a new password with a reset token; every session of the account ends."""
    body = await parse_body(request, ResetBody)
    if isinstance(body, Response):
        return body
    await ctx_of(request).accounts.reset(body.token, body.password, meta_of(request))
    return Response(status_code=204)


async def change_password(request: Request) -> Response:
    """Change the caller's password (current one required); every session ends."""
    body = await parse_body(request, ChangePasswordBody)
    if isinstance(body, Response):
        return body
    await ctx_of(request).accounts.change_password(
        principal_of(request), body.current_password, body.new_password, meta_of(request)
    )
    response = Response(status_code=204)
    _clear_cookies(response)
    return response


async def totp_setup(request: Request) -> Response:
    """Start TOTP enrolment for the caller."""
    setup = await ctx_of(request).accounts.totp_setup(principal_of(request))
    return json_response(
        TotpSetupView(secret=setup.secret, otpauth_uri=setup.otpauth_uri, qr_svg=setup.qr_svg)
    )


async def totp_confirm(request: Request) -> Response:
    """Enable the pending TOTP secret with a current code."""
    body = await parse_body(request, CodeBody)
    if isinstance(body, Response):
        return body
    await ctx_of(request).accounts.totp_confirm(principal_of(request), body.code, meta_of(request))
    return Response(status_code=204)


async def totp_disable(request: Request) -> Response:
    """Disable TOTP with password and a current code (not for trader/admin: mandatory there)."""
    body = await parse_body(request, DisableTotpBody)
    if isinstance(body, Response):
        return body
    await ctx_of(request).accounts.totp_disable(
        principal_of(request), body.password, body.code, meta_of(request)
    )
    return Response(status_code=204)


_E = (401, 403, 422, 429)
AUTH_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/auth/login",
        "POST",
        login,
        "Log in (API client): bearer tokens",
        "auth",
        body=LoginBody,
        response=TokenPair,
        errors=(401, 403, 415, 422, 429),
        status=200,
    ),
    Endpoint(
        "/auth/session",
        "POST",
        open_session,
        "Log in (browser): HttpOnly cookies + CSRF token",
        "auth",
        body=LoginBody,
        response=SessionView,
        errors=(401, 403, 415, 422, 429),
        status=200,
    ),
    Endpoint(
        "/auth/refresh",
        "POST",
        refresh,
        "Rotate a refresh token (reuse revokes the session)",
        "auth",
        body=RefreshBody,
        response=TokenPair,
        errors=(401, 403, 415, 422),
        status=200,
        body_optional=True,
    ),
    Endpoint(
        "/auth/logout", "POST", logout, "End the caller's session", "auth", errors=(401, 403), status=204
    ),
    Endpoint("/auth/me", "GET", me, "Who the caller is", "auth", response=MeView, errors=(401,)),
    Endpoint(
        "/auth/activate/totp",
        "POST",
        activation_totp,
        "TOTP enrolment with an activation token",
        "auth",
        body=TokenBody,
        response=TotpSetupView,
        errors=(400, 415, 422),
        status=200,
    ),
    Endpoint(
        "/auth/activate",
        "POST",
        activate,
        "Activate an account: password (+ TOTP code)",
        "auth",
        body=ActivateBody,
        response=ActivationView,
        errors=(400, 401, 409, 415, 422),
        status=200,
    ),
    Endpoint(
        "/auth/password/forgot",
        "POST",
        forgot_password,
        "Mail a password reset link",
        "auth",
        body=EmailBody,
        errors=(415, 422, 429),
        status=202,
    ),
    Endpoint(
        "/auth/password/reset",
        "POST",
        reset_password,
        "Set a new password with a reset token",
        "auth",
        body=ResetBody,
        errors=(400, 415, 422),
        status=204,
    ),
    Endpoint(
        "/auth/password/change",
        "POST",
        change_password,
        "Change the caller's password",
        "auth",
        body=ChangePasswordBody,
        errors=(*_E, 415),
        status=204,
    ),
    Endpoint(
        "/auth/2fa/setup",
        "POST",
        totp_setup,
        "Start TOTP enrolment",
        "auth",
        response=TotpSetupView,
        errors=(401, 403, 409),
        status=200,
    ),
    Endpoint(
        "/auth/2fa/confirm",
        "POST",
        totp_confirm,
        "Enable TOTP with a current code",
        "auth",
        body=CodeBody,
        errors=(*_E, 409, 415),
        status=204,
    ),
    Endpoint(
        "/auth/2fa/disable",
        "POST",
        totp_disable,
        "Disable TOTP (password + code)",
        "auth",
        body=DisableTotpBody,
        errors=(*_E, 409, 415),
        status=204,
    ),
)
