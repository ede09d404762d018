"""The demo's two logins for the dashboards: an executive, and the head of the delivery department.

Passwords are random and printed once (only their Argon2id hashes are stored). A login that exists already
is left as it is.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.accounts.users import create_user
from feedback.models import Role, User

DEMO_LOGINS = (
    ("ceo@kestrel-home.example", "Casey Executive", Role.EXECUTIVE, None),
    ("delivery-head@kestrel-home.example", "Dana Delivery", Role.DEPARTMENT_HEAD, "delivery"),
)


def create_demo_logins(session: Session, base_url: str) -> str:
    """Create the demo's logins that are missing; what to print (passwords only for new logins)."""
    lines = [f"Dashboards: {base_url.rstrip('/')}/dashboards  (sign in as)"]
    for email, name, role, department in DEMO_LOGINS:
        role_text = f"{role.replace('_', ' ')}{f' of {department}' if department else ''}"
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            lines.append(
                f"  {role_text}: {email} (exists already; its password was printed when it was made)"
            )
            continue
        password = secrets.token_urlsafe(12)
        create_user(session, email, name, password, role, department)
        lines.append(f"  {role_text}: {email}  password: {password}  (shown only this once)")
    return "\n".join(lines)
