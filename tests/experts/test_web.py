"""The review web app over real HTTP on loopback: logging in, deciding, what is refused, and what
lands in the ledger (signed decisions that verify, receipts that verify offline)."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterator
from pathlib import Path

import markupsafe
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

pytest.importorskip(
    "starlette", reason="the review app needs the web extra: pip install -e '.[web]'"
)

from review_site import HOSTILE, Client, Site, build, serve

from keel.experts.rounds import close_round, load_round
from keel.ledger import Ledger, ProofBundle, verify_bundle
from keel.records import Role, Verdict


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    people: dict[str, Role] = {"ana": "reviewer", "bo": "reviewer", "root": "admin"}
    with serve(build(tmp_path / "k.db", people)) as s:
        yield s


def logged_in(site: Site, name: str) -> Client:
    c = site.client()
    page = c.get(site.links[name])
    assert page.status == 303, page.text
    return c


def decisions(site: Site) -> list[Verdict]:
    with Ledger.open(site.db, readonly=True) as led:
        return [v.entry for v in led.entries("verdict")
                if isinstance(v.entry, Verdict) and v.entry.judge_kind == "expert"]  # fmt: skip


def test_a_reviewer_logs_in_and_decides_without_javascript(site: Site) -> None:
    ana = logged_in(site, "ana")
    home = ana.get("/")
    assert home.status == 200
    assert site.round[:12] in home.text
    page = ana.get(f"/r/{site.round}")
    assert page.status == 200
    assert page.headers["server-timing"].startswith("app;dur=")
    assert "Adopt text a careful person could write." in page.text  # the guidelines
    assert "judge-a" in page.text  # the round shows the AI judges
    action = page.text.split('<form id="decide" method="post" action="')[1].split('"')[0]
    answer = ana.post(action, {"csrf": ana.csrf(page), "decision": "reject",
                               "rationale": "repeats itself", "correction": ""})  # fmt: skip
    assert answer.status == 303
    assert answer.headers["location"] == f"/r/{site.round}"
    (v,) = decisions(site)
    assert (v.judge, v.label, v.round) == ("ana", "reject", site.round)
    assert v.signature is not None and v.signature.made == "server"
    assert v.seconds is not None and v.seconds >= 0
    with Ledger.open(site.db, readonly=True) as led:
        assert led.verify().ok
    done, total = load_round(Ledger.open(site.db, readonly=True), site.round).progress("ana")
    assert (done, total) == (1, total) and total > 1


def test_the_server_sees_what_others_log_while_it_runs(site: Site) -> None:
    # The app keeps each round's state and reads only what was appended since; a round closed
    # from the command line (another connection) must show as closed at once.
    ana = logged_in(site, "ana")
    page = ana.get(f"/r/{site.round}")
    action = page.text.split('<form id="decide" method="post" action="')[1].split('"')[0]
    with Ledger.open(site.db) as led:
        close_round(led, site.round)
    assert "This round is closed" in ana.get(f"/r/{site.round}").text
    late = ana.post(action, {"csrf": ana.csrf(page), "decision": "accept", "rationale": "fine"})
    assert late.status == 400 and "closed" in late.text
    assert decisions(site) == []


def test_an_htmx_decision_answers_with_the_next_item(site: Site) -> None:
    bo = logged_in(site, "bo")
    page = bo.get(f"/r/{site.round}")
    action = page.text.split('action="')[2].split('"')[0]
    first = action.rsplit("/", 1)[1]
    answer = bo.post(action, {"csrf": bo.csrf(page), "decision": "accept", "rationale": "fine"},
                     **{"HX-Request": "true"})  # fmt: skip
    assert answer.status == 200
    assert answer.text.lstrip().startswith('<section id="item"')
    assert "<html" not in answer.text
    assert first not in answer.text.split('action="')[1]  # the next item, not the same one


def test_a_double_submit_logs_one_decision(site: Site) -> None:
    ana = logged_in(site, "ana")
    page = ana.get(f"/r/{site.round}")
    action = page.text.split('<form id="decide" method="post" action="')[1].split('"')[0]
    form = {"csrf": ana.csrf(page), "decision": "accept", "rationale": "reads well"}
    assert ana.post(action, form).status == 303
    assert ana.post(action, form).status == 303
    assert len(decisions(site)) == 1


def test_the_login_link_works_once(site: Site) -> None:
    logged_in(site, "ana")
    again = site.client().get(site.links["ana"])
    assert again.status == 403
    assert "not valid" in again.text


def test_nothing_without_a_session_or_a_token(site: Site) -> None:
    anon = site.client()
    assert anon.get("/").status == 401
    assert anon.get(f"/r/{site.round}").status == 401
    assert anon.post(f"/r/{site.round}/{site.records[1]}", {"decision": "accept"}).status == 401
    assert decisions(site) == []


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    ana = logged_in(site, "ana")
    page = ana.get(f"/r/{site.round}")
    action = page.text.split('<form id="decide" method="post" action="')[1].split('"')[0]
    answer = ana.post(action, {"csrf": "forged", "decision": "accept", "rationale": "x"})
    assert answer.status == 403
    assert decisions(site) == []


def test_a_reviewer_cannot_decide_anothers_item(site: Site) -> None:
    with Ledger.open(site.db, readonly=True) as led:
        state = load_round(led, site.round)
    theirs = next(i.record for i in state.round.items if "ana" not in i.reviewers)
    ana = logged_in(site, "ana")
    page = ana.get(f"/r/{site.round}")
    form = {"csrf": ana.csrf(page), "decision": "accept", "rationale": "mine"}
    answer = ana.post(f"/r/{site.round}/{theirs}", form)
    assert answer.status == 400
    assert "not in ana's queue" in html.unescape(answer.text)
    assert decisions(site) == []
    assert ana.get("/admin").status == 403


def test_user_text_is_never_rendered_unescaped(site: Site) -> None:
    ana = logged_in(site, "ana")
    seen = ""
    for _ in range(25):  # walk ana's queue until the hostile record shows
        page = ana.get(f"/r/{site.round}")
        seen += page.text
        if "alert" in page.text or 'id="decide"' not in page.text:
            break
        action = page.text.split('<form id="decide" method="post" action="')[1].split('"')[0]
        ana.post(action, {"csrf": ana.csrf(page), "decision": "accept", "rationale": HOSTILE})
    assert "alert" in seen, "the hostile record was not in ana's queue"
    assert HOSTILE not in seen
    assert "<script>alert" not in seen
    assert str(markupsafe.escape(HOSTILE)) in seen  # shown as text, exactly
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_a_browser_signed_decision(site: Site) -> None:
    """What keel.js does, step by step: enrol a public key, fetch the bytes to sign, sign them
    with the private key that never leaves the browser, send the signature."""
    bo = logged_in(site, "bo")
    page = bo.get(f"/r/{site.round}")
    csrf = bo.csrf(page)
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes_raw()
    enrolled = bo.post("/key", {"csrf": csrf, "public_key": base64.b64encode(raw).decode()})
    assert enrolled.status == 200, enrolled.text
    action = page.text.split('<form id="decide" method="post" action="')[1].split('"')[0]
    form = {"csrf": csrf, "decision": "degenerate", "rationale": "the same word again and again"}
    prepared = bo.post(action + "/message", form)
    assert prepared.status == 200
    import json

    message = base64.b64decode(json.loads(prepared.text)["message"])
    assert message.startswith(b"keel/decision/v1\n")
    signature = base64.b64encode(key.sign(message)).decode()
    assert bo.post(action, {**form, "signature": signature}).status == 303
    (v,) = decisions(site)
    assert v.signature is not None and v.signature.made == "browser"
    assert v.label == "degenerate"
    with Ledger.open(site.db, readonly=True) as led:
        assert led.verify().ok


def test_a_forged_browser_signature_is_refused(site: Site) -> None:
    bo = logged_in(site, "bo")
    page = bo.get(f"/r/{site.round}")
    csrf = bo.csrf(page)
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes_raw()
    bo.post("/key", {"csrf": csrf, "public_key": base64.b64encode(raw).decode()})
    action = page.text.split('<form id="decide" method="post" action="')[1].split('"')[0]
    form = {"csrf": csrf, "decision": "accept", "rationale": "ok"}
    bo.post(action + "/message", form)
    forged = base64.b64encode(Ed25519PrivateKey.generate().sign(b"something else")).decode()
    answer = bo.post(action, {**form, "signature": forged})
    assert answer.status == 400
    assert "does not verify" in html.unescape(answer.text)
    assert decisions(site) == []


def test_a_reviewer_takes_a_receipt_that_verifies_offline(site: Site) -> None:
    ana = logged_in(site, "ana")
    page = ana.get(f"/r/{site.round}")
    action = page.text.split('<form id="decide" method="post" action="')[1].split('"')[0]
    ana.post(action, {"csrf": ana.csrf(page), "decision": "accept", "rationale": "good"})
    with Ledger.open(site.db, readonly=True) as led:
        (loc,) = [v for v in led.entries("verdict") if isinstance(v.entry, Verdict)
                  and v.entry.judge == "ana"]  # fmt: skip
        vkey = led.verifier().vkey
    receipt = ana.opener.open(site.url + f"/receipt/{loc.id}").read()
    entry = ana.opener.open(site.url + f"/entry/{loc.id}").read()
    assert entry == loc.raw
    from keel.ledger import load_verifier

    verify_bundle(ProofBundle.parse(receipt), entry, load_verifier(vkey))
    bo = logged_in(site, "bo")
    assert bo.get(f"/receipt/{loc.id}").status == 403


def test_the_admin_sees_progress_and_closes_the_round(site: Site) -> None:
    ana = logged_in(site, "ana")
    page = ana.get(f"/r/{site.round}")
    action = page.text.split('<form id="decide" method="post" action="')[1].split('"')[0]
    ana.post(action, {"csrf": ana.csrf(page), "decision": "accept", "rationale": "good"})
    root = logged_in(site, "root")
    admin = root.get("/admin")
    assert admin.status == 200
    assert "Agreement and reputation" in admin.text
    assert "ana" in admin.text
    closed = root.post(f"/admin/close/{site.round}", {"csrf": root.csrf(admin)})
    assert closed.status == 303
    with Ledger.open(site.db, readonly=True) as led:
        assert load_round(led, site.round).closed
        assert led.verify().ok  # the close revealed the gold answer it committed to
    assert "closed" in ana.get(f"/r/{site.round}").text
