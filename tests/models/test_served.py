"""The served-model client against a real HTTP server on loopback speaking the OpenAI protocol:
answers in order, bounded concurrency, retries on 429 / 5xx / timeouts, the on-disk cache, and
secrets kept where they belong (key variables, clear-text hosts, cross-origin redirects)."""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import ConfigError, ServiceError
from keel.models import ChatRequest, Sampling, ServedModel
from keel.models.served import request_keys
from openai_server import FakeOpenAI, last_user_text, serve


@pytest.fixture
def server() -> Any:
    with serve() as fake:
        yield fake


def client(server: FakeOpenAI, **kw: Any) -> ServedModel:
    return ServedModel(server.base_url, "test-model", backoff=0.01, **kw)


def test_answers_come_back_in_order(server: FakeOpenAI) -> None:
    prompts = [f"prompt {i}" for i in range(40)]
    done: list[int] = []
    assert client(server, concurrency=4).generate(prompts, on_done=done.append) == prompts
    assert server.calls == 40
    assert done[-1] == 40 and done == sorted(done)


def test_request_carries_model_messages_and_sampling(server: FakeOpenAI) -> None:
    sampling = Sampling(temperature=0.3, max_tokens=20, top_p=0.9, stop=("\n",))
    client(server).generate(["hello"], sampling=sampling, system="be brief")
    body = server.bodies[0]
    assert body["model"] == "test-model"
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    ]
    assert (body["temperature"], body["max_tokens"], body["top_p"], body["stop"]) == (
        0.3, 20, 0.9, ["\n"])  # fmt: skip


def test_concurrency_is_bounded_and_used() -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow_echo(body: dict[str, Any]) -> str:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.03)
        with lock:
            state["now"] -= 1
        return last_user_text(body)

    with serve(slow_echo) as fake:
        client(fake, concurrency=3).generate([str(i) for i in range(24)])
    assert state["max"] == 3


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_status_is_retried(server: FakeOpenAI, status: int) -> None:
    server.faults.extend([status, status])
    assert client(server).generate(["x"]) == ["x"]
    assert server.calls == 3


def test_timeout_is_retried(server: FakeOpenAI) -> None:
    server.faults.append("slow")
    server.slow_seconds = 2.0
    start = time.perf_counter()
    assert client(server, timeout=0.3).generate(["late"]) == ["late"]
    assert server.calls == 2
    assert time.perf_counter() - start < 1.5


def test_gives_up_after_retries_and_says_so(server: FakeOpenAI) -> None:
    server.faults.extend([500] * 3)
    with pytest.raises(
        ServiceError, match=r"failed 3 times.*InternalServerError.*re-run to resume"
    ):
        client(server, retries=2).generate(["x"])
    assert server.calls == 3


def test_client_error_is_not_retried(server: FakeOpenAI) -> None:
    server.faults.append(400)
    with pytest.raises(ConfigError, match=r"answered 400 for model 'test-model'.*OPENAI_API_KEY"):
        client(server).generate(["x"])
    assert server.calls == 1


def test_cache_makes_reruns_free_and_keeps_repeats_distinct(tmp_path: Path) -> None:
    counter = itertools.count()
    cache = tmp_path / "answers.sqlite"
    with serve(lambda body: f"{last_user_text(body)} #{next(counter)}") as fake:
        prompts = ["a", "b", "a", "a"]
        first = client(fake, cache=cache).generate(prompts)
        assert len(set(first)) == 4
        assert client(fake, cache=cache).generate(prompts) == first
        assert fake.calls == 4
        again = client(fake, cache=cache).complete([ChatRequest.of(p) for p in [*prompts, "a"]])
        assert [c.text for c in again[:4]] == first
        assert [c.cached for c in again] == [True] * 4 + [False]
        assert fake.calls == 5


def test_seed_is_offset_for_repeated_requests(server: FakeOpenAI) -> None:
    client(server).generate(["p", "p", "q"], sampling=Sampling(seed=7))
    seeds = sorted((b["messages"][-1]["content"], b["seed"]) for b in server.bodies)
    assert seeds == [("p", 7), ("p", 8), ("q", 7)]


