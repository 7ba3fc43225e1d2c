"""Accounts, passwords, tokens, login throttling, roles and per-session grants.

Passwords are hashed with Argon2id (argon2-cffi, RFC 9106 parameters; Biryukov, Dinu & Khovratovich
2016, doi:10.1109/EuroSP.2016.31). A login returns an opaque random token (256 bits) that the server
stores only as its SHA-256 hash, with an expiry; clients present it as ``Authorization: Bearer TOKEN``
or in the HttpOnly cookie ``dreamlink_token``. Failed logins are counted per user name and per client
address; after :data:`MAX_FAILURES` within :data:`THROTTLE_WINDOW_SEC` further attempts are refused
(HTTP 429) until the window has passed, even with the right password.

Roles
-----
``admin``
    manages accounts and sessions and reads the audit log; sees a dreamer's data only when granted.
``operator``
    creates sessions, adds members, watches granted dreamers and sends them messages.
``observer``
    watches granted dreamers in sessions they belong to, read-only.
``dreamer``
    runs a rig; their data is visible only to the sessions/people they granted.

A dreamer's data (signals, stages, events, messages) in a session is visible to a user when the user
is that dreamer, or the dreamer granted the whole session (``grantee`` empty) and the user is a member,
or the dreamer granted that user personally and the user is a member.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dreamlink.errors import ConfigError
from dreamlink.server.db import Database, now

ROLES: tuple[str, ...] = ("admin", "operator", "observer", "dreamer")
SESSION_ROLES: tuple[str, ...] = ("operator", "observer", "dreamer")
#: Failed logins allowed per user name (and per address) inside the window.
MAX_FAILURES = 5
#: Throttling window in seconds.
THROTTLE_WINDOW_SEC = 300.0
#: Default token lifetime in seconds (12 h: one night).
TOKEN_TTL_SEC = 12 * 3600.0
COOKIE_NAME = "dreamlink_token"

_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    """An authenticated account."""

    id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        """Whether the user has the admin role."""
        return self.role == "admin"


class AuthError(Exception):
    """Authentication or authorisation failed; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise ConfigError(f"invalid user name {name!r}: use 1-64 letters, digits, '-', '_' or '.'")
    return name


def create_user(db: Database, name: str, role: str, password: str) -> User:
    """Create an account.

    Raises
    ------
    ConfigError
        Unknown role, invalid or taken name, or a password shorter than 8 characters.
    """
    name = _check_name(name)
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    if len(password) < 8:
        raise ConfigError("password too short: use at least 8 characters")
    if db.one("SELECT 1 FROM users WHERE name = ?", (name,)):
        raise ConfigError(f"user {name!r} already exists; pick another name")
    cur = db.execute(
        "INSERT INTO users (name, role, pw_hash, created) VALUES (?, ?, ?, ?)",
        (name, role, _hasher.hash(password), now()),
    )
    return User(int(cur.lastrowid), name, role)


def get_user(db: Database, name: str) -> User | None:
    """The account called ``name``, or ``None``."""
    row = db.one("SELECT id, name, role FROM users WHERE name = ?", (name,))
    return User(row["id"], row["name"], row["role"]) if row else None


def user_by_id(db: Database, user_id: int) -> User | None:
    """The account with id ``user_id``, or ``None``."""
    row = db.one("SELECT id, name, role FROM users WHERE id = ?", (user_id,))
    return User(row["id"], row["name"], row["role"]) if row else None


def _throttle_check(db: Database, name: str, ip: str) -> None:
    since = now() - THROTTLE_WINDOW_SEC
    for column, key in (("user_name", name), ("ip", ip)):
        row = db.one(
            f"SELECT COUNT(*) AS n, MIN(ts) AS first FROM login_failures WHERE {column} = ? AND ts > ?",
            (key, since),
        )
        if row["n"] >= MAX_FAILURES:
            retry = row["first"] + THROTTLE_WINDOW_SEC - now()
            raise AuthError(429, "too many failed logins; wait and try again", retry_after=max(1.0, retry))


