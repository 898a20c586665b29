"""numbers-api's use cases: plain async functions over a Store, by aggregate and caller.

Every change writes its CloudEvent in the same transaction, so an event exists exactly when the
change committed. Reads and writes are scoped by the caller's organization, except the internal
ones (`handlers.internal`), which trunk-sync and agent-runtime call with the internal token.
"""

from numbers_api.handlers.agents import (
    create_agent,
    delete_agent,
    get_agent,
    list_agents,
    update_agent,
)
from numbers_api.handlers.checks import check_number, recheck_due
from numbers_api.handlers.internal import (
    internal_agent,
    internal_number,
    list_all_numbers,
    number_for_sync,
    numbers_for_sync,
    record_sync_result,
    rotate_keys,
    trunk_credentials,
)
from numbers_api.handlers.phone_numbers import (
    assign_agents,
    create_number,
    delete_number,
    get_number,
    list_numbers,
    update_number,
)

__all__ = [
    "assign_agents",
    "check_number",
    "create_agent",
    "create_number",
    "delete_agent",
    "delete_number",
    "get_agent",
    "get_number",
    "internal_agent",
    "internal_number",
    "list_agents",
    "list_all_numbers",
    "list_numbers",
    "number_for_sync",
    "numbers_for_sync",
    "recheck_due",
    "record_sync_result",
    "rotate_keys",
    "trunk_credentials",
    "update_agent",
    "update_number",
]
