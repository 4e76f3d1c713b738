"""`rasa` itself, with a speed-up and a warm-up installed first. Used by scripts/run.py for `rasa run`.

    python scripts/rasa_server.py run --model ... (the same arguments as `rasa`)

The warm-up: a freshly loaded model takes seconds over its first message (TensorFlow builds its
graphs on first use): 6 s here on a quiet machine, over 20 s on a busy one, when the REST channel
gives up on the turn. So before the server opens its port it parses one message and predicts one
next action on a throw-away tracker (nothing is stored or sent to the event broker). A server the
production supervisor restarts is then quick from its first turn.

The speed-up. Why: profiling one turn (bench/profile_turn.py) showed that most of the Rasa server's own time
went into checking the action server's JSON Schema, not the answer. Rasa 3.6 checks every
action server reply with ``jsonschema.validate(reply, schema)``, and with jsonschema 4.17 that call
first re-checks the *schema itself* against the 2020-12 meta-schema: about 50-150 ms each time,
while checking the reply takes about 1 ms. A turn calls the action server 1-6 times (forms call
validate_..._form and action_ask_...), so this was 0.1-1 s of every turn.

The speed-up checks the schema once and reuses the validator. Behaviour is unchanged: the same
schema, the same best-match ValidationError and message for a bad reply (tests/production/
test_speedups.py compares both). It is installed only on the Rasa version it was written for.
"""
from __future__ import annotations

import functools
import logging
import sys
import time
from pathlib import Path
from typing import Any, Dict, Text

ROOT = Path(__file__).resolve().parents[1]
RASA_VERSION = "3.6.21"
logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _action_reply_validator() -> Any:
    """The validator for action server replies, its schema checked once."""
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """RemoteAction._validate_action_result, minus re-checking the schema on every call."""
    from jsonschema import exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    error = exceptions.best_match(_action_reply_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


async def warm_up(agent: Any) -> None:
    """One parse and one prediction, so the first real turn does not pay for building graphs."""
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    processor = agent.processor
    if processor is None:
        return
    parsed = await processor.parse_message(UserMessage("hello", sender_id="signpost-warm-up"))
    tracker = DialogueStateTracker.from_events(
        "signpost-warm-up",
        [ActionExecuted(ACTION_LISTEN_NAME),
         UserUttered("hello", parsed.get("intent"), parsed.get("entities"), parse_data=parsed)],
        slots=agent.domain.slots)
    processor.predict_next_with_tracker(tracker)


def install_warm_up() -> None:
    """Run `warm_up` right after `rasa run` loads the model, before the server listens."""
    import rasa.core.run

    load = rasa.core.run.load_agent_on_start

    @functools.wraps(load)
    async def load_and_warm_up(*args: Any, **kwargs: Any) -> Any:
        agent = await load(*args, **kwargs)
        started = time.monotonic()
        try:
            await warm_up(agent)
        except Exception as exc:  # noqa: BLE001 - a cold server is slower, not broken
            print(f"Warm-up failed ({exc}); the first turn will be slower.", file=sys.stderr, flush=True)
        else:
            print(f"Rasa server warmed up in {time.monotonic() - started:.1f} s.", flush=True)
        return agent

    rasa.core.run.load_agent_on_start = load_and_warm_up


def install_speedups() -> bool:
    """Install the speed-up on Rasa 3.6.21; anything else is left exactly as it is."""
    import rasa
    from rasa.core.actions.action import RemoteAction

    if rasa.__version__ != RASA_VERSION:
        logger.warning("Rasa %s is not %s: running without Signpost's speed-ups", rasa.__version__, RASA_VERSION)
        return False
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[assignment]
    return True


def main() -> int:
    sys.path.insert(0, str(ROOT))
    install_speedups()
    install_warm_up()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
