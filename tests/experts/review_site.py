"""A review site for tests: a ledger with a judged generation, reviewers with login links, an
open round, and the web app served by a real uvicorn on loopback (a thread of the test)."""

from __future__ import annotations

import http.cookiejar
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from keel.experts.access import Access
from keel.experts.rounds import enrol, open_round
from keel.ledger import Ledger
from keel.records import EntryId, Role, text_record, verdict

HOSTILE = '<script>alert("x")</script>" onmouseover="alert(1)'
"""A record text that breaks out of an element or an attribute if rendered unescaped."""


@dataclass
class Site:
    """A served review app and what the tests need to drive it."""

    db: Path
    url: str
    round: EntryId
    links: dict[str, str]
    gold: EntryId
    records: list[EntryId] = field(default_factory=list)

    def client(self) -> Client:
        return Client(self.url)


@dataclass
class Page:
    status: int
    text: str
    url: str
    headers: dict[str, str]


class Client:
    """An HTTP client with a cookie jar that does not follow redirects by itself."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(
        self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Page:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as answer:
                return Page(answer.status, answer.read().decode(), answer.url, dict(answer.headers))
        except urllib.error.HTTPError as exc:
            return Page(exc.code, exc.read().decode(), exc.url or path, dict(exc.headers))

    def get(self, path: str) -> Page:
        return self.request(path)

    def post(self, path: str, form: dict[str, str], **headers: str) -> Page:
        return self.request(path, form, headers)

    def csrf(self, page: Page) -> str:
        marker = 'name="csrf" value="'
        start = page.text.index(marker) + len(marker)
        return page.text[start : page.text.index('"', start)]


def build(db: Path, reviewers: dict[str, Role], *, overlap: int = 2, budget: int = 20) -> Site:
    """A ledger at `db` with 20 judged synthetic records (one hostile), a gold human record,
    `reviewers` added (login links kept), and a round over generation 1 (every record of it
    at the default budget)."""
    with Ledger.open(db, create=True) as led:
        led.init_key("test.example/review-site")
        texts = [HOSTILE] + [f"generated text number {i}" for i in range(1, 20)]
        records = [a.id for a in led.append([text_record(t, "synthetic", generation=1)
                                             for t in texts])]  # fmt: skip
        led.append([verdict(r, "judge-a", "ai", label="accept" if i % 2 else "reject")
                    for i, r in enumerate(records)])  # fmt: skip
        gold = led.append([text_record("a known good human sentence", "human")])[0].id
        access = Access.open(db)
        links = {}
        for name, role in reviewers.items():
            token, vkey = access.add(name, role)
            enrol(led, name, role, vkey)
            links[name] = f"/login/{token}"
        access.close()
        opened = open_round(
            led, list(reviewers), budget=budget, generation=1, overlap=overlap,
            gold={gold: "accept"}, guidelines="Adopt text a careful person could write.",
            show_judges=True, seed=1,
        )  # fmt: skip
    return Site(db, "", opened.id, links, gold, records)


@contextmanager
def serve(site: Site) -> Iterator[Site]:
    """Serve `site` with uvicorn on a free loopback port until the block ends."""
    import uvicorn

    from keel.experts.web.app import create_app

    config = uvicorn.Config(create_app(site.db), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    site.url = f"http://127.0.0.1:{port}"
    try:
        yield site
    finally:
        server.should_exit = True
        thread.join(timeout=10)
