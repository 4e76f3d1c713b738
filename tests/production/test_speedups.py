"""The speed-ups scripts/rasa_server.py installs in the Rasa server: same answers, less work.

1. Rasa checks each action server reply against a JSON Schema; the speed-up checks the schema once
   instead of on every reply. A good reply must still pass and a bad one fail with the same message.
2. Reading a stored conversation finds each event's class from a table, not a walk of every
   subclass: the same class for every name, the same answer for an unknown one.
3. The intent classifier's coefficients are kept in Fortran order: the same confidences; and one
   message's features reach it unstacked: the same matrix.
(How much time each saves is measured by bench/profile_turn.py, not here.)
"""
from __future__ import annotations

import asyncio

import sys
from pathlib import Path

import pytest
from jsonschema import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import rasa_server  # noqa: E402

GOOD = {"events": [{"event": "slot", "name": "score_financial", "value": 9, "timestamp": None}],
        "responses": [{"text": "(3 of 5) How much...", "buttons": [{"title": "Skip", "payload": "/skip_question"}]}]}
BAD = [
    {"events": [{"event": "slot", "value": 9}], "responses": []},        # a slot event without a name
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
]


@pytest.fixture(scope="module")
def stock():
    from rasa.core.actions.action import RemoteAction

    return RemoteAction("action_test", None)


def message_of(call, reply) -> str:
    with pytest.raises(ValidationError) as caught:
        call(reply)
    return caught.value.message


def test_same_verdicts_and_messages_as_stock_rasa(stock):
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    assert original(stock, GOOD) is True
    assert rasa_server._validate_action_result(stock, GOOD) is True
    for reply in BAD:
        assert message_of(lambda r: rasa_server._validate_action_result(stock, r), reply) == \
            message_of(lambda r: original(stock, r), reply)


def test_the_schema_itself_is_checked_once_not_on_every_reply(stock, monkeypatch):
    from jsonschema import validators

    rasa_server._action_reply_validator.cache_clear()
    checked = []
    real = validators.Draft202012Validator.check_schema
    monkeypatch.setattr(validators.Draft202012Validator, "check_schema",
                        classmethod(lambda cls, schema, **kw: (checked.append(1), real(schema, **kw))[1]))
    for _ in range(5):
        assert rasa_server._validate_action_result(stock, GOOD) is True
    assert len(checked) == 1


async def serve_webhook(handler) -> tuple["object", int]:
    """An aiohttp app answering POST /webhook with `handler` on a free loopback port: (runner, port)."""
    from aiohttp import web

    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


async def test_calls_to_the_action_server_keep_their_connection_and_answer_as_stock_rasa():
    from aiohttp import web
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig

    connections: list[object] = []

    async def webhook(request: web.Request) -> web.Response:
        if request.transport not in connections:
            connections.append(request.transport)
        body = await request.json()
        if body.get("next_action") == "action_broken":
            return web.Response(status=500, text="broken")
        return web.json_response({"events": [], "responses": [{"text": f"ran {body['next_action']}"}],
                                  "token": request.query.get("token")})

    runner, port = await serve_webhook(webhook)
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", token="secret")
        for name in ("action_one", "action_two", "action_three"):
            for request in (rasa_server._request, EndpointConfig.request):  # the speed-up, then stock Rasa
                reply = await request(endpoint, json={"next_action": name}, method="post")
                assert reply == {"events": [], "responses": [{"text": f"ran {name}"}], "token": "secret"}
        assert len(connections) == 1 + 3  # the speed-up's calls share one connection; stock opens one per call
        for request in (rasa_server._request, EndpointConfig.request):
            with pytest.raises(ClientResponseError) as failed:
                await request(endpoint, json={"next_action": "action_broken"}, method="post")
            assert failed.value.status == 500 and failed.value.text == b"broken"
    finally:
        for _, session in list(rasa_server._SESSIONS.values()):
            await session.close()
        await runner.cleanup()