def authenticate(db: Database, name: str, password: str, ip: str = "?") -> User:
    """Check a name and password, with throttling.

    Raises
    ------
    AuthError
        401 for a wrong name or password (the same message for both), 429 when throttled.
    """
    _throttle_check(db, name, ip)
    row = db.one("SELECT id, name, role, pw_hash FROM users WHERE name = ?", (name,))
    ok = False
    if row is not None:
        try:
            ok = _hasher.verify(row["pw_hash"], password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    else:
        # Spend comparable time on unknown names so they cannot be told apart by timing.
        with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
            _hasher.verify(_DUMMY_HASH, password)
    if not ok:
        db.execute("INSERT INTO login_failures (user_name, ip, ts) VALUES (?, ?, ?)", (name, ip, now()))
        raise AuthError(401, "wrong user name or password")
    if _hasher.check_needs_rehash(row["pw_hash"]):
        db.execute("UPDATE users SET pw_hash = ? WHERE id = ?", (_hasher.hash(password), row["id"]))
    return User(row["id"], row["name"], row["role"])


_DUMMY_HASH = _hasher.hash("dreamlink-dummy-password")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db: Database, user: User, ttl: float = TOKEN_TTL_SEC) -> tuple[str, float]:
    """Create a session token for ``user``; returns ``(token, expires)`` (POSIX seconds)."""
    token = secrets.token_urlsafe(32)
    expires = now() + ttl
    db.execute(
        "INSERT INTO tokens (token_hash, user_id, created, expires) VALUES (?, ?, ?, ?)",
        (_hash_token(token), user.id, now(), expires),
    )
    return token, expires


def revoke_token(db: Database, token: str) -> None:
    """Invalidate a token (logout)."""
    db.execute("UPDATE tokens SET revoked = 1 WHERE token_hash = ?", (_hash_token(token),))


def user_for_token(db: Database, token: str | None) -> User:
    """The user a token belongs to.

    Raises
    ------
    AuthError
        401 when the token is missing, unknown, revoked or expired.
    """
    if not token:
        raise AuthError(401, "authentication required: log in and send 'Authorization: Bearer TOKEN'")
    row = db.one(
        "SELECT u.id, u.name, u.role, t.expires, t.revoked FROM tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = ?",
        (_hash_token(token),),
    )
    if row is None or row["revoked"]:
        raise AuthError(401, "invalid token: log in again")
    if row["expires"] <= now():
        raise AuthError(401, "token expired: log in again")
    return User(row["id"], row["name"], row["role"])


# -- sessions, membership, grants -------------------------------------------------------------
def membership(db: Database, session_id: str, user: User) -> str | None:
    """The user's role in a session (``operator``/``observer``/``dreamer``), or ``None``."""
    row = db.one("SELECT role FROM members WHERE session_id = ? AND user_id = ?", (session_id, user.id))
    return row["role"] if row else None


def require_member(db: Database, session_id: str, user: User, roles: tuple[str, ...] = SESSION_ROLES) -> str:
    """Role of ``user`` in the session, refusing non-members and members of other roles.

    Admins count as operators of every session for management (not for dreamer data).

    Raises
    ------
    AuthError
        404 when the session does not exist, 403 when the user may not act on it.
    """
    if db.one("SELECT 1 FROM sessions WHERE id = ?", (session_id,)) is None:
        raise AuthError(404, f"no session {session_id!r}")
    role = membership(db, session_id, user)
    if role is None and user.is_admin:
        role = "operator"
    if role is None or role not in roles:
        raise AuthError(403, f"not allowed in session {session_id!r} (needs role: {', '.join(roles)})")
    return role


def can_see_dreamer(db: Database, session_id: str, dreamer: str, user: User) -> bool:
    """Whether ``user`` may see ``dreamer``'s data in ``session_id`` (see module docstring)."""
    if user.name == dreamer:
        return True
    if membership(db, session_id, user) is None:
        return False
    row = db.one(
        "SELECT 1 FROM grants g JOIN users d ON d.id = g.dreamer_id "
        "WHERE g.session_id = ? AND d.name = ? AND (g.grantee_id IS NULL OR g.grantee_id = ?)",
        (session_id, dreamer, user.id),
    )
    return row is not None


def visible_dreamers(db: Database, session_id: str, user: User) -> set[str]:
    """Names of the session's dreamers whose data ``user`` may see."""
    names = {
        r["name"]
        for r in db.all(
            "SELECT u.name FROM members m JOIN users u ON u.id = m.user_id "
            "WHERE m.session_id = ? AND m.role = 'dreamer'",
            (session_id,),
        )
    }
    return {n for n in names if can_see_dreamer(db, session_id, n, user)}
