"""Any served model behind an OpenAI-compatible chat-completions API (vLLM, llama.cpp server,
Ollama, OpenAI), through the `openai` SDK (the `[llm]` extra).

Requests run concurrently (at most `concurrency` in flight, an asyncio semaphore), each with a
timeout, and are retried with exponential backoff and full jitter (a delay drawn uniformly from
[0, backoff · 2^attempt], at least the server's Retry-After) on 408, 429, 5xx, timeouts and
dropped connections. Answers are cached on disk in one SQLite file: the key is the SHA-256 of
the RFC 8785 canonical JSON of {"server": base URL, "request": body, "draw": k}, where body is
the exact JSON sent (model, messages, sampling parameters) and k counts identical requests
earlier in the same call, so that asking for ten samples of one prompt gives ten answers, and
a re-run or a resumed loop gets the same ten back without calling the server. The server is
in the key because two servers may serve different weights under one model name.

Secrets stay with the server they are meant for (`endpoint_key`): the key is read only from a
variable whose name ends in `_API_KEY`, is never sent in clear text (http://) to a host other
than loopback unless the caller allows it, and no request follows a redirect to another origin
(scheme, host and port), so neither the key nor the prompt reaches a server nobody named.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import orjson

from keel.errors import ConfigError, KeelError, ServiceError
from keel.models.endpoint import DEFAULT_KEY_ENV, endpoint_key, origin
from keel.records import JSON, canonical, sha256_hex

if TYPE_CHECKING:
    from openai import AsyncOpenAI

Role = Literal["system", "user", "assistant"]
NO_KEY = "not-needed"
"""Sent when the key's environment variable is unset: local servers ignore it, the SDK needs one."""
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUS = frozenset({408, 409, 429})


def openai_sdk() -> ModuleType:
    """The `openai` module, or a ConfigError naming the extra that installs it."""
    try:
        import openai
    except ImportError as exc:
        raise ConfigError(
            "served models need the openai SDK: pip install 'keel[llm]' (or pip install openai)"
        ) from exc
    return openai


def same_origin_only(base_url: str) -> Callable[[Any], Awaitable[None]]:
    """An httpx request hook that refuses a request to any origin but `base_url`'s. httpx calls
    it before each request it sends, redirects included: a redirect within the server is
    followed, one to another origin stops before the prompt or the key is sent there."""
    home = origin(base_url)

    async def check(request: Any) -> None:
        url = str(request.url)
        if origin(url) != home:
            raise ConfigError(
                f"{base_url} redirected a request to {url}, another origin (scheme, host, "
                "port): keel does not follow it, so the prompt and the key stay where you sent "
                "them. If that server is the one you mean, give its URL as --llm (base_url in a "
                "loop file)"
            )

    return check


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling parameters sent with each request (None: the server's default)."""

    temperature: float | None = 1.0
    max_tokens: int | None = 256
    top_p: float | None = None
    seed: int | None = None
    """With a seed, the k-th identical request of a call is sent seed + k (distinct draws)."""
    stop: tuple[str, ...] = ()

    def to_json(self, draw: int = 0) -> dict[str, JSON]:
        out: dict[str, JSON] = {}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        if self.top_p is not None:
            out["top_p"] = self.top_p
        if self.seed is not None:
            out["seed"] = self.seed + draw
        if self.stop:
            out["stop"] = list(self.stop)
        return out


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat-completions request: the messages, in order, and the sampling parameters."""

    messages: tuple[tuple[Role, str], ...]
    sampling: Sampling = field(default_factory=Sampling)

    @classmethod
    def of(
        cls, prompt: str, *, system: str | None = None, sampling: Sampling | None = None
    ) -> ChatRequest:
        """A user prompt, after an optional system message."""
        msgs: tuple[tuple[Role, str], ...] = (("system", system),) if system is not None else ()
        return cls((*msgs, ("user", prompt)), sampling or Sampling())

    def body(self, model: str, draw: int = 0) -> dict[str, JSON]:
        """The JSON body sent to /chat/completions."""
        messages: list[JSON] = [{"role": r, "content": c} for r, c in self.messages]
        return {"model": model, "messages": messages, **self.sampling.to_json(draw)}


@dataclass(frozen=True, slots=True)
class Completion:
    """The first choice of an answer: its text, why it stopped, whether it came from the cache."""

    text: str
    finish_reason: str | None
    cached: bool = False


class ResponseCache:
    """Answers by request key in one SQLite file (WAL); each answer is committed as it arrives."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, answer BLOB NOT NULL)"
        )

    def get_many(self, keys: Sequence[str]) -> dict[str, Completion]:
        found: dict[str, Completion] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT key, answer FROM responses WHERE key IN ({marks})", part
            )
            for key, answer in rows:
                obj = orjson.loads(answer)
                found[key] = Completion(obj["text"], obj["finish_reason"], cached=True)
        return found

    def put(self, key: str, completion: Completion) -> None:
        answer = orjson.dumps({"text": completion.text, "finish_reason": completion.finish_reason})
        self.conn.execute(
            "INSERT OR REPLACE INTO responses (key, answer) VALUES (?, ?)", (key, answer)
        )

    def close(self) -> None:
        self.conn.close()


