"""Builds tests/interop/verifier.go and tiles_client.go once per session and runs them.

The Go program checks keel's notes, checkpoints and receipts with Go's golang.org/x/mod/sumdb/note
and golang.org/x/mod/sumdb/tlog, an implementation independent of keel. It builds offline in
GOPATH mode from Debian's packages::

    apt-get install -y golang-go golang-golang-x-mod-dev   # x/mod source in /usr/share/gocode/src

Without them the interop tests are skipped, unless KEEL_REQUIRE_INTEROP=1 (then they fail).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from postgres_db import postgres_url

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "verifier.go"
GOCODE = Path("/usr/share/gocode")
"""Debian's GOPATH root for Go library source packages (golang-*-dev)."""
XMOD = "golang.org/x/mod/sumdb"
SKIP_REASON = (
    "install golang-go and golang-golang-x-mod-dev (Debian) for interop tests; .ci/run does"
)
BUILD_TIMEOUT = 300
RUN_TIMEOUT = 60


def go_build_env(tmp: Path) -> dict[str, str]:
    """The environment that builds verifier.go offline from Debian's x/mod source.

    GOPATH mode (GO111MODULE=off) resolves golang.org/x/mod from /usr/share/gocode/src, with no
    go.mod, module proxy or checksum database; a scratch GOPATH entry comes first so nothing is
    ever written under /usr/share/gocode; the build cache and HOME live in `tmp`; GOFLAGS and the
    user's go env file are ignored; cgo is off so no C compiler is needed.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO") and k != "CGO_ENABLED"}
    env.update(
        GO111MODULE="off",
        GOPATH=os.pathsep.join([str(tmp / "gopath"), str(GOCODE)]),
        GOCACHE=str(tmp / "gocache"),
        GOENV="off",
        GOFLAGS="",
        GOPROXY="off",
        GOTOOLCHAIN="local",
        GOTELEMETRY="off",
        CGO_ENABLED="0",
        HOME=str(tmp),
    )
    return env


def _missing() -> str | None:
    """Why the Go verifier cannot be built here, or None when it can."""
    if shutil.which("go") is None:
        return "`go` is not on PATH"
    for pkg in ("note", "tlog"):
        if not (GOCODE / "src" / XMOD / pkg).is_dir():
            return f"{GOCODE}/src/{XMOD}/{pkg} is missing"
    return None


@dataclass(frozen=True)
class GoVerifier:
    """The built Go verifier; `run` calls one subcommand and returns the completed process."""

    exe: Path

    def run(
        self, *args: str | Path, check: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `verifier ARGS...`; with `check`, fail the test (showing Go's stderr) unless it
        exits 0. Text is UTF-8."""
        proc = subprocess.run(
            [str(self.exe), *map(str, args)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=RUN_TIMEOUT,
            check=False,
            env=dict(env) if env is not None else None,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"Go verifier {' '.join(map(str, args))} exited {proc.returncode}:\n"
                f"{proc.stderr}{proc.stdout}",
                pytrace=False,
            )
        return proc

    def rejects(self, *args: str | Path) -> str:
        """Run a subcommand that must fail (exit 1); return Go's error message."""
        proc = self.run(*args, check=False)
        assert proc.returncode == 1, (
            f"Go verifier accepted what it should reject (exit {proc.returncode}): "
            f"{' '.join(map(str, args))}\n{proc.stdout}{proc.stderr}"
        )
        assert proc.stderr.startswith("verifier: "), proc.stderr
        return proc.stderr


def _build(source: Path, tmp_path_factory: pytest.TempPathFactory) -> GoVerifier:
    """Build one Go program of this folder (skipped when Go or x/mod is absent)."""
    why = _missing()
    if why is not None:
        if os.environ.get("KEEL_REQUIRE_INTEROP") == "1":
            pytest.fail(f"{why}: {SKIP_REASON}", pytrace=False)
        pytest.skip(f"{why}: {SKIP_REASON}")
    tmp = tmp_path_factory.mktemp(f"go-{source.stem}")
    exe = tmp / source.stem
    proc = subprocess.run(
        ["go", "build", "-o", str(exe), str(source)],
        cwd=tmp,
        env=go_build_env(tmp),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"go build of {source} failed (exit {proc.returncode}):\n{proc.stderr}{proc.stdout}",
            pytrace=False,
        )
    return GoVerifier(exe)


@pytest.fixture(scope="session")
def go_verifier(tmp_path_factory: pytest.TempPathFactory) -> GoVerifier:
    """tests/interop/verifier.go built once per session (skipped when Go or x/mod is absent)."""
    return _build(SOURCE, tmp_path_factory)


@pytest.fixture(scope="session")
def go_tiles_client(tmp_path_factory: pytest.TempPathFactory) -> GoVerifier:
    """tests/interop/tiles_client.go, the tlog-tiles auditor over HTTP, built once per session."""
    return _build(HERE / "tiles_client.go", tmp_path_factory)


__all__ = ["postgres_url"]
