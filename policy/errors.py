"""Domain errors: one hierarchy, caught at one boundary and turned into a message on the card."""


class PolicyError(Exception):
    """Base of every error the domain raises on purpose.

    The message is for the person who clicked (it may name people, or repeat what they
    chose). ``code`` is what the audit log records: a fixed phrase naming the rule, never a
    name or anything the client sent.
    """

    code: str = "not allowed by the rules"

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code


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