def request_keys(
    requests: Sequence[ChatRequest], model: str, server: str
) -> list[tuple[str, dict[str, JSON]]]:
    """Each request's cache key and body; identical requests get successive draws (module doc)."""
    seen: dict[ChatRequest, int] = {}
    out: list[tuple[str, dict[str, JSON]]] = []
    for req in requests:
        draw = seen.get(req, 0)
        seen[req] = draw + 1
        body = req.body(model, draw)
        key = sha256_hex(canonical({"server": server, "request": body, "draw": draw}))
        out.append((key, body))
    return out


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A model served behind an OpenAI-compatible API; the key is read from `api_key_env`
    (checked by `endpoint_key` on construction and before each call)."""

    base_url: str
    model: str
    api_key_env: str = DEFAULT_KEY_ENV
    concurrency: int = 16
    timeout: float = 60.0
    """Seconds per request attempt."""
    retries: int = 4
    backoff: float = 0.5
    """Seconds: the first retry waits up to this long, each next one up to twice as long."""
    cache: Path | None = None
    """SQLite file of cached answers (None: no cache)."""
    allow_insecure: bool = False
    """Send the key over plain http:// to a host other than loopback."""

    def __post_init__(self) -> None:
        endpoint_key(self.base_url, self.api_key_env, allow_insecure=self.allow_insecure)
        if not self.model:
            raise ConfigError("a served model needs a model name (--model)")
        if self.concurrency < 1 or self.retries < 0 or self.timeout <= 0 or self.backoff < 0:
            raise ConfigError(
                f"need concurrency >= 1, retries >= 0, timeout > 0 and backoff >= 0; got "
                f"{self.concurrency}, {self.retries}, {self.timeout}, {self.backoff}"
            )

    def generate(
        self,
        prompts: Sequence[str],
        *,
        sampling: Sampling | None = None,
        system: str | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> list[str]:
        """One answer per prompt (repeat a prompt for several samples of it)."""
        reqs = [ChatRequest.of(p, system=system, sampling=sampling) for p in prompts]
        return [c.text for c in self.complete(reqs, on_done=on_done)]

    def complete(
        self, requests: Sequence[ChatRequest], *, on_done: Callable[[int], None] | None = None
    ) -> list[Completion]:
        """Answers to `requests` in order, from the cache or the server; `on_done(n)` after
        each one. Runs its own event loop (in a worker thread if one is already running)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.acomplete(requests, on_done=on_done))
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self.acomplete(requests, on_done=on_done)).result()

    async def acomplete(
        self, requests: Sequence[ChatRequest], *, on_done: Callable[[int], None] | None = None
    ) -> list[Completion]:
        """`complete` for async callers."""
        keyed = request_keys(requests, self.model, self.base_url)
        cache = ResponseCache(self.cache) if self.cache is not None else None
        try:
            found = cache.get_many([k for k, _ in keyed]) if cache is not None else {}
            results: list[Completion | None] = [found.get(k) for k, _ in keyed]
            done = len(requests) - results.count(None)
            if on_done is not None and done:
                on_done(done)
            todo = [i for i, r in enumerate(results) if r is None]
            if todo:
                key = endpoint_key(
                    self.base_url, self.api_key_env, allow_insecure=self.allow_insecure
                )
                sdk = openai_sdk()
                hooks = {"request": [same_origin_only(self.base_url)]}
                client = sdk.AsyncOpenAI(
                    base_url=self.base_url,
                    api_key=key or NO_KEY,
                    timeout=self.timeout,
                    max_retries=0,
                    http_client=sdk.DefaultAsyncHttpxClient(event_hooks=hooks),
                )
                gate = asyncio.Semaphore(self.concurrency)

                async def one(i: int) -> None:
                    nonlocal done
                    key, body = keyed[i]
                    async with gate:
                        answer = await self._send(sdk, client, body)
                    if cache is not None:
                        cache.put(key, answer)
                    results[i] = answer
                    done += 1
                    if on_done is not None:
                        on_done(done)

                async with client, asyncio.TaskGroup() as group:
                    for i in todo:
                        group.create_task(one(i))
        except* KeelError as group_error:
            raise group_error.exceptions[0] from None
        finally:
            if cache is not None:
                cache.close()
        return [r for r in results if r is not None]

    async def _send(
        self, sdk: ModuleType, client: AsyncOpenAI, body: dict[str, JSON]
    ) -> Completion:
        """One request, retried on transient failures (module doc)."""
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt - 1, last))
            try:
                resp = await client.chat.completions.create(**body)  # type: ignore[call-overload]
            except sdk.APIStatusError as exc:
                if exc.status_code not in RETRYABLE_STATUS and exc.status_code < 500:
                    raise ConfigError(
                        f"{self.base_url} answered {exc.status_code} for model {self.model!r}: "
                        f"{exc.message}; check the URL, the model name and the key in "
                        f"${self.api_key_env}"
                    ) from exc
                last = exc
            except sdk.APIConnectionError as exc:
                last = exc
            except sdk.APIError as exc:
                raise ServiceError(
                    f"{self.base_url} gave an answer the SDK rejects for model {self.model!r}: "
                    f"{exc}; check that it serves an OpenAI-compatible chat-completions API"
                ) from exc
            else:
                if not resp.choices:
                    raise ServiceError(
                        f"{self.base_url} answered with no choices for model {self.model!r}: "
                        f"{resp!r}; check the server's log"
                    )
                choice = resp.choices[0]
                return Completion(choice.message.content or "", choice.finish_reason)
        raise ServiceError(
            f"{self.base_url} failed {self.retries + 1} times for model {self.model!r} "
            f"(last: {type(last).__name__}: {last}): check that the server is up and reachable "
            "from here; answers received so far are cached: re-run to resume, or raise "
            "--retries / --timeout"
        )

    def _delay(self, attempt: int, error: Exception | None) -> float:
        wait = random.uniform(0.0, self.backoff * 2**attempt)
        response: Any = getattr(error, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        try:
            after = float(header) if header is not None else 0.0
        except ValueError:
            after = 0.0
        return max(wait, min(after, MAX_RETRY_AFTER))


CONTINUE_PROMPT = (
    "Continue this text. Answer with the continuation only, without any preamble.\n\n{prompt}"
)


@dataclass(frozen=True, slots=True)
class ServedGenerator:
    """A served model as the loop's generator: text i is prompts[i] followed by the model's
    continuation of it (`template` asks for one). `artifact` is the digest of the weights that
    the model's trainer reported: keel cannot hash weights it does not hold."""

    served: ServedModel
    artifact: str
    template: str = CONTINUE_PROMPT

    def generate(
        self,
        count: int,
        *,
        seed: int = 0,
        temperature: float = 1.0,
        max_tokens: int = 60,
        prompts: Sequence[str] | None = None,
    ) -> list[str]:
        """`count` continuations; `max_tokens` counts the server's tokens. With a seed, the
        k-th identical prompt is sent seed + k, so repeated prompts are distinct draws."""
        given = [""] * count if prompts is None else list(prompts)
        if len(given) != count:
            raise ConfigError(f"{len(given)} prompts for {count} texts: give one per text")
        sampling = Sampling(temperature=temperature, max_tokens=max_tokens, seed=seed)
        answers = self.served.generate(
            [self.template.format(prompt=p) for p in given], sampling=sampling
        )
        return [f"{p} {a.strip()}".strip() for p, a in zip(given, answers, strict=True)]

    def digest(self) -> str:
        return self.artifact
