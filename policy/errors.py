"""Domain errors: one hierarchy, caught at one boundary and turned into a message on the card."""


class PolicyError(Exception):
    """Base of every error the domain raises on purpose."""


class NotAllowed(PolicyError):
    """The actor does not hold a role that may do this (checked on the server, every time)."""

    def __init__(self, action: str, reason: str = "") -> None:
        super().__init__(f"not allowed: {action}" + (f" ({reason})" if reason else ""))
        self.action = action
        self.reason = reason


class InvalidSubmission(PolicyError):
    """A card submission failed validation. ``problems`` maps a field id to a plain message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)
