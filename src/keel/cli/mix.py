"""`keel mix ...`: build the next training set from the ledger, show a logged mix, export it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.markup import escape

from keel.cli._common import (
    ExecutorOption,
    emit_json,
    err,
    executor,
    fit_table,
    open_ledger,
    out,
    progress,
)
from keel.mix import AnchorSet, Gate, HumanPool, MinHashConfig, MixPolicy, TailConfig

app = typer.Typer(help="Anchored mixing: the next training set, logged as a mix entry.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]


@app.command("build")
def build(
    ctx: typer.Context,
    size: Annotated[int, typer.Option(help="Number of members asked for.")],
    alpha: Annotated[float, typer.Option(help="Floor share of verified data.")] = 0.2,
    target_precision: Annotated[
        float, typer.Option(help="Precision the corrected gate must reach (lower bound).")
    ] = 0.9,
    generation: Annotated[
        int | None, typer.Option(help="Synthetic generation to draw from (default: all).")
    ] = None,
    human: Annotated[
        str, typer.Option(help="Verified pool: accumulated, or fresh (of --generation).")
    ] = "accumulated",
    gate: Annotated[str, typer.Option(help="corrected, judges (uncorrected) or none.")] = (
        "corrected"
    ),
    anchors: Annotated[
        str,
        typer.Option(
            help="Expert anchors: weighted (random and round-drawn, by 1/π), random, or all."
        ),
    ] = "weighted",
    confidence: Annotated[float, typer.Option(help="Confidence of the precision bound.")] = 0.95,
    lineage: Annotated[
        bool,
        typer.Option(
            help="Prune descendants of degenerate records (default: --lineage).",
            show_default=False,
        ),
    ] = True,
    dedup_threshold: Annotated[
        float, typer.Option(help="MinHash Jaccard threshold of a near-duplicate.")
    ] = 0.8,
    no_dedup: Annotated[bool, typer.Option("--no-dedup", help="Keep near-duplicates.")] = False,
    tail_mass: Annotated[
        float, typer.Option(help="Share of human tokens held by the rare types.")
    ] = 0.1,
    tail_boost: Annotated[
        float, typer.Option(help="Weight added per rare type (0: uniform sampling).")
    ] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed of every random draw, 0 to 2**53 - 1.")] = 0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; log nothing.")] = False,
    as_json: JsonFlag = False,
    executor_: ExecutorOption = "local",
) -> None:
    """Choose the next training set (verified floor, corrected gate, lineage, dedup, tails) and
    log it as a mix entry."""
    policy = MixPolicy(
        alpha=alpha,
        size=size,
        target_precision=target_precision,
        generation=generation,
        human=cast(HumanPool, human),  # MixPolicy checks the value
        gate=cast(Gate, gate),
        anchors=cast(AnchorSet, anchors),
        confidence=confidence,
        lineage=lineage,
        dedup=None if no_dedup else MinHashConfig(threshold=dedup_threshold),
        tails=TailConfig(tail_mass, tail_boost),
        seed=seed,
    )
    from keel.mix import build_mix, log_mix

    with executor(executor_) as ex, open_ledger(ctx) as led:
        plan = build_mix(led, policy, executor=ex)
        logged = None if dry_run else log_mix(led, plan)
    if as_json:
        doc = plan.to_json()
        doc["mix"] = (
            None if logged is None else {"id": logged.id, "index": logged.index, "new": logged.new}
        )
        emit_json(doc)
        return
    rows = [[escape(k), f"{v:,}"] for k, v in plan.counts.items()]
    out.print(fit_table("mix plan", ["count", "value"], rows))
    out.print(escape(plan.note))
    if not plan.floor_met:
        out.print(f"[yellow]verified floor not met[/]: fewer than ⌈{alpha:g}·{size}⌉ verified")
    if logged is not None:
        what = "logged" if logged.new else "was already logged"
        out.print(f"mix {logged.id} {what} (index {logged.index}), {len(plan.members)} members")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Mix id, unique id prefix, or external id.")],
    as_json: JsonFlag = False,
) -> None:
    """Show a logged mix: its policy and its members by origin and generation."""
    from keel.mix import read_mix

    with open_ledger(ctx) as led:
        m = read_mix(led, ref)
    by = Counter((j.record.origin, j.record.generation) for j in m.members)
    if as_json:
        emit_json(
            {
                "id": m.id,
                "index": m.index,
                "count": m.entry.count,
                "generation": m.entry.generation,
                "policy": dict(m.entry.policy),
                "members": [
                    {"id": j.id, "origin": j.record.origin, "generation": j.record.generation}
                    for j in m.members
                ],
            }
        )
        return
    out.print(f"[bold]mix[/] {m.id} (index {m.index}): {m.entry.count} members")
    keys = sorted(by, key=lambda k: (k[0], -1 if k[1] is None else k[1]))
    rows = [[o, "-" if g is None else str(g), f"{by[o, g]:,}"] for o, g in keys]
    out.print(fit_table("members", ["origin", "generation", "records"], rows))
    policy = {k: v for k, v in m.entry.policy.items() if k != "counts"}
    out.print(escape(", ".join(f"{k}={v}" for k, v in policy.items())))


@app.command("export")
def export(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Mix id, unique id prefix, or external id.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The export folder to create (must not exist).")
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="jsonl, parquet, or hf (a datasets folder).")
    ] = "parquet",
    croissant: Annotated[
        bool, typer.Option("--croissant", help="Also write croissant.json (Croissant 1.1, RAI).")
    ] = False,
    license_url: Annotated[
        str | None, typer.Option("--license", help="The data's license (URL), for Croissant.")
    ] = None,
    fail_on_redacted: Annotated[
        bool,
        typer.Option(
            "--fail-on-redacted", help="Exit 1 and write nothing when any member is redacted."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Export a logged mix for training: each member's text with its provenance, the
    checkpoint it was read at and a receipt for the mix entry (docs/export.md)."""
    from keel.mix import check_export_target, export_mix

    check_export_target(output)
    with (
        open_ledger(ctx) as led,
        progress(f"export {ref}: log entries read", None) as update,
    ):
        report = export_mix(
            led,
            ref,
            output,
            format=fmt,
            croissant=croissant,
            license=license_url,
            fail_on_redacted=fail_on_redacted,
            progress=update,
        )
    facts = report.facts
    if as_json:
        emit_json(report.to_json())
    if not report.written:
        err.print(
            f"{facts.redacted:,} of {facts.members:,} members of mix {facts.mix_id} are "
            "redacted: nothing written (--fail-on-redacted)"
        )
        raise typer.Exit(1)
    if facts.redacted:
        err.print(
            f"[yellow]{facts.redacted:,} redacted members[/] are not in the data: listed in "
            f"{escape(str(output / 'redacted.jsonl'))}"
        )
    if not as_json:
        out.print(
            f"exported {facts.rows:,} of {facts.members:,} members of mix {facts.mix_id} to "
            f"{escape(str(output))} ({report.format}); read at checkpoint "
            f"{facts.checkpoint_size:,} of {escape(facts.origin)}, receipt in mix.tlog-proof"
        )
