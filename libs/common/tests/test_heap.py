import gc
import weakref

import pytest

from talkifai_common.heap import freeze_startup_objects

pytestmark = pytest.mark.unit


class _Node:
    def __init__(self) -> None:
        self.peer: _Node | None = None


def test_freezing_keeps_live_objects_out_of_collections_and_frees_garbage_first() -> None:
    gc.unfreeze()
    try:
        live = _Node()
        garbage = _Node()
        garbage.peer = garbage  # a cycle only the collector can free
        garbage_ref = weakref.ref(garbage)
        del garbage
        freeze_startup_objects()
        assert garbage_ref() is None  # collected, not frozen for the life of the process
        assert gc.get_freeze_count() > 0
        assert not any(o is live for o in gc.get_objects())  # out of the collector's sight
    finally:
        gc.unfreeze()
