"""Topics of event classes, including the names under which moved classes were stored.

An event is stored with its class's topic (`module:Class.Event`). When a module moves, its old
events keep the old topic: eventsourcing resolves it once the old name is registered, and every
query that filters stored events by topic must ask for the old names as well, or it silently
misses the events written before the move.
"""

from __future__ import annotations

from types import ModuleType

from eventsourcing.utils import get_topic, register_topic

_OLD_NAMES: dict[str, list[str]] = {}


def register_moved_module(old_name: str, module: ModuleType) -> None:
    """Resolve topics of `old_name` to `module`, and include them in `stored_topics`."""
    register_topic(old_name, module)
    names = _OLD_NAMES.setdefault(module.__name__, [])
    if old_name not in names:
        names.append(old_name)


def stored_topics(*classes: type) -> list[str]:
    """Every topic under which events of these classes may be stored: today's, then old ones."""
    topics: list[str] = []
    for cls in classes:
        topic = get_topic(cls)
        module, _, path = topic.partition(":")
        topics += [topic, *(f"{old}:{path}" for old in _OLD_NAMES.get(module, []))]
    return topics
