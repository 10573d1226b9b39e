"""`keel rlaif ...`: preference pairs, reward models and policy runs that know their judges."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from keel.cli._common import bounded, check_out, emit_json, open_ledger, out, progress, write_bytes
from keel.errors import InputError

app = typer.Typer(help="RLAIF: preference pairs, corrected reward models, policy runs, the demo.")

# -- preference pairs and reward models (R1) -------------------------------------------------
reward_app = typer.Typer(help="Reward models fitted to a judge's logged preferences.")
app.add_typer(reward_app, name="reward")


@app.command("pairs")
def pairs_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV, JSONL or Parquet: one showing a row.")],
    field: Annotated[
        list[str],
        typer.Option(
            help="Map a part to a column: PART=COLUMN, PART one of prompt, first, second, "
            "choice, judge, kind, score, rationale, first_producer, second_producer, "
            "first_origin, second_origin, judge_model (repeatable).",
        ),
    ] = [],  # noqa: B006
    judge: Annotated[str | None, typer.Option(help="The judge of rows without one.")] = None,
    kind: Annotated[str, typer.Option(help="ai or expert, for rows without a kind.")] = "ai",
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl, csv or parquet (default: suffix).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Append the preferences in FILE (one showing a row) in one transaction.

    The prompt and response records and one preference entry per row are logged together, or
    nothing is: a bad row exits 2 naming the file and line (docs/rlaif.md).
    """
    from keel.rlaif.pairs import PAIR_FILE_FIELDS, log_preferences, read_preferences

    judged = read_preferences(file, PAIR_FILE_FIELDS.parse(field), judge=judge, kind=kind, fmt=fmt)
    with open_ledger(ctx) as led:
        logged = log_preferences(led, judged)
        size = led.size
    if as_json:
        emit_json(
            {
                "file": str(file),
                "pairs": len(judged),
                "preferences": list(logged.preferences),
                "gold": list(logged.gold),
                "appended": logged.appended,
                "existing": logged.existing,
                "ledger_size": size,
            }
        )
        return
    out.print(
        f"{escape(str(file))}: {len(judged):,} judged pairs, "
        f"{len(logged.preferences) + len(logged.gold):,} preferences; "
        f"[green]{logged.appended:,} entries appended[/], {logged.existing:,} already there; "
        f"ledger size {size:,}"
    )


@app.command("audit")
def audit_command(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap intervals.", min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Audit the AI judges' logged preferences against the experts'.

    keel's pairwise audit: accuracy over both orders, position consistency, first-slot and
    longer-answer win rates, self-preference, each with an item-clustered bootstrap interval.
    """
    from keel.rlaif.pairs import audit_preferences, load_preferences, with_gold

    with open_ledger(ctx, readonly=True) as led:
        judged = with_gold(load_preferences(led))
    profiles = audit_preferences(judged, seed=seed)
    if as_json:
        emit_json([p.to_json() for p in profiles])
        return
    for p in profiles:
        out.print(escape(p.summary) + f" ({p.n:,} showings)")


@reward_app.command("fit")
def reward_fit_command(
    ctx: typer.Context,
    judge: Annotated[
        str | None, typer.Option(help="The AI judge whose preferences train it (if several).")
    ] = None,
    corrected: Annotated[
        bool,
        typer.Option(
            "--corrected/--plain",
            help="Correct for the judge's flip rates measured on the expert-labelled anchors.",
        ),
    ] = False,
    orientation: Annotated[
        str, typer.Option(help="longer or first: which side the flip rates are oriented by.")
    ] = "longer",
    curriculum: Annotated[
        int | None,
        typer.Option(
            help="Train easy to hard in this many stages (default: shuffled).",
            min=1,
            max=100,
        ),
    ] = None,
    heldout: Annotated[
        float,
        typer.Option(
            help="Share of expert-labelled pairs held out for accuracy, in (0, 1).",
            callback=bounded(0.0, 1.0),
        ),
    ] = 0.5,
    epochs: Annotated[int, typer.Option(help="Passes over the pairs.", min=1, max=1000)] = 6,
    seed: Annotated[int, typer.Option(help="Seed of the split and the fit.", min=0)] = 0,
    save: Annotated[
        Path | None, typer.Option(help="Write the weights here (keel-reward/1).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite the --save file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """Fit a reward model to a judge's logged preferences and log the run.

    Prints its held-out accuracy on expert-labelled pairs with a Wilson interval, and for
    --corrected the judge's flip rates from the anchors (docs/rlaif.md).
    """
    from keel.rlaif.reward import FitConfig, fit_from_ledger

    if orientation not in ("longer", "first"):
        raise InputError(f"--orientation {orientation!r}: use longer or first")
    check_out(ctx, save, force=force)
    config = FitConfig(epochs=epochs, seed=seed)
    with (
        open_ledger(ctx) as led,
        progress("fit reward model", None) as update,
    ):
        done = fit_from_ledger(
            led,
            judge=judge,
            corrected=corrected,
            config=config,
            orientation="longer" if orientation == "longer" else "first",
            stages=curriculum,
            heldout_share=heldout,
            on_batch=update,
        )
    if save is not None:
        write_bytes(ctx, done.fit.model.to_bytes(), save, force=force)
    if as_json:
        emit_json(done.to_json())
        return
    acc = done.accuracy
    noise = done.fit.noise
    rates = (
        ""
        if noise is None
        else f"; flip rates ε₊ {noise.eps_plus.value:.3f} [{noise.eps_plus.lo:.3f}, "
        f"{noise.eps_plus.hi:.3f}], ε₋ {noise.eps_minus.value:.3f} [{noise.eps_minus.lo:.3f}, "
        f"{noise.eps_minus.hi:.3f}] ({noise.orientation})"
    )
    out.print(
        f"reward-model/{done.fit.method} on {escape(done.judge)}: {done.trained:,} pairs, "
        f"held-out accuracy {acc.value:.3f} [{acc.lo:.3f}, {acc.hi:.3f}] on {done.heldout:,} "
        f"expert-labelled pairs{rates}; run {done.run}"
    )


# -- policy runs and the demo (R2) -------------------------------------------------------------
@app.command("demo")
def demo_command(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the demo's ledger (rlaif.db) and report.")
    ] = Path("keel-rlaif-demo"),
    seed: Annotated[
        int, typer.Option(help="Seed of the pairs, judges, fits and policies.", min=0)
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")] = False,
) -> None:
    """RLAIF under a 2:1 critical judge and a verbose one: plain and anchor-corrected reward
    models, a short GRPO run of a tiny GPT-2 on each with the Goodhart gate, one report."""
    from keel.cli._common import err
    from keel.rlaif.demo import run_demo, summary

    result = run_demo(out_dir, seed=seed, on_progress=lambda m: err.print(escape(m)))
    if as_json:
        emit_json(result.to_json())
        return
    for line in summary(result.arms):
        out.print(escape(line))
    out.print(
        f"report: {escape(str(result.report))}  ledger: {escape(str(result.ledger))}  "
        f"({result.seconds:.0f} s)"
    )
