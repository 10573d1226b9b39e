"""Exit codes from the user's side: each means one thing, the one README.md's table gives it,
and a command exits with the same code with `--json` as without."""

from __future__ import annotations

import json
import re
import shlex
import socket
import sys
from pathlib import Path

import pytest

from keel import errors
from keel.ledger import Ledger
from keel.text import load_fortunes
from keel_cli import Cli
from small_loop import write_loop

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder, on ./keel.db with its key at ./keel.key."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_DB", raising=False)
    monkeypatch.delenv("KEEL_KEY", raising=False)


def ingest(cli: Cli, *texts: str, origin: str = "human") -> None:
    """Log `texts` into ./keel.db (which ingest creates, without a signing key)."""
    Path("in.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    producer = ["--producer", "gen", "--generation", "1"] if origin == "synthetic" else []
    cli.ok("ingest", "in.jsonl", "--origin", origin, *producer)


def closed_port() -> int:
    """A loopback port nothing listens on: bound by the OS, then let go."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def one_error(err: str) -> str:
    """The one `error:` line a failing command prints, unwrapped."""
    assert "Traceback" not in err and err.startswith("error: "), err
    return " ".join(err.split())


def test_readme_gives_every_exit_code_one_meaning() -> None:
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", README.read_text(), flags=re.MULTILINE)
    codes = [int(code) for code, _ in rows]
    assert len(codes) == len(set(codes)), "an exit code is listed twice"
    raised = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.KeelError)
    }
    assert set(codes) == {0, 130} | raised
    meaning = dict(rows)
    assert "--fail-on" in meaning["1"] and "key" not in meaning["1"]
    assert "train_command" in meaning["6"]


def test_a_gate_that_fires_exits_1_and_is_not_an_error(cli: Cli) -> None:
    human = load_fortunes(("fortunes",))
    Path("ref.txt").write_text("\n".join(human[::2][:60]) + "\n")
    Path("gen.txt").write_text("\n".join([" ".join(t.split()[:5]) for t in human[:6]] * 10))
    for extra in ((), ("--json",)):
        code, out, err = cli("watch", "gen.txt", "--reference", "ref.txt", "--fail-on", "late",
                             *extra)  # fmt: skip
        assert code == 1, err
        assert "collapse" in out and "error:" not in err


def test_a_ledger_without_a_key_is_bad_input_and_says_how_to_make_one(cli: Cli) -> None:
    ingest(cli, "a human text")
    for args in (("ledger", "checkpoint"), ("ledger", "checkpoint", "--json"),
                 ("ledger", "key", "show")):  # fmt: skip
        code, out, err = cli(*args)
        assert (code, out) == (2, ""), err
        assert "run `keel ledger key init`" in one_error(err)
    cli.ok("ledger", "key", "init")
    Path("keel.key").rename("elsewhere.key")
    code, _, err = cli("ledger", "checkpoint")
    assert code == 2
    assert "signing key not found at keel.key" in one_error(err)
    assert "--key-file" in one_error(err)
    assert cli.ok("--key-file", "elsewhere.key", "ledger", "checkpoint").count("\n") >= 3


def test_finding_nothing_exits_2_with_or_without_json(cli: Cli) -> None:
    ingest(cli, "a human text")
    for args in (("nosuch",), ("nosuch", "--json"), ("--text", "absent", "--json"),
                 ("--digest", "0" * 64, "--json")):  # fmt: skip
        code, out, err = cli("ledger", "find", *args)
        assert (code, out) == (2, ""), (args, out)
        assert "nothing found" in one_error(err)
    assert len(json.loads(cli.ok("ledger", "find", "--text", "a human text", "--json"))) == 1


def test_an_unreachable_judge_server_exits_6_and_logs_nothing(cli: Cli) -> None:
    ingest(cli, "a synthetic text", "another one", origin="synthetic")
    Path("rubric.txt").write_text("Accept good texts.")
    url = f"http://127.0.0.1:{closed_port()}/v1"
    for extra in ((), ("--json",)):
        code, out, err = cli("judge", "run", "--llm", url, "--model", "m", "--rubric",
                             "rubric.txt", "--retries", "0", *extra)  # fmt: skip
        assert (code, out) == (6, ""), err
        message = one_error(err)
        assert url in message and "check that the server is up" in message
    assert json.loads(cli.ok("ledger", "info", "--json"))["size"] == 2


def test_a_failing_train_command_exits_6(cli: Cli, tmp_path: Path) -> None:
    trainer = f"{shlex.quote(sys.executable)} -c \"import sys; sys.exit('out of GPU memory')\""
    generator = {"kind": "served", "base_url": f"http://127.0.0.1:{closed_port()}/v1",
                 "model": "base", "samples": 50, "train_command": trainer}  # fmt: skip
    loop = write_loop(tmp_path, generations=1, generator=generator)
    code, out, err = cli("loop", "run", str(loop), "--json")
    assert (code, out) == (6, ""), err
    message = one_error(err)
    assert "train_command exited with 1" in message and "out of GPU memory" in message


def test_ctrl_c_exits_130_not_the_gates_1(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(cli, "a human text")

    def interrupted(self: Ledger) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "info", interrupted)
    code, out, err = cli("ledger", "info", "--json")
    assert (code, out) == (130, ""), err
