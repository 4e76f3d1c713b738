"""Signpost's RabbitMQ event broker: Rasa's own, plus one message per turn instead of one per event.

Use it by name in an endpoints file, with the same settings as Rasa's ``pika`` broker::

    event_broker:
      type: bot.event_broker.TurnPikaEventBroker
      url: amqp://127.0.0.1:5672/
      queues: [signpost-outcomes]

Why: a turn adds 5-15 events (the message, slots, actions, replies). Rasa publishes each as a
message of its own, and each costs the Rasa server a copy of the event, a log record and a publish
awaiting RabbitMQ's confirmation; RabbitMQ a delivery; the outcomes consumer a delivery to decode
and acknowledge. Under 50 people that was about a fifth of all the CPU a turn took
(docs/performance.md). SignpostTrackerStore calls :meth:`TurnPikaEventBroker.publish_turn`, which
sends the turn's events as one message: a JSON array of the same event objects Rasa would send one
by one, in order. Nothing else changes: the same exchange, queues, persistence and reconnection;
:meth:`publish` still sends a single event the Rasa way, and the outcomes consumer reads both.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List, Optional, Text

import aio_pika
from rasa.core.brokers.pika import PikaEventBroker

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/json"


class TurnPikaEventBroker(PikaEventBroker):
    """Rasa's PikaEventBroker that can also publish a whole turn's events as one message."""

    def publish_turn(self, events: List[Dict[Text, Any]], headers: Optional[Dict[Text, Text]] = None) -> None:
        """Publish these events, in order, as one message (a JSON array); in the background, as Rasa does."""
        if not events:
            return
        task: asyncio.Task = self._loop.create_task(self._publish_turn(list(events), headers))
        self._background_tasks.add(task)  # a reference, so the task is not collected before it runs
        task.add_done_callback(self._background_tasks.discard)

    async def _publish_turn(self, events: List[Dict[Text, Any]], headers: Optional[Dict[Text, Text]]) -> None:
        if self._exchange is None:  # not connected yet: keep them for the (re)connection, not lose them
            self._keep(events, "not connected to RabbitMQ yet")
            return
        message = aio_pika.Message(json.dumps(events).encode("utf-8"), headers=headers,
                                   content_type=CONTENT_TYPE, app_id=self.rasa_environment,
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        try:
            await self._exchange.publish(message, "")
        except Exception as exc:
            self._keep(events, f"{type(exc).__name__}: {exc}")
            if self.raise_on_failure:
                await self.close()
                raise

    def _keep(self, events: List[Dict[Text, Any]], why: str) -> None:
        if self.should_keep_unpublished_messages:
            # Rasa republishes these one by one when the connection comes back (_publish_unpublished_messages)
            self._unpublished_events.extend(events)
            logger.error("Could not publish %d event(s) (%s); kept to publish on reconnection", len(events), why)
        else:
            logger.error("Could not publish %d event(s) (%s); dropped", len(events), why)


__all__ = ["TurnPikaEventBroker", "CONTENT_TYPE"]
