"""Shared fixtures: a fresh signed ledger in tmp_path, a helper to fill it, the CLI runner, and
headless Chromium (`browser`) with the folder its screenshots go to (`artifacts`)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from keel.ledger import Appended, Ledger
from keel.ledger.merkle import append_hashes, leaf_hash
from keel.ledger.store import HASHES_PER_CHUNK, key_of
from keel.records import Producer, text_record
from keel_cli import Cli

TEST_ORIGIN = "example.com/test"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A fresh ledger at tmp_path/k.db with its key at tmp_path/k.key (origin example.com/test)."""
    led = Ledger.open(tmp_path / "k.db", key_path=tmp_path / "k.key")
    led.init_key(TEST_ORIGIN)
    try:
        yield led
    finally:
        led.close()


def fill(led: Ledger, n: int, *, prefix: str = "record", start: int = 0) -> list[Appended]:
    """Append `n` distinct text records (alternating human / synthetic) in one batch."""
    items = []
    for i in range(start, start + n):
        if i % 2:
            items.append(
                text_record(
                    f"{prefix} {i}",
                    "synthetic",
                    producer=Producer("model-x", "1", {"temperature": 0.7}),
                    generation=1,
                )
            )
        else:
            items.append(text_record(f"{prefix} {i}", "human", author=f"author-{i % 5}"))
    return led.append(items)


@pytest.fixture
def fill_ledger() -> Callable[..., list[Appended]]:
    """The `fill(led, n, *, prefix="record", start=0)` helper, as a fixture."""
    return fill


def rewrite_entry_and_tree(db: Path, idx: int, new_entry: bytes) -> None:
    """Forge an entry in the database (and its key) and recompute every stored tree hash to match.

    Only the signed checkpoints can then tell: the attack a tamper-evident log must catch.
    """
    key = key_of(hashlib.sha256(new_entry).digest())
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE entries SET entry = ?, key = ? WHERE idx = ?", (new_entry, key, idx))
        entries = [bytes(r[0]) for r in conn.execute("SELECT entry FROM entries ORDER BY idx")]
        hashes, _ = append_hashes(0, [], [leaf_hash(e) for e in entries])
        blob = b"".join(hashes)
        step = HASHES_PER_CHUNK * 32
        conn.execute("DELETE FROM hashes")
        conn.executemany(
            "INSERT INTO hashes(chunk, data) VALUES (?, ?)",
            [(i // step, blob[i : i + step]) for i in range(0, len(blob), step)],
        )


@pytest.fixture
def forge_entry() -> Callable[[Path, int, bytes], None]:
    """`rewrite_entry_and_tree`, for tests that forge an entry behind the ledger's back."""
    return rewrite_entry_and_tree


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs `keel ...` in-process; pass db= (or --db) to name a ledger."""
    return Cli(capsys)


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through chromedriver, a window 1280 px wide."""
    binary = next((p for b in BROWSERS if (p := shutil.which(b))), None)
    driver = shutil.which("chromedriver")
    missing = [
        what for what, found in (("chromium", binary), ("chromedriver", driver)) if not found
    ]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        reason = f"no browser to test the pages in: {', '.join(missing)} missing"
        if os.environ.get("KEEL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason} (KEEL_REQUIRE_BROWSER=1)")
        pytest.skip(f"{reason} (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--force-device-scale-factor=1"):  # fmt: skip
        options.add_argument(arg)
    chrome = webdriver.Chrome(options=options, service=Service(str(driver)))
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KEEL_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
