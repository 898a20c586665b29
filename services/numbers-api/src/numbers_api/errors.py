"""The errors numbers-api raises on purpose, each a `talkifai_common.errors` kind.

Hierarchy (the kind in brackets; `install_error_handlers` at the HTTP edge maps kinds to status
codes and puts the message in the problem's `detail`):
    TalkifaiError
    ├── ValidationFailed        [422] a field breaks a rule, naming the field
    │   └── TextAgentRefused    a text-only agent put on a phone number
    ├── NotFound                [404] nothing by that id in the caller's organization
    │   ├── AgentNotFound
    │   └── PhoneNumberNotFound
    └── Conflict                [409] the change collides with stored state
        ├── AlreadyRegistered   the E.164 number belongs to an organization already
        └── AgentInUse          phone numbers still rely on the agent

The postgres adapter raises `AlreadyRegistered` for a unique violation on the number, so no
handler sees a driver error.
"""

from __future__ import annotations

from collections.abc import Iterable

from talkifai_common.errors import Conflict, FieldError, NotFound, ValidationFailed

TEXT_AGENT_REFUSED = "Agent is a text-only agent and cannot make voice calls"


class TextAgentRefused(ValidationFailed):
    """A text-only agent cannot be assigned to a phone number."""

    def __init__(self, field_name: str) -> None:
        super().__init__(TEXT_AGENT_REFUSED, [FieldError(field_name, TEXT_AGENT_REFUSED)])


class AgentNotFound(NotFound):
    """No such agent in the caller's organization."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"Agent {agent_id} not found")
        self.agent_id = agent_id


class PhoneNumberNotFound(NotFound):
    """No such phone number (by id or E.164) in the caller's organization."""

    def __init__(self, number: str) -> None:
        super().__init__(f"Phone number {number} not found")
        self.number = number


class AlreadyRegistered(Conflict):
    """The E.164 number is registered already, by this or another organization."""

    def __init__(self, phone_number: str) -> None:
        super().__init__(f"Phone number {phone_number} is already registered")
        self.phone_number = phone_number


class AgentInUse(Conflict):
    """Phone numbers still rely on the agent; `action` says what the caller must do."""

    def __init__(self, action: str, numbers: Iterable[str]) -> None:
        self.numbers = sorted(numbers)
        super().__init__(f"Agent is assigned to phone numbers {', '.join(self.numbers)}; {action}")
