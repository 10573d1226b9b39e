"""`keel witness ...` (run a c2sp.org/tlog-witness) and `keel ledger witness` (get cosignatures).

The witness library (HTTP server and client included) loads when a command runs, not with `keel`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from keel.cli._common import emit_json, err, open_ledger, out
from keel.errors import InputError

app = typer.Typer(
    help="Run a witness (c2sp.org/tlog-witness): cosign other logs' checkpoints, refuse forks."
)
key_app = typer.Typer(help="The witness's Ed25519 cosigner key and its state file.")
app.add_typer(key_app, name="key")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]
StateOption = Annotated[
    Path,
    typer.Option(
        "--state",
        help="The witness's state file (SQLite): what it cosigned, per log.",
        dir_okay=False,
    ),
]
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help="The witness's secret key file (default: the state path with the suffix .key).",
        dir_okay=False,
    ),
]


def _key_path(state: Path, key_file: Path | None) -> Path:
    return key_file if key_file is not None else state.with_suffix(".key")


def _read_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise InputError(
            f"cannot read the witness key {path}: {exc.strerror}; create one with "
            "`keel witness key init`, or pass --key-file"
        ) from exc


@key_app.command("init")
def key_init(
    name: Annotated[
        str,
        typer.Option(help="The witness's name, a schema-less URL, e.g. witness.example.org/w1."),
    ],
    state: StateOption = Path("witness.db"),
    key_file: KeyFileOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create the witness's key and its empty state file; print the verifier key to publish.

    Neither is ever replaced: a witness that lost its state must take a new name and key.
    """
    from keel.ledger.witness import WitnessState, generate_cosigner_key, parse_cosigner_key

    path = _key_path(state, key_file)
    for existing in (path, state):
        if existing.exists():
            raise InputError(
                f"{existing} already exists: a witness never replaces its key or its state"
            )
    skey, vkey = generate_cosigner_key(name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InputError(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "w") as f:
        f.write(skey + "\n")
    try:
        WitnessState.create(state, parse_cosigner_key(skey).cosigner())
    except BaseException:
        path.unlink()
        raise
    if as_json:
        emit_json({"witness_key": vkey, "key_file": str(path), "state": str(state)})
        return
    out.print(vkey)
    err.print(f"key written to {escape(str(path))} (keep it secret), state to {escape(str(state))}")


@key_app.command("show")
def key_show(
    state: StateOption = Path("witness.db"),
    key_file: KeyFileOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the witness's verifier key (what log owners pass as --witness-key)."""
    from keel.ledger.witness import load_cosigner

    vkey = load_cosigner(str(_key_path(state, key_file))).vkey
    if as_json:
        emit_json({"witness_key": vkey})
    else:
        out.print(vkey)


@app.command("serve")
def serve_command(
    log: Annotated[
        list[str],
        typer.Option(
            "--log",
            help="A log to witness: its verifier key (the string or a file); the key's name is the "
            "log's origin (repeatable).",
        ),
    ],
    state: StateOption = Path("witness.db"),
    key_file: KeyFileOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).")] = 7380,
) -> None:
    """Serve POST /add-checkpoint until interrupted: cosign each log's checkpoints that extend
    what this witness cosigned before, refuse (and keep as evidence) those that do not."""
    from keel.ledger import load_verifier
    from keel.ledger.witness import Witness, WitnessState, parse_cosigner_key, serve

    key = parse_cosigner_key(_read_key(_key_path(state, key_file)))
    witness = Witness(key, [load_verifier(v) for v in log], WitnessState(state, key.cosigner()))
    server = serve(witness, host, port)
    bound_host, bound_port = server.server_address[:2]
    err.print(
        f"witness {escape(key.cosigner().vkey)} for {', '.join(map(escape, witness.logs))} "
        f"listening on http://{bound_host!s}:{bound_port} (Ctrl-C stops it)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def witness_ledger_command(
    ctx: typer.Context,
    urls: Annotated[
        list[str],
        typer.Argument(metavar="url", help="Witness URLs (add-checkpoint is below them)."),
    ],
    quorum: Annotated[
        int | None,
        typer.Option(help="Cosignatures needed (default: every witness).", min=1),
    ] = None,
    witness_key: Annotated[
        list[str],
        typer.Option(
            "--witness-key",
            help="A witness's verifier key (string or file): its cosignatures are checked and "
            "lines by other keys dropped (repeatable; without it nothing is checked).",
        ),
    ] = [],  # noqa: B006
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each witness.", min=0.1)
    ] = 10.0,
    as_json: JsonFlag = False,
) -> None:
    """Ask witnesses to cosign the ledger's latest checkpoint and store the cosigned checkpoint
    (receipts then carry the cosignatures); fails (nothing stored) when fewer than --quorum do."""
    from keel.ledger.witness import load_cosigner, witness_ledger

    cosigners = [load_cosigner(k) for k in witness_key]
    with open_ledger(ctx) as led:
        report = witness_ledger(led, urls, cosigners, quorum, timeout)
    cp = report.checkpoint
    if as_json:
        emit_json(
            {
                "origin": cp.origin,
                "size": cp.size,
                "root": cp.root.hex(),
                "cosigned": {u: [s.name for s in lines] for u, lines in report.cosigned.items()},
                "failed": report.failed,
                "note": report.note.decode(),
            }
        )
        return
    for url, why in report.failed.items():
        err.print(f"[yellow]warning:[/] {escape(url)} did not cosign: {escape(why)}")
    if not cosigners:
        err.print(
            "[yellow]warning:[/] no --witness-key given: the cosignatures were stored unchecked"
        )
    names = sorted({s.name for lines in report.cosigned.values() for s in lines})
    out.print(
        f"[green]OK[/] {len(report.cosigned)} of {len(urls)} witnesses cosigned "
        f"{escape(cp.origin)} at size {cp.size}: {escape(', '.join(names))}"
    )
