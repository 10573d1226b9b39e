"""`keel ledger anchor` and `keel ledger verify-anchor`: checkpoints in Solana memos."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from keel.cli._common import check_out, emit_json, err, open_ledger, out, settings, write_bytes
from keel.errors import InputError
from keel.records import Anchor, AnchorKey

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]
RpcOption = Annotated[
    str | None,
    typer.Option(
        "--rpc", help="A Solana cluster's JSON-RPC URL, e.g. https://api.devnet.solana.com."
    ),
]


def anchor_command(
    ctx: typer.Context,
    rpc: RpcOption = None,
    litesvm: Annotated[
        bool,
        typer.Option(
            "--litesvm", help="Anchor on an in-process LiteSVM chain (a demo: proves nothing)."
        ),
    ] = False,
    anchor_key: Annotated[
        Path | None,
        typer.Option(
            help="The anchor keypair file, solana-keygen's format; created when missing, never "
            "overwritten (default: the database's path with .anchor.json).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Also write the transaction's wire bytes here."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Sign a checkpoint and publish its origin, size and root in a Solana memo.

    The anchor key pays for and signs the transaction; the first time, the log key signs an
    `anchor-key` entry binding it to the log. Once the chain confirms the transaction, an
    `anchor` entry records it (docs/transparency.md, "Anchors").
    """
    from keel.ledger import (
        Chain,
        LiteSVMChain,
        RpcChain,
        anchor_checkpoint,
        default_anchor_key_path,
        require_solders,
    )

    require_solders()
    if (rpc is None) == (not litesvm):
        raise InputError("choose where to anchor: --rpc URL (a Solana cluster) or --litesvm")
    check_out(ctx, output, force=False)
    chain: Chain = RpcChain(rpc) if rpc is not None else LiteSVMChain()
    key_path = anchor_key or default_anchor_key_path(
        settings(ctx).file("the anchor key (--anchor-key)")
    )
    with open_ledger(ctx) as led:
        done = anchor_checkpoint(led, chain, key_path)
    if output is not None:
        write_bytes(ctx, done.landed.transaction, output, force=False)
    anchor = done.anchor.entry
    binding = done.binding.entry
    assert isinstance(anchor, Anchor) and isinstance(binding, AnchorKey)
    if as_json:
        emit_json(
            {
                "anchor": done.anchor.id,
                "index": done.anchor.index,
                "binding": done.binding.id,
                "bound_now": done.bound_now,
                "chain": binding.chain,
                "key": binding.key,
                "transaction": anchor.transaction,
                "slot": anchor.slot,
                "block_time": done.landed.block_time,
                "size": anchor.size,
                "root": anchor.root,
                "anchor_key_file": str(key_path),
            }
        )
        return
    if done.bound_now:
        err.print(
            f"anchor key {binding.key} ({escape(str(key_path))}) bound to the log on "
            f"{escape(binding.chain)} by entry {done.binding.id}"
        )
    out.print(
        f"anchored size {anchor.size:,} root {anchor.root} on {escape(binding.chain)} in slot "
        f"{anchor.slot}: transaction {anchor.transaction}; anchor entry {done.anchor.id} "
        f"(index {done.anchor.index})"
    )
    if litesvm:
        err.print(
            "[yellow]warning:[/] LiteSVM runs inside this process and is gone when it ends: "
            "this anchor proves nothing to anyone else"
        )


def verify_anchor_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The anchor entry: id, id prefix or external id.")],
    transaction: Annotated[
        Path | None,
        typer.Option(help="The transaction's wire bytes (as `keel ledger anchor -o` writes)."),
    ] = None,
    rpc: RpcOption = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="Trusted verifier key of the log: the string, or a file holding it (default: "
            "from the key file)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check an anchor against its transaction: the bound key signed it, the memo holds the
    ledger's own root at that size, and the log key signed the binding."""
    from keel.ledger import (
        Landed,
        RpcChain,
        anchor_transaction,
        require_solders,
        verify_anchor,
    )

    require_solders()
    if (transaction is None) == (rpc is None):
        raise InputError("give the transaction: --transaction FILE or --rpc URL")
    with open_ledger(ctx, readonly=True) as led:
        verifier, source = led.trusted_verifier(key)
        if transaction is not None:
            try:
                landed = Landed(transaction.read_bytes())
            except OSError as exc:
                raise InputError(f"cannot read the transaction {transaction}: {exc}") from exc
        else:
            assert rpc is not None
            landed = anchor_transaction(led, ref, RpcChain(rpc))
        with led.snapshot():
            check = verify_anchor(led, ref, landed, verifier)
    if as_json:
        emit_json(
            {
                "ok": True,
                "anchor": check.anchor,
                "chain": check.chain,
                "key": check.key,
                "transaction": check.transaction,
                "slot": check.slot,
                "block_time": check.block_time,
                "size": check.size,
                "root": check.root,
                "log_key": verifier.name,
                "key_source": source,
            }
        )
        return
    if source == "database":
        err.print(
            "[yellow]warning:[/] the verifier key comes from the database itself; pass --key "
            "with the key you trust for an independent check"
        )
    where = "from a file" if landed.chain is None else f"slot {check.slot} of {check.chain}"
    if check.block_time is not None:
        when = datetime.fromtimestamp(check.block_time, UTC).isoformat(timespec="seconds")
        where += f", in a block of {when}"
    out.print(
        f"[green]OK[/] anchor {check.anchor}: root {check.root} at size {check.size:,}, "
        f"published by {check.key} (bound on {escape(check.chain)}) in transaction "
        f"{check.transaction}, read {escape(where)}"
    )
