"""Reading and retrying aggregates over eventsourcing's `Application`: what every museum service
(`MuseumLedger` and the services built on it) shares, apart from the museum's own commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import Notification

from ledger.errors import NotFound
from ledger.retrying import run_retried
from ledger.topics import stored_topics

AggregateT = TypeVar("AggregateT", bound=Aggregate)
T = TypeVar("T")


class MuseumApplication(Application[UUID]):
    """Get-or-none, get-or-NotFound, events by class across stored topics, and the retried
    get → command → save."""

    # A command that loses the race for an aggregate's next version is run again from a fresh
    # get, this many tries in all, with a jittered exponential pause (seconds) between tries.
    # Measured: four processes toggling consent on one donation lost at most 6 tries in a row
    # (a loser competes with winners that go straight on); the pauses grow until they yield.
    command_attempts = 16
    retry_pause = 0.02
    retry_pause_max = 1.0
    lost_races = 0  # races this instance lost and retried: a figure for tests and benches

    def ids_with_topic(self, event_class: type) -> list[UUID]:
        """Originator ids of every event of one class (under any topic it was stored with), in log
        order, read page by page."""
        return [UUID(str(n.originator_id)) for n in self._notifications_with_topic(event_class)]

    def events_with_topic(self, event_class: type) -> Iterator[DomainEvent]:
        """Every event of one class, decoded, in log order: one read per page of 1000, where
        getting each aggregate would cost a read per event."""
        for notification in self._notifications_with_topic(event_class):
            domain_event = self.mapper.to_domain_event(notification)
            if isinstance(domain_event, DomainEvent):
                yield domain_event

    def _notifications_with_topic(self, event_class: type) -> Iterator[Notification]:
        topics = stored_topics(event_class)
        start: int | None = None
        while page := self.recorder.select_notifications(
            start, 1000, topics=topics, inclusive_of_start=start is None
        ):
            yield from page
            start = page[-1].id

    def retry(self, command: Callable[[], T], what: str) -> T:
        """Run a get → command → save closure, again from a fresh get while a concurrent writer
        takes the version it was saving, then `Conflict` (`ledger.retrying.run_retried`)."""

        def count() -> None:
            self.lost_races += 1

        return run_retried(
            command,
            what,
            attempts=self.command_attempts,
            pause=self.retry_pause,
            pause_max=self.retry_pause_max,
            on_lost_race=count,
        )

    def _domain_events(self, aggregate_id: UUID) -> Iterator[DomainEvent]:
        for domain_event in self.events.get(aggregate_id):
            if isinstance(domain_event, DomainEvent):
                yield domain_event

    def find(self, aggregate_id: UUID, kind: type[AggregateT]) -> AggregateT | None:
        """The aggregate of that id and kind, or None: for get-or-create and idempotent retries."""
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def get_aggregate(self, aggregate_id: UUID, kind: type[AggregateT], what: str) -> AggregateT:
        """The aggregate of that id and kind, or NotFound naming what was asked for."""
        aggregate = self.find(aggregate_id, kind)
        if aggregate is None:
            raise NotFound(f"no {what} {aggregate_id}")
        return aggregate
