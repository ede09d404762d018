"""Who is asking and what they may see, however they proved it (API token or login)."""

from __future__ import annotations

from dataclasses import dataclass

from feedback.errors import Forbidden
from feedback.models import Role


@dataclass(frozen=True)
class Caller:
    """A person or system with a role; department_id limits a department head's reads."""

    name: str
    role: Role
    department_id: int | None = None

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}; you have {self.role}")

    def scope(self) -> int | None:
        """The only department this caller may read, or None for every department."""
        return self.department_id if self.role == Role.DEPARTMENT_HEAD else None

    @property
    def sees_one_department(self) -> bool:
        """Whether this caller's reads are limited to one department (a department head's)."""
        return self.scope() is not None

    def may_see(self, department_id: int | None) -> bool:
        scope = self.scope()
        return scope is None or department_id == scope


# Whoever runs the command line on the server: sees everything, like an admin.
OPERATOR = Caller("operator (command line)", Role.ADMIN)
