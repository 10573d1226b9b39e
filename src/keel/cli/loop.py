"""`keel loop run` (one loop from its TOML file) and `keel demo` (three loops side by side)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from keel.cli._common import bounded, emit_json, err, fit_table, out
from keel.loop.limits import MAX_GENERATIONS
from keel.mix import MAX_SEED

if TYPE_CHECKING:
    from keel.loop import LoopResult, ReviewStatus, Step

app = typer.Typer(help="The anchored loop: generate, judge, review, mix, train, watch.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]


@contextmanager
def _progress(names: Sequence[str], generations: int) -> Iterator[Callable[[str, Step], None]]:
    """A bar per loop over its generations, with the current step (shown on a terminal)."""
    columns = (
        TextColumn("{task.description:<15}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[step]}", markup=False),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        tasks = {n: bar.add_task(n, total=generations + 1, step="starting") for n in names}

        def on_step(name: str, step: Step) -> None:
            finished = step.name == ("watch" if step.generation == 0 else "checkpoint")
            label = f"gen {step.generation} {step.name}" + (" (already done)" * step.skipped)
            bar.update(tasks[name], completed=step.generation + finished, step=label)

        yield on_step


def _print_loop(result: LoopResult) -> None:
    judges = [j.name for j in result.config.judges]
    rows = []
    for g in result.generations:
        w = g.watch
        rows.append(
            [
                str(g.generation),
                str(g.records),
                *(f"{g.accepted[n]:.2f}" if n in g.accepted else "–" for n in judges),
                str(g.reviewed),
                f"{g.mix_counts.get('members_verified', 0)}/{g.mix_counts.get('members', 0)}",
                f"{w.ratios['tail']:.3f}",
                f"{w.ratios['entropy']:.3f}",
                w.verdict,
            ]
        )
    headers = [
        "gen",
        "records",
        *(f"{n} accepts" for n in judges),
        "reviewed",
        "mix verified/all",
        "tail ratio",
        "entropy ratio",
        "watch",
    ]
    optional = [set(range(2, 2 + len(judges)))] if judges else []
    out.print(fit_table(f"loop {escape(result.config.name)}", headers, rows, optional=optional))
    out.print(
        f"ledger {escape(str(result.config.ledger))}: {result.ledger_size:,} entries; "
        f"{result.skipped_steps} steps were already done; latest checkpoint:"
    )
    out.print(escape(result.checkpoint.decode()), end="")


@app.command("run")
def run_command(
    config: Annotated[Path, typer.Argument(help="The loop's TOML file (docs/loop.md).")],
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="When people review (reviewer = 'web'), wait for their decisions instead of "
            "stopping with exit 7.",
        ),
    ] = False,
    poll: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="With --wait, how often to check the review, 0.1 to 3,600 seconds.",
            callback=bounded(0.1, 3600),
        ),
    ] = 10.0,
    json_: JsonFlag = False,
) -> None:
    """Run the loop of CONFIG for its generations; re-running resumes where it stopped.

    With people reviewing (docs/loop.md, "Real reviewers") the loop stops with exit 7 while a
    generation's reviews are pending; run it again once they are done, or pass --wait.
    """
    from keel.loop import load_config, run_loop

    cfg = load_config(config)

    def waiting(status: ReviewStatus) -> None:
        err.print(
            f"{escape(status.summary())} at {escape(cfg.review.url)}; waiting, checking every "
            f"{poll:g} s (Ctrl-C stops; running again resumes)"
        )

    with _progress([cfg.name], cfg.generations) as on_step:
        result = run_loop(
            cfg,
            on_step=lambda s: on_step(cfg.name, s),
            wait=poll if wait else None,
            on_pending=waiting,
        )
    if json_:
        emit_json(result.to_json())
    else:
        _print_loop(result)


def demo_command(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the arms' ledgers and the report.")
    ] = Path("keel-demo"),
    generations: Annotated[
        int,
        typer.Option(
            help=f"Generations of each arm, 1 to {MAX_GENERATIONS:,}.",
            callback=bounded(1, MAX_GENERATIONS),
        ),
    ] = 10,
    seed: Annotated[
        int, typer.Option(help="Seed of every arm, 0 to 2**53 - 1.", callback=bounded(0, MAX_SEED))
    ] = 0,
    jobs: Annotated[int, typer.Option(help="Arms run at once (processes).")] = 2,
    json_: JsonFlag = False,
) -> None:
    """Watch model collapse happen and be prevented: three loops side by side, one report."""
    from keel.loop.demo import ARMS, run_demo
    from keel.loop.report import summary

    with _progress(ARMS, generations) as on_step:
        result = run_demo(out_dir, generations=generations, seed=seed, jobs=jobs, on_step=on_step)
    if json_:
        emit_json(result.to_json())
        return
    for line in summary(result.arms):
        out.print(escape(line))
    out.print(
        f"report: {escape(str(result.report))}  ({result.seconds:.0f} s)\n"
        f"receipt for record {result.receipt.record[:16]}, verified; check it again with:\n"
        f"  {escape(result.receipt.command)}"
    )
