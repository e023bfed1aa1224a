"""Request and answer bodies of the auth, user and admin routes (U-06, U-10, G-01)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ActivateBody",
    "ActivationView",
    "ChangePasswordBody",
    "CodeBody",
    "CreateUserBody",
    "CreatedUser",
    "DisableTotpBody",
    "EmailBody",
    "LoginBody",
    "MeView",
    "PatchUserBody",
    "PatchedUser",
    "RefreshBody",
    "ResetBody",
    "SessionView",
    "TokenBody",
    "TokenPair",
    "TotpSetupView",
    "UserExport",
    "UserPage",
    "UserView",
]

_IN = ConfigDict(frozen=True, extra="forbid")
_OUT = ConfigDict(frozen=True)
Email = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
Password = Field(min_length=1, max_length=256)
Code = Field(pattern=r"^[0-9]{6}$")
Token = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
Role = Literal["viewer", "trader", "admin"]


class LoginBody(BaseModel):
    model_config = _IN
    email: str = Email
    password: str = Password
    totp_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class TokenPair(BaseModel):
    model_config = _OUT
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class SessionView(BaseModel):
    """A browser session: the tokens are in HttpOnly cookies; the CSRF token is also in a readable cookie."""

    model_config = _OUT
    user_id: uuid.UUID
    role: Role
    expires_in: int
    csrf_token: str


class RefreshBody(BaseModel):
    model_config = _IN
    refresh_token: str | None = Field(default=None, min_length=10, max_length=4096)


class TokenBody(BaseModel):
    model_config = _IN
    token: str = Token


class ActivateBody(BaseModel):
    model_config = _IN
    token: str = Token
    password: str = Password
    totp_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class ActivationView(BaseModel):
    model_config = _OUT
    user_id: uuid.UUID
    role: Role
    totp_enabled: bool


class TotpSetupView(BaseModel):
    model_config = _OUT
    secret: str
    otpauth_uri: str
    qr_svg: str


class EmailBody(BaseModel):
    model_config = _IN
    email: str = Email


class ResetBody(BaseModel):
    model_config = _IN
    token: str = Token
    password: str = Password


class ChangePasswordBody(BaseModel):
    model_config = _IN
    current_password: str = Password
    new_password: str = Password


class CodeBody(BaseModel):
    model_config = _IN
    code: str = Code


class DisableTotpBody(BaseModel):
    model_config = _IN
    password: str = Password
    code: str = Code


class MeView(BaseModel):
    model_config = _OUT
    id: uuid.UUID
    email: str
    role: Role
    totp_enabled: bool
    session_expires_at: dt.datetime


class UserView(BaseModel):
    model_config = _OUT
    id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    activated: bool
    totp_enabled: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class UserPage(BaseModel):
    model_config = _OUT
    items: list[UserView]


class CreateUserBody(BaseModel):
    model_config = _IN
    email: str = Email
    role: Role


class CreatedUser(BaseModel):
    """The new user; the activation link is also mailed (logged in simulation)."""

    model_config = _OUT
    id: uuid.UUID
    activation_link: str


class PatchUserBody(BaseModel):
    model_config = _IN
    role: Role | None = None
    is_active: bool | None = None
    reset: bool = False


class PatchedUser(BaseModel):
    model_config = _OUT
    id: uuid.UUID
    activation_link: str | None = None


class UserExport(BaseModel):
    model_config = _OUT
    account: dict[str, Any]
    audit: list[dict[str, Any]]