async def test_an_action_server_of_its_own_first_and_the_balancer_when_it_refuses(monkeypatch):
    """direct_url (the production profile's paired action server): called first; when it refuses the
    connection the call goes to url (the balancer), once, and url keeps the calls while it restarts."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    served: list[str] = []

    async def start(name: str) -> tuple[web.AppRunner, int]:
        async def webhook(request: web.Request) -> web.Response:
            served.append(name)
            return web.json_response({"events": [], "responses": [], "by": name})

        return await serve_webhook(webhook)

    own, own_port = await start("own")
    balancer, balancer_port = await start("balancer")
    endpoint = EndpointConfig.from_dict({"url": f"http://127.0.0.1:{balancer_port}/webhook",
                                         "direct_url": f"http://127.0.0.1:{own_port}/webhook"})
    monkeypatch.setattr(rasa_server, "_DIRECT_DOWN", {})
    try:
        for _ in range(3):
            assert (await rasa_server._request(endpoint, json={"next_action": "a"}, method="post"))["by"] == "own"
        assert (await EndpointConfig.request(endpoint, json={}, method="post"))["by"] == "balancer"  # stock Rasa
        await own.cleanup()  # the action server of its own stops: its port refuses connections
        await asyncio.sleep(0.2)  # its kept connection's close reaches the client (a restart takes seconds)
        for _ in range(3):
            assert (await rasa_server._request(endpoint, json={"next_action": "a"}, method="post"))["by"] == "balancer"
        assert served == ["own"] * 3 + ["balancer"] * 4  # nothing sent twice, nothing lost
        direct = endpoint.kwargs["direct_url"]
        paused_at = rasa_server._DIRECT_DOWN[direct] - rasa_server.DIRECT_PAUSE_SECONDS - 1
        rasa_server._DIRECT_DOWN[direct] = paused_at  # the pause is over: the direct server is tried again
        assert (await rasa_server._request(endpoint, json={}, method="post"))["by"] == "balancer"
        assert rasa_server._DIRECT_DOWN[direct] > paused_at  # it still refuses: another pause
    finally:
        for _, session in list(rasa_server._SESSIONS.values()):
            await session.close()
        await balancer.cleanup()


def test_every_event_name_resolves_to_the_same_class_as_stock_rasa():
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    stock_resolve = Event.__dict__["resolve_by_type"].__func__
    if getattr(stock_resolve, "__name__", "") == "_resolve_by_type":  # installed by an earlier test
        pytest.skip("stock resolve_by_type not available in this process")
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "action", "slot", "active_loop", "session_started"} <= names
    for name in names:
        assert rasa_server._resolve_by_type(name) is stock_resolve(name)
    assert rasa_server._resolve_by_type("topic") is None and stock_resolve("topic") is None
    some = next(iter(all_subclasses(Event)))
    assert rasa_server._resolve_by_type("no_such_event", some) is some
    for resolve in (rasa_server._resolve_by_type, stock_resolve):
        with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
            resolve("no_such_event")


def test_an_event_class_defined_later_is_still_found():
    from rasa.shared.core.events import Event, SlotSet

    rasa_server._resolve_by_type("slot")  # the table is built

    class SignpostTestEvent(SlotSet):
        type_name = "signpost_test_event"

    assert rasa_server._resolve_by_type("signpost_test_event") is SignpostTestEvent
    assert Event.from_parameters({"event": "slot", "name": "x", "value": 1}) == SlotSet("x", 1)


def test_the_classifier_gives_the_same_confidences_with_its_coefficients_in_fortran_order():
    import numpy as np
    import scipy.sparse
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(20261207)
    X = scipy.sparse.random(200, 3000, density=0.01, format="csr", random_state=1)
    y = rng.integers(0, 12, size=200)
    clf = LogisticRegression(max_iter=300).fit(X, y)
    before = clf.predict_proba(X[:20])

    class Component:
        def __init__(self) -> None:
            self.clf = clf

    loaded = rasa_server._load_classifier_in_fortran_order(lambda *a, **k: Component())()
    assert loaded.clf.coef_.flags.f_contiguous and loaded.clf.coef_.T.flags.c_contiguous
    assert np.array_equal(loaded.clf.predict_proba(X[:20]), before)


def test_one_message_gives_the_classifier_the_same_matrix_as_stock_rasa():
    import numpy as np
    import scipy.sparse
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    stock = LogisticRegressionClassifier.__dict__["_create_X"]
    stock = getattr(stock, "__wrapped__", stock)  # installed by an earlier test: the original
    fast = rasa_server._create_x(stock)
    for dtype in (np.int64, np.float32, np.float64):  # count vectors are integers, regex features floats
        message = Message(data={"text": "x"})
        sentence = scipy.sparse.random(1, 500, density=0.05, format="coo", random_state=3).astype(dtype)
        message.add_features(Features(sentence, "sentence", "text", "word_counts"))
        message.add_features(Features(scipy.sparse.coo_matrix((4, 500), dtype=dtype), "sequence", "text",
                                      "word_counts"))
        expected, got = stock(None, [message]), fast(None, [message])
        assert (got.format, got.dtype, got.shape) == (expected.format, expected.dtype, expected.shape)
        assert np.array_equal(got.data, expected.data) and np.array_equal(got.indices, expected.indices)
        assert np.array_equal(got.indptr, expected.indptr)
    assert (fast(None, [message, message]) != stock(None, [message, message])).nnz == 0  # several: stock's way


def test_installed_only_on_the_rasa_it_was_written_for(monkeypatch):
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.core.events import Event

    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    monkeypatch.setattr(EndpointConfig, "request", EndpointConfig.request)
    monkeypatch.setattr(LogisticRegressionClassifier, "load", LogisticRegressionClassifier.__dict__["load"])
    monkeypatch.setattr(LogisticRegressionClassifier, "_create_X", LogisticRegressionClassifier._create_X)
    assert rasa_server.install_speedups() is True
    assert LogisticRegressionClassifier._create_X.signpost_speedup is True
    assert RemoteAction._validate_action_result is rasa_server._validate_action_result
    assert Event.resolve_by_type is rasa_server._resolve_by_type
    assert EndpointConfig.request is rasa_server._request
    assert LogisticRegressionClassifier.load.__func__.signpost_speedup is True
    monkeypatch.setattr(RemoteAction, "_validate_action_result", lambda *a: "stock")
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    assert rasa_server.install_speedups() is False
    assert RemoteAction._validate_action_result(None, {}) == "stock"
