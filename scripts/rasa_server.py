"""`rasa` itself, with a speed-up and a warm-up installed first. Used by scripts/run.py for `rasa run`.

    python scripts/rasa_server.py run --model ... (the same arguments as `rasa`)

The warm-up: a freshly loaded model takes seconds over its first message (TensorFlow builds its
graphs on first use): 6 s here on a quiet machine, over 20 s on a busy one, when the REST channel
gives up on the turn. So before the server opens its port it parses one message and predicts one
next action on a throw-away tracker (nothing is stored or sent to the event broker). A server the
production supervisor restarts is then quick from its first turn.

The speed-ups. Why: profiling turns (bench/profile_turn.py, `--conversation check-in`) shows where
the Rasa server's own time goes, and four places spent it on work that can be done once:

1. Action server replies. Rasa 3.6 checks every reply with ``jsonschema.validate(reply, schema)``,
   and with jsonschema 4.17 that call first re-checks the *schema itself* against the 2020-12
   meta-schema: 50-150 ms each time, while checking the reply takes about 1 ms, and a turn calls
   the action server 1-6 times. Now the schema is checked once and its validator reused.
2. Reading a conversation. Each stored event is turned back into an object by
   ``Event.resolve_by_type``, which walks every subclass of Event (with ``inspect.isabstract``
   on each) to find the one with that type name: about 0.1 ms per event, 30-80 events a turn,
   the largest part of loading a tracker (4-5 ms of a 50 ms turn). Now the walk's result is kept
   as a name -> class table, walked again only for a name it does not hold.
3. Calling the action server. Rasa opens a new HTTP client session, and so a new connection, for
   every call (1-6 a turn), and closes it after: both servers pay for setting up and tearing down
   each connection. Now one session per event loop keeps its connections open between calls
   (closing an idle one after 2 s, before the action server's own 5 s keep-alive limit).
   In the production profile each Rasa server also has an action server of its own
   (``direct_url`` in the action endpoint, see below), so a call skips the balancer's hop.
4. Classifying a message. scikit-learn's logistic regression multiplies the message's sparse
   features by ``coef_.T``; scipy needs that matrix in C order and copies the whole of it (every
   n-gram x every intent) on each message: about 2 ms a turn. Now ``coef_`` is stored in Fortran
   order once when the model loads, so ``coef_.T`` is already in C order. Same numbers, no copy.
   And one message's features go to the classifier as they are, not first stacked beside an
   empty block of dense features and then on top of nothing (two scipy constructions a turn that
   give the same matrix).

Behaviour is unchanged: the same schema, error and message for a bad reply; the same class for
every event name, the same error for an unknown one; the same request, reply and error for an
HTTP call; the same intent confidences
(tests/production/test_speedups.py compares each with stock Rasa). They are installed only on the
Rasa version they were written for.
"""
from __future__ import annotations

import functools
import gc
import logging
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Text

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


_EVENT_TYPES: Dict[Text, Any] = {}


def _resolve_by_type(type_name: Text, default: Optional[Any] = None) -> Optional[Any]:
    """Event.resolve_by_type from a table of names, rebuilt only for a name it does not hold."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    found = _EVENT_TYPES.get(type_name)
    if found is None:
        table: Dict[Text, Any] = {}
        for cls in all_subclasses(Event):  # the first subclass with a name wins, as in stock Rasa
            table.setdefault(cls.type_name, cls)
        _EVENT_TYPES.clear()
        _EVENT_TYPES.update(table)
        found = table.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # as stock Rasa: old TopicSet events are ignored
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def _load_classifier_in_fortran_order(load: Any) -> Any:
    """LogisticRegressionClassifier.load, then its coefficients stored in Fortran order (same values)."""

    @functools.wraps(load)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        import numpy as np

        component = load(*args, **kwargs)
        clf = getattr(component, "clf", None)
        if clf is not None and getattr(clf, "coef_", None) is not None:
            clf.coef_ = np.asfortranarray(clf.coef_)
        return component

    wrapped.signpost_speedup = True  # type: ignore[attr-defined]
    return wrapped


def _create_x(stock: Any) -> Any:
    """LogisticRegressionClassifier._create_X: a single message with only sparse features, unstacked."""

    @functools.wraps(stock)
    def create_x(self: Any, messages: Any) -> Any:
        import numpy as np
        from rasa.shared.nlu.constants import TEXT

        if len(messages) == 1:
            sparse = messages[0].get_sparse_features(attribute=TEXT)[1]
            if sparse is not None and messages[0].get_dense_features(attribute=TEXT)[1] is None:
                from scipy.sparse import csr_matrix

                matrix = csr_matrix(sparse.features)  # as stock: CSR, upcast as by its empty float64 block
                return matrix.astype(np.result_type(matrix.dtype, np.float64))
        return stock(self, messages)

    create_x.signpost_speedup = True  # type: ignore[attr-defined]
    return create_x


KEEPALIVE_SECONDS = 2.0  # below Sanic's (the action server's) 5 s, so the client is the one to close
_SESSIONS: Dict[Any, Any] = {}


def _shared_session(config: Any) -> Any:
    """One aiohttp session per event loop and per (headers, basic auth), kept open."""
    import asyncio

    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    auth = (config.basic_auth.get("username"), config.basic_auth.get("password")) if config.basic_auth else None
    key = (tuple(sorted((config.headers or {}).items())), auth)
    kept_loop, session = _SESSIONS.get(key, (None, None))
    if session is None or session.closed or kept_loop is not loop:  # a session belongs to one event loop
        session = aiohttp.ClientSession(
            headers=config.headers, auth=aiohttp.BasicAuth(*auth) if auth else None,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS))
        _SESSIONS[key] = (loop, session)
    return session


async def close_sessions() -> None:
    """Close the kept sessions of the running event loop (when the server stops)."""
    import asyncio

    loop = asyncio.get_running_loop()
    for key, (kept_loop, session) in list(_SESSIONS.items()):
        if kept_loop is loop:
            await session.close()
            del _SESSIONS[key]


DIRECT_PAUSE_SECONDS = 5.0  # after a direct server refused a connection, calls go to `url` this long
_DIRECT_DOWN: Dict[Text, float] = {}  # direct URL -> when it refused a connection (time.monotonic)


def _direct_url(config: Any) -> Optional[Text]:
    """The endpoint's ``direct_url``, unless it refused a connection in the last few seconds."""
    direct = config.kwargs.get("direct_url")  # EndpointConfig keeps the keys it does not know here
    if not direct or direct == config.url:
        return None
    refused = _DIRECT_DOWN.get(direct)
    if refused is not None and time.monotonic() - refused < DIRECT_PAUSE_SECONDS:
        return None
    return direct


