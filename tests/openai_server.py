"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol, for tests.

POST /v1/chat/completions answers with the JSON shape the `openai` SDK parses. What it answers
is scripted: `answer` maps the request body to the assistant's text (`echo`, `judge_by_keyword`,
or any function), `faults` holds what to do before answering normally (an HTTP status such as
429 or 500, or "slow": sleep `slow_seconds` first), and `redirects` maps a request path to the
Location of a 307 answer. `calls` counts every request received, on any path; `bodies` and
`headers` hold them in order.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[dict[str, Any]], str]
Fault = int | str


def last_user_text(body: dict[str, Any]) -> str:
    return str(next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user"))


def echo(body: dict[str, Any]) -> str:
    """The last user message, unchanged."""
    return last_user_text(body)


def judge_by_keyword(body: dict[str, Any]) -> str:
    """A judge: "good" in the text accepts (0.9), "garble" gives prose, "fenced" a ```json
    block, anything else rejects (0.2)."""
    text = last_user_text(body)
    if "garble" in text:
        return "I think this text is mostly fine, maybe."
    verdict = {"verdict": "accept", "score": 0.9} if "good" in text else {
        "verdict": "reject", "score": 0.2}  # fmt: skip
    answer = json.dumps({**verdict, "rationale": f"judged {len(text)} characters"})
    return f"```json\n{answer}\n```" if "fenced" in text else answer


@dataclass
class FakeOpenAI:
    """The server's script and what it saw; `base_url` is what a client passes (…/v1)."""

    answer: Answer = echo
    faults: deque[Fault] = field(default_factory=deque)
    slow_seconds: float = 1.0
    redirects: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self.lock:
            self.calls += 1
            self.bodies.append(body)
            self.headers.append(headers)

    def next_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def send_json(
            self, status: int, doc: object, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.record(body, {k.lower(): v for k, v in self.headers.items()})
            if self.path in server.redirects:
                self.send_json(307, {}, {"Location": server.redirects[self.path]})
                return
            if self.path != "/v1/chat/completions":
                self.send_json(404, {"error": {"message": f"no route {self.path}", "type": "x"}})
                return
            fault = server.next_fault()
            try:
                if isinstance(fault, int):
                    error = {"message": f"scripted {fault}", "type": "server_error", "code": None}
                    self.send_json(fault, {"error": error}, {"retry-after": "0"})
                    return
                if fault == "slow":
                    time.sleep(server.slow_seconds)
                text = server.answer(body)
                self.send_json(200, {
                    "id": f"chatcmpl-{server.calls}", "object": "chat.completion",
                    "created": int(time.time()), "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })  # fmt: skip
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@contextmanager
def serve(answer: Answer = echo) -> Iterator[FakeOpenAI]:
    """Run the server on 127.0.0.1 (a free port) in a thread while the block runs."""
    fake = FakeOpenAI(answer=answer)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    httpd.daemon_threads = True
    httpd.block_on_close = False
    fake.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
