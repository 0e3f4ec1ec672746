"""What /healthz shows about deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class OutboxStatus:
    """What /healthz shows about deliveries."""

    pending: int = 0
    oldest_pending_seconds: float = 0.0
    last_failure: str = ""
    delivered: int = 0
    #: Roles nobody holds (seen when a message for them was delivered) -> messages that went
    #: to the role's fallback instead. A role leaves this once someone holds it again.
    unheld_roles: dict[str, int] = field(default_factory=dict)