async def _request(self: Any, method: Text = "post", subpath: Optional[Text] = None,
                   content_type: Optional[Text] = "application/json", compress: bool = False,
                   **kwargs: Any) -> Optional[Any]:
    """EndpointConfig.request (Rasa 3.6.21), on a kept session instead of a new one per call.

    An endpoint with a ``direct_url`` (the production profile gives each Rasa server an action
    server of its own) is called there first, and at ``url`` (the balancer) when the direct server
    refuses the connection: nothing of the request was sent, so nothing runs twice. It is left alone
    for DIRECT_PAUSE_SECONDS after a refusal (a restart takes longer), then tried again. Stock Rasa
    ignores ``direct_url`` and calls ``url``: the same answer, one hop longer.
    """
    from aiohttp import ClientConnectorError

    direct = _direct_url(self)
    if direct is not None:
        try:
            return await _request_at(self, direct, method, subpath, content_type, compress, dict(kwargs))
        except ClientConnectorError as exc:
            _DIRECT_DOWN[direct] = time.monotonic()
            logger.warning("%s refused the connection (%s); calling %s instead for %.0f s",
                           direct, exc.os_error, self.url, DIRECT_PAUSE_SECONDS)
    return await _request_at(self, self.url, method, subpath, content_type, compress, kwargs)


async def _request_at(self: Any, base_url: Text, method: Text, subpath: Optional[Text],
                      content_type: Optional[Text], compress: bool, kwargs: Dict[Text, Any]) -> Optional[Any]:
    """The body of Rasa's EndpointConfig.request, at `base_url`."""
    import ssl

    from aiohttp.client_exceptions import ContentTypeError
    from rasa.shared.exceptions import FileNotFoundException
    from rasa.utils.endpoints import ClientResponseError, concat_url

    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if "headers" in kwargs:
        headers.update(kwargs["headers"])
        del kwargs["headers"]
    if self.headers:
        headers.update(self.headers)
    url = concat_url(base_url, subpath)
    sslcontext = None
    if self.cafile:
        try:
            sslcontext = ssl.create_default_context(cafile=self.cafile)
        except FileNotFoundError as e:
            raise FileNotFoundException(f"Failed to find certificate file, '{self.cafile}' does not exist.") from e
    async with _shared_session(self).request(method, url, headers=headers, params=self.combine_parameters(kwargs),
                                             compress=compress, ssl=sslcontext, **kwargs) as response:
        if response.status >= 400:
            raise ClientResponseError(response.status, response.reason, await response.content.read())
        try:
            return await response.json()
        except ContentTypeError:
            return None


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


def settle_heap() -> int:
    """Collect once, then move every object alive now out of the garbage collector's view.

    Why: a loaded model leaves about 560,000 objects that live as long as the process, and every
    so often CPython's full collection walks all of them: about 290 ms here, a turn that arrives
    meanwhile simply waits. Under load this was the slowest turns' time (p95 and max). Objects
    made afterwards (conversations, replies) are collected as usual; the model's own are never
    garbage. Returns how many objects were set aside.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


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
        print(f"{settle_heap():,} long-lived objects set aside from garbage collection.", flush=True)
        return agent

    rasa.core.run.load_agent_on_start = load_and_warm_up
    close = rasa.core.run.close_resources

    @functools.wraps(close)
    async def close_resources_and_sessions(*args: Any, **kwargs: Any) -> None:
        try:
            await close(*args, **kwargs)
        finally:
            await close_sessions()

    rasa.core.run.close_resources = close_resources_and_sessions


def install_speedups() -> bool:
    """Install the speed-ups on Rasa 3.6.21; anything else is left exactly as it is."""
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.core.events import Event
    from rasa.utils.endpoints import EndpointConfig

    if rasa.__version__ != RASA_VERSION:
        logger.warning("Rasa %s is not %s: running without Signpost's speed-ups", rasa.__version__, RASA_VERSION)
        return False
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[assignment]
    EndpointConfig.request = _request  # type: ignore[assignment]
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[assignment]
    load = LogisticRegressionClassifier.__dict__["load"].__func__
    if not getattr(load, "signpost_speedup", False):
        LogisticRegressionClassifier.load = classmethod(_load_classifier_in_fortran_order(load))  # type: ignore
    if not getattr(LogisticRegressionClassifier._create_X, "signpost_speedup", False):
        LogisticRegressionClassifier._create_X = _create_x(LogisticRegressionClassifier._create_X)  # type: ignore
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
