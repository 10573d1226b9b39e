"""The review web app (`keel review serve`): reviewers decide, the ledger keeps what they decided.

Server-rendered pages (Starlette, Jinja2 with autoescaping) and htmx, shipped in `static/`: no
JavaScript build and nothing loaded from elsewhere (the Content-Security-Policy allows this
origin only). Every page works without JavaScript; with it, decisions swap in place, keys
a / r / d choose and Ctrl+Enter submits, and the reviewer's browser makes and keeps an Ed25519
key (WebCrypto) and signs each decision itself.

- `GET /login/{token}`: a one-time login link (`keel review add`) becomes a session cookie
  (HttpOnly, SameSite=Strict); `GET /`: the reviewer's rounds and progress.
- `GET /r/{round}`: the next item in the reviewer's queue: the text, its lineage in short, the
  AI judges' verdicts if the round shows them, the guidelines, and the decision form.
- `POST /r/{round}/{record}/message`: the exact bytes the browser is to sign for a decision;
  `POST /r/{round}/{record}`: the decision, signed by the browser (`signature`) or else by the
  server with the reviewer's server-held key. It is acknowledged (the next item, or a 303 to
  it) only after its ledger transaction has committed; submitting it again is harmless.
- `POST /key`: the browser enrols its public key (logged as an enrolment entry).
- `GET /receipt/{id}` and `GET /entry/{id}`: a tlog-proof receipt of one's own decision and its
  entry bytes, to check offline with `keel ledger verify-proof`.
- `GET /admin`: rounds and progress, reviewers and their keys, agreement and reputation;
  `POST /admin/close/{round}` ends a round and reveals its gold answers (admins only).

Every POST carries the session's CSRF token; a reviewer only ever sees and decides their own
queue. One server process serializes the decisions (a lock around check and append).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from keel.errors import InputError, KeelError, NotFoundError
from keel.experts.access import Access, Session
from keel.experts.rounds import (
    RoundState,
    close_round,
    decision,
    enrol,
    load_round,
    refresh,
    reputation_of,
    rounds,
    sign,
    submit,
)
from keel.ledger import Ledger, Located
from keel.ledger.note import ed25519_verifier
from keel.records import (
    DECISIONS,
    DecisionSignature,
    Enrolment,
    EntryId,
    Record,
    Verdict,
    canonical,
    decision_message,
    parse_entry,
)

COOKIE = "keel_session"
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_HERE = Path(__file__).parent


@dataclass(slots=True)
class Service:
    """What the app serves from: the ledger, its access file, the lock that serializes writes,
    and the rounds read so far (each brought up to date from the new entries only)."""

    ledger: Ledger
    access: Access
    lock: threading.Lock
    states: dict[str, RoundState] = field(default_factory=dict)

    def round(self, ref: str) -> RoundState:
        """Round `ref` as the log holds it now."""
        known = self.states.get(ref)
        state = load_round(self.ledger, ref) if known is None else refresh(self.ledger, known)
        self.states[state.id] = state
        return state


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("keel.experts.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )
    env.filters["short"] = lambda s: str(s)[:12]
    return env


class RefusalError(Exception):
    """A request the app refuses: the HTTP status and what to tell the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def create_app(db: Path, key_path: Path | None = None) -> Starlette:
    """The app for the ledger at `db` (which must exist; its checkpoint key at `key_path`, or
    the default beside it) and its access file."""
    ledger = Ledger.open(db, key_path=key_path)
    service = Service(ledger, Access.open(db), threading.Lock())
    env = _env()

    def page(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(template).render(request=request, **ctx)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def guarded(
        handler: Callable[[Request, Session], Awaitable[Response]], *, admin: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            start = time.perf_counter()
            response = await checked(request)
            # Server-Timing (W3C): the time spent here, for load tests and browsers' dev tools
            ms = (time.perf_counter() - start) * 1000
            response.headers["Server-Timing"] = f"app;dur={ms:.1f}"
            return response

        async def checked(request: Request) -> Response:
            session = service.access.session(request.cookies.get(COOKIE))
            try:
                if session is None:
                    raise RefusalError(401, "Log in with the link an administrator gave you.")
                if admin and session.person.role != "admin":
                    raise RefusalError(403, "This page is for administrators.")
                if request.method == "POST":
                    form = await request.form()
                    if not _same(str(form.get("csrf", "")), session.csrf):
                        raise RefusalError(
                            403, "This form is stale: reload the page and try again."
                        )
                return await handler(request, session)
            except RefusalError as exc:
                return page(request, "error.html", exc.status, message=str(exc))
            except NotFoundError as exc:
                return page(request, "error.html", 404, message=str(exc))
            except KeelError as exc:
                return page(request, "error.html", 400, message=str(exc))

        return endpoint

    async def login(request: Request) -> Response:
        try:
            sid, _ = service.access.login(request.path_params["token"])
        except InputError as exc:
            return page(request, "error.html", 403, message=str(exc))
        response = RedirectResponse("/", status_code=303, headers=HEADERS)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/")
        return response

    async def home(request: Request, session: Session) -> Response:
        name = session.person.name
        mine = [
            s for s in rounds(service.ledger) if any(name in i.reviewers for i in s.round.items)
        ]
        return page(request, "home.html", session=session, rounds=mine, name=name)

    def item_context(state: RoundState, session: Session) -> dict[str, Any]:
        name = session.person.name
        queue = state.queue(name)
        done, total = state.progress(name)
        ctx: dict[str, Any] = {"session": session, "state": state, "done": done, "total": total}
        if state.closed or not queue:
            return ctx
        item = queue[0]
        service.access.shown(name, state.id, item.record)
        loc = service.ledger.locate(item.record)
        record = loc.entry
        assert isinstance(record, Record)
        ctx.update(item=item, record=record, text=_text(service.ledger, record))
        ctx["parents"] = [
            (p, _text(service.ledger, parent.entry) if isinstance(parent.entry, Record) else "")
            for p in record.parents[:3]
            if (parent := _maybe(service.ledger, p)) is not None
        ]
        if state.round.show_judges:
            ctx["judges"] = [
                v.entry
                for v in service.ledger.lineage(item.record).verdicts
                if isinstance(v.entry, Verdict) and v.entry.judge_kind == "ai"
            ]
        if state.round.guidelines is not None:
            ctx["guidelines"] = service.ledger.payload(state.round.guidelines.sha256).decode()
        ctx["decisions"] = DECISIONS
        return ctx

    async def next_item(request: Request, session: Session) -> Response:
        state = service.round(request.path_params["round"])
        if not any(session.person.name in i.reviewers for i in state.round.items):
            raise RefusalError(403, "This round is not yours to review.")
        return page(request, "item.html", **item_context(state, session))

    def draft_verdict(
        request_form: Any, state: RoundState, session: Session, record: str
    ) -> Verdict:
        name = session.person.name
        shown = service.access.shown(name, state.id, record)
        correction = str(request_form.get("correction", ""))
        return decision(
            state,
            name,
            record,
            str(request_form.get("decision", "")),
            str(request_form.get("rationale", "")),
            seconds=max(0.0, time.time() - shown),
            correction=correction or None,
        )

    async def message(request: Request, session: Session) -> Response:
        form = await request.form()
        state = service.round(request.path_params["round"])
        record = request.path_params["record"]
        v = draft_verdict(form, state, session, record)
        rationale = str(form.get("rationale", ""))
        service.access.put_draft(
            session.person.name, state.id, record, canonical(v.to_json()), rationale
        )
        return JSONResponse(
            {"message": base64.b64encode(decision_message(v)).decode()}, headers=HEADERS
        )

    async def decide(request: Request, session: Session) -> Response:
        form = await request.form()
        name = session.person.name
        record = request.path_params["record"]
        with service.lock:
            state = service.round(request.path_params["round"])
            item = state.item(record)
            done = item is not None and (name, item.record) in state.decisions
            if not done:
                signature = str(form.get("signature", ""))
                if signature:
                    v, rationale = browser_signed(session, state, record, signature)
                else:
                    v = draft_verdict(form, state, session, record)
                    rationale = str(form.get("rationale", ""))
                    person_key = service.access.signer(name)
                    v = sign(v, server_enrolment(name, person_key.verifier().vkey), person_key)
                submit(service.ledger, v, rationale)
            state = service.round(state.id)
        if request.headers.get("HX-Request") == "true":
            return page(request, "_item.html", **item_context(state, session))
        return RedirectResponse(f"/r/{state.id}", status_code=303, headers=HEADERS)

    def browser_signed(
        session: Session, state: RoundState, record: str, signature: str
    ) -> tuple[Verdict, str]:
        name = session.person.name
        draft = service.access.draft(name, state.id, record)
        if draft is None or session.person.browser_key is None:
            raise RefusalError(400, "Nothing was prepared for signing here: submit the form again.")
        unsigned = parse_entry(draft[0])
        assert isinstance(unsigned, Verdict)
        enrolment = server_enrolment(name, session.person.browser_key)
        try:
            base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RefusalError(400, "The signature is not base64.") from exc
        return replace(
            unsigned, signature=DecisionSignature(enrolment, "browser", signature)
        ), draft[1]

    def server_enrolment(name: str, vkey: str) -> EntryId:
        """The enrolment entry of `name` holding key `vkey` (logged when it was first used)."""
        for loc in reversed(service.ledger.entries("enrolment")):
            e = loc.entry
            if isinstance(e, Enrolment) and e.name == name and e.key == vkey:
                return loc.id
        role = service.access.person(name).role
        return enrol(service.ledger, name, role, vkey).id

    async def key(request: Request, session: Session) -> Response:
        form = await request.form()
        try:
            raw = base64.b64decode(str(form.get("public_key", "")), validate=True)
            vkey = ed25519_verifier(session.person.name, raw).vkey
        except (binascii.Error, ValueError, InputError) as exc:
            raise RefusalError(400, "Not an Ed25519 public key.") from exc
        with service.lock:
            enrolment = server_enrolment(session.person.name, vkey)
            service.access.set_browser_key(session.person.name, vkey)
        return JSONResponse({"enrolment": enrolment, "key": vkey}, headers=HEADERS)

    def own_decision(session: Session, ref: str) -> Located:
        loc = service.ledger.locate(ref)
        e = loc.entry
        mine = isinstance(e, Verdict) and e.judge == session.person.name
        if not mine and session.person.role != "admin":
            raise RefusalError(403, "You can fetch receipts for your own decisions only.")
        return loc

    async def receipt(request: Request, session: Session) -> Response:
        loc = own_decision(session, request.path_params["id"])
        with service.lock:
            bundle = service.ledger.prove(loc.id).format()
        return Response(bundle, media_type="application/octet-stream", headers={
            **HEADERS, "Content-Disposition": f'attachment; filename="{loc.id[:16]}.tlog-proof"'
        })  # fmt: skip

    async def entry(request: Request, session: Session) -> Response:
        loc = own_decision(session, request.path_params["id"])
        return Response(loc.raw, media_type="application/octet-stream", headers={
            **HEADERS, "Content-Disposition": f'attachment; filename="{loc.id[:16]}.entry"'
        })  # fmt: skip

    async def admin(request: Request, session: Session) -> Response:
        try:
            rep = reputation_of(service.ledger)
        except NotFoundError:
            rep = None
        return page(request, "admin.html", session=session, rounds=rounds(service.ledger),
                    people=service.access.people(), reputation=rep)  # fmt: skip

    async def close(request: Request, session: Session) -> Response:
        with service.lock:
            close_round(service.ledger, request.path_params["round"])
        return RedirectResponse("/admin", status_code=303, headers=HEADERS)

    async def logout(request: Request, session: Session) -> Response:
        service.access.logout(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/", status_code=303, headers=HEADERS)
        response.delete_cookie(COOKIE, path="/")
        return response

    routes = [
        Route("/login/{token}", login),
        Route("/", guarded(home)),
        Route("/r/{round}", guarded(next_item)),
        Route("/r/{round}/{record}/message", guarded(message), methods=["POST"]),
        Route("/r/{round}/{record}", guarded(decide), methods=["POST"]),
        Route("/key", guarded(key), methods=["POST"]),
        Route("/receipt/{id}", guarded(receipt)),
        Route("/entry/{id}", guarded(entry)),
        Route("/admin", guarded(admin, admin=True)),
        Route("/admin/close/{round}", guarded(close, admin=True), methods=["POST"]),
        Route("/logout", guarded(logout), methods=["POST"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        service.access.close()
        ledger.close()

    return Starlette(routes=routes, lifespan=lifespan)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _maybe(ledger: Ledger, ref: str) -> Located | None:
    try:
        return ledger.locate(ref)
    except NotFoundError:
        return None


def _text(ledger: Ledger, record: Record) -> str:
    """A record's text, or what stands in its place (a JSON payload, an erased one)."""
    try:
        data = ledger.payload(record.payload.sha256)
    except KeelError:
        return "(the text of this record was erased)"
    text = data.decode("utf-8", errors="replace")
    return text if record.payload.type == "text" else text[:2000]