def test_runs_inside_a_running_event_loop(server: FakeOpenAI) -> None:
    async def caller() -> list[str]:
        return client(server).generate(["inside"])

    assert asyncio.run(caller()) == ["inside"]


def test_missing_sdk_names_the_extra(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ConfigError, match=r"keel\[llm\]"):
        client(server).generate(["x"])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"base_url": "localhost:8000"}, "must start with http"),
        ({"model": ""}, "needs a model name"),
        ({"concurrency": 0}, "concurrency >= 1"),
    ],
)
def test_bad_settings_are_config_errors(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ServedModel(**{"base_url": "http://127.0.0.1:1/v1", "model": "m", **kw})


@given(st.lists(st.sampled_from(["a", "b", "c"]), max_size=12), st.floats(0, 2))
def test_request_keys_are_unique_and_stable(prompts: list[str], temperature: float) -> None:
    reqs = [ChatRequest.of(p, sampling=Sampling(temperature=temperature)) for p in prompts]
    keys = [k for k, _ in request_keys(reqs, "m", "http://a/v1")]
    assert len(set(keys)) == len(keys)
    assert keys == [k for k, _ in request_keys(list(reqs), "m", "http://a/v1")]
    assert keys[: len(keys) // 2] == [
        k for k, _ in request_keys(reqs[: len(keys) // 2], "m", "http://a/v1")
    ]


def test_two_servers_never_share_cached_answers() -> None:
    reqs = [ChatRequest.of("same prompt")]
    here = request_keys(reqs, "model", "http://127.0.0.1:8000/v1")
    there = request_keys(reqs, "model", "http://127.0.0.1:9000/v1")
    assert here[0][1] == there[0][1]
    assert here[0][0] != there[0][0]


def test_key_from_an_allowed_variable_is_sent_as_bearer(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_API_KEY", "sk-keel")
    client(server, api_key_env="KEEL_API_KEY").generate(["x"])
    assert server.headers[0]["authorization"] == "Bearer sk-keel"


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "HOME", "openai_api_key", "API_KEY"])
def test_only_api_key_variables_are_read(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "a secret")
    with pytest.raises(ConfigError, match=r"ends in _API_KEY.*not '" + name):
        client(server, api_key_env=name).generate(["x"])
    assert server.calls == 0


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000/v1", "http://judge.invalid/v1"])
def test_no_key_in_clear_text_to_another_host(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    with pytest.raises(ConfigError, match=r"clear text.*--allow-insecure"):
        ServedModel(url, "m")


@pytest.mark.parametrize(
    ("url", "key", "allow_insecure"),
    [
        ("https://judge.invalid/v1", "sk-secret", False),
        ("http://localhost:8000/v1", "sk-secret", False),
        ("http://127.0.0.2:8000/v1", "sk-secret", False),
        ("http://[::1]:8000/v1", "sk-secret", False),
        ("http://10.0.0.5:8000/v1", "", False),
        ("http://10.0.0.5:8000/v1", "sk-secret", True),
    ],
)
def test_clear_text_is_fine_for_loopback_no_key_or_when_allowed(
    monkeypatch: pytest.MonkeyPatch, url: str, key: str, allow_insecure: bool
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    assert ServedModel(url, "m", allow_insecure=allow_insecure).base_url == url


def test_same_origin_redirect_is_followed(server: FakeOpenAI) -> None:
    server.redirects["/old/v1/chat/completions"] = "/v1/chat/completions"
    moved = ServedModel(server.base_url.removesuffix("/v1") + "/old/v1", "m", backoff=0.01)
    assert moved.generate(["hello"]) == ["hello"]
    assert server.calls == 2


def test_cross_origin_redirect_sends_nothing_there(server: FakeOpenAI) -> None:
    with serve() as elsewhere:
        server.redirects["/v1/chat/completions"] = f"{elsewhere.base_url}/chat/completions"
        with pytest.raises(ConfigError, match=r"redirected a request to .* another origin"):
            client(server).generate(["a record's text"])
        assert elsewhere.calls == 0
    assert server.calls == 1
