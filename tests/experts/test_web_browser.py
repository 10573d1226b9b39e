"""The review app in a real browser (headless Chromium): a reviewer logs in with their link,
reviews with the keyboard, their browser signs each decision with its own key, and the ledger
holds decisions that verify; an administrator sees agreement and reputation. Screenshots go to
$KEEL_ARTIFACTS (CI keeps them)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the review app needs the web extra: pip install '.[web]'")

from review_site import Site, build, serve

from keel.experts.access import Access
from keel.experts.rounds import load_round
from keel.ledger import Ledger
from keel.records import Verdict

pytestmark = pytest.mark.slow


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serve(build(tmp_path / "k.db", {"ana": "reviewer", "root": "admin"}, overlap=1,
                     budget=4)) as s:  # fmt: skip
        yield s


def until(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def fits(browser: Any) -> None:
    wide = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert wide <= 0, f"the page is {wide} px wider than the window"


def test_a_reviewer_reviews_with_the_keyboard_and_signs_in_the_browser(
    browser: Any, site: Site, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.set_window_size(1280, 900)
    browser.delete_all_cookies()
    browser.get(site.url + site.links["ana"])
    assert "Your review rounds" in browser.page_source
    browser.find_element(By.LINK_TEXT, "review").click()
    until(lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-signing"),
          "the page to set up its key")  # fmt: skip
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-signing") == "browser"
    assert Access.open(site.db).person("ana").browser_key is not None  # enrolled
    browser.save_screenshot(str(artifacts / "review-item.png"))
    fits(browser)
    with Ledger.open(site.db, readonly=True) as led:
        total = load_round(led, site.round).progress("ana")[1]
    for k in range(total):
        until(lambda: browser.find_elements(By.ID, "decide"), "the next item", 60)
        body = browser.find_element(By.TAG_NAME, "body")
        body.send_keys("r" if k % 2 else "a")
        rationale = browser.switch_to.active_element
        assert rationale.get_attribute("id") == "rationale"  # the key moved focus there
        rationale.send_keys(f"decision {k}: checked by hand")
        rationale.send_keys(Keys.CONTROL, Keys.ENTER)
        until(lambda k=k: f"{k + 1} / {total} done" in browser.page_source,
              f"decision {k + 1}", 60)  # fmt: skip
    assert "You have decided on every item" in browser.page_source
    with Ledger.open(site.db, readonly=True) as led:
        mine = [v.entry for v in led.entries("verdict")
                if isinstance(v.entry, Verdict) and v.entry.judge == "ana"]  # fmt: skip
        assert len(mine) == total
        assert {v.signature.made for v in mine if v.signature} == {"browser"}
        assert [v.label for v in mine] == [
            "accept" if k % 2 == 0 else "reject" for k in range(total)
        ]
        report = led.verify()
        assert report.ok, report.problems

    browser.delete_all_cookies()
    browser.get(site.url + site.links["root"])
    browser.get(site.url + "/admin")
    assert "Agreement and reputation" in browser.page_source
    assert "ana" in browser.find_element(By.CSS_SELECTOR, "table.reputation").text
    fits(browser)
    browser.save_screenshot(str(artifacts / "review-admin.png"))


def test_without_javascript_the_server_signs(browser: Any, site: Site) -> None:
    """The same flow with scripts blocked (a form post and a redirect): decisions still land,
    signed by the server with the reviewer's server-held key, and the entry says so."""
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.delete_all_cookies()
        browser.get(site.url + site.links["ana"])
        browser.get(f"{site.url}/r/{site.round}")
        browser.find_element(By.CSS_SELECTOR, "input[value=accept]").click()
        browser.find_element(By.ID, "rationale").send_keys("fine without scripts")
        browser.find_element(By.CSS_SELECTOR, "#decide button[type=submit]").click()
        until(lambda: "1 / " in browser.page_source, "the next item")
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    with Ledger.open(site.db, readonly=True) as led:
        (v,) = [v.entry for v in led.entries("verdict")
                if isinstance(v.entry, Verdict) and v.entry.judge == "ana"]  # fmt: skip
        assert v.signature is not None and v.signature.made == "server"
        assert led.verify().ok
