"""`keel review ...`: reviewers, rounds and the review web app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from keel.cli._common import bounded, emit_json, err, open_ledger, out, settings
from keel.errors import InputError
from keel.mix import MAX_SEED
from keel.records import Role

app = typer.Typer(help="Expert review by real people: reviewers, rounds, the web app.")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]
DEFAULT_PORT = 8765


def _link(host: str, port: int, token: str) -> str:
    return f"http://{host}:{port}/login/{token}"


@app.command("add")
def add_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The reviewer's name (letters, digits, -_.).")],
    admin: Annotated[bool, typer.Option("--admin", help="Make them an administrator.")] = False,
    host: Annotated[str, typer.Option(help="Host of the login link.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the login link.")] = DEFAULT_PORT,
    as_json: JsonFlag = False,
) -> None:
    """Add a reviewer: enrol their key in the ledger and print their one-time login link."""
    from keel.experts.access import Access
    from keel.experts.rounds import enrol

    with open_ledger(ctx) as led:
        access = Access.open(settings(ctx).file("the review app's sign-in store"))
        try:
            role: Role = "admin" if admin else "reviewer"
            token, vkey = access.add(name, role)
            appended = enrol(led, name, role, vkey)
        finally:
            access.close()
    link = _link(host, port, token)
    if as_json:
        emit_json({"name": name, "role": role, "enrolment": appended.id, "link": link})
        return
    out.print(f"{escape(name)} ({role}) enrolled as entry {appended.index}; their login link:")
    out.print(link)
    err.print("the link works once; `keel review link NAME` makes a new one")


app.command("add-reviewer", help="Same as `keel review add`.")(add_command)


@app.command("link")
def link_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The reviewer.")],
    host: Annotated[str, typer.Option(help="Host of the login link.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the login link.")] = DEFAULT_PORT,
    as_json: JsonFlag = False,
) -> None:
    """Print a new one-time login link for a reviewer (the old one stops working)."""
    from keel.experts.access import Access

    with open_ledger(ctx, readonly=True):
        access = Access.open(settings(ctx).file("the review app's sign-in store"))
        try:
            token = access.new_link(name)
        finally:
            access.close()
    link = _link(host, port, token)
    if as_json:
        emit_json({"name": name, "link": link})
        return
    out.print(link)


def _gold(path: Path | None) -> dict[str, str]:
    """Gold answers from a CSV or JSONL file with columns `record` and `answer`."""
    if path is None:
        return {}
    from keel._input import read_rows

    gold: dict[str, str] = {}
    for n, _, row in read_rows(path):
        record, answer = row.get("record"), row.get("answer")
        if not isinstance(record, str) or not isinstance(answer, str):
            raise InputError(f"{path}:{n}: give a `record` id and an `answer` on every row")
        if record in gold:
            raise InputError(f"{path}:{n}: record {record} is listed twice")
        gold[record] = answer.strip().lower()
    return gold


@app.command("open")
def open_command(
    ctx: typer.Context,
    reviewers: Annotated[
        list[str], typer.Option("--reviewer", "-r", help="A reviewer (repeat for each).")
    ],
    budget: Annotated[int, typer.Option(help="Records to review.", callback=bounded(0, 1_000_000))],
    generation: Annotated[
        int | None, typer.Option(help="The generation to review (default: all).")
    ] = None,
    overlap: Annotated[
        int, typer.Option(help="Reviewers per record.", callback=bounded(1, 100))
    ] = 1,
    random_share: Annotated[
        float, typer.Option(help="Share of the budget drawn at random (the unbiased anchors).")
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed of the draw.", callback=bounded(0, MAX_SEED))] = 0,
    gold: Annotated[
        Path | None,
        typer.Option(help="Gold answers: a CSV or JSONL file of `record` and `answer` columns."),
    ] = None,
    guidelines: Annotated[
        Path | None, typer.Option(help="A text file of guidelines shown with every item.")
    ] = None,
    show_judges: Annotated[
        bool, typer.Option("--show-judges", help="Show reviewers the AI judges' verdicts.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Open a review round: draw the records, assign reviewers, log the round."""
    from keel.experts.rounds import open_round

    text = ""
    if guidelines is not None:
        try:
            text = guidelines.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{guidelines}: cannot read it as UTF-8 text ({exc})") from exc
    answers = _gold(gold)
    with open_ledger(ctx) as led:
        opened = open_round(
            led, reviewers, budget=budget, generation=generation, random_share=random_share,
            seed=seed, overlap=overlap, gold=answers, guidelines=text,  # type: ignore[arg-type]
            show_judges=show_judges,
        )  # fmt: skip
    items = opened.round.items
    summary = {
        "round": opened.id,
        "index": opened.appended.index,
        "items": len(items),
        "random": sum(i.reason == "random" for i in items),
        "uncertain": sum(i.reason == "uncertain" for i in items),
        "gold": sum(i.reason == "gold" for i in items),
    }
    if as_json:
        emit_json(summary)
        return
    out.print(
        f"round {opened.id} (entry {opened.appended.index}): {len(items)} items, "
        f"{summary['random']} random, {summary['uncertain']} by uncertainty, "
        f"{summary['gold']} gold; reviewers: {escape(', '.join(reviewers))}"
    )


@app.command("close")
def close_command(
    ctx: typer.Context,
    round_id: Annotated[str, typer.Argument(metavar="ROUND", help="The round's id or prefix.")],
    as_json: JsonFlag = False,
) -> None:
    """Close a round: no decision is taken after; its gold answers are revealed."""
    from keel.experts.rounds import close_round

    with open_ledger(ctx) as led:
        appended = close_round(led, round_id)
    if as_json:
        emit_json({"close": appended.id, "index": appended.index})
        return
    out.print(f"round closed (entry {appended.index})")


@app.command("status")
def status_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every round with each reviewer's progress."""
    from keel.experts.rounds import rounds

    with open_ledger(ctx, readonly=True) as led:
        states = rounds(led)
    progress = [
        {n: s.progress(n) for n in sorted({r for i in s.round.items for r in i.reviewers})}
        for s in states
    ]
    if as_json:
        emit_json(
            [
                {"round": s.id, "generation": s.round.generation, "items": len(s.round.items),
                 "closed": s.closed, "progress": {n: list(dt) for n, dt in p.items()}}
                for s, p in zip(states, progress, strict=True)
            ]
        )  # fmt: skip
        return
    if not states:
        out.print("no rounds yet: `keel review open`")
    for s, p in zip(states, progress, strict=True):
        done = ", ".join(f"{n} {d}/{t}" for n, (d, t) in p.items())
        state = "closed" if s.closed else "open"
        out.print(f"{s.id[:12]} {state}, {len(s.round.items)} items: {escape(done)}")


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port.", callback=bounded(0, 65535))] = DEFAULT_PORT,
) -> None:
    """Serve the review web app for this ledger."""
    try:
        import uvicorn

        from keel.experts.web.app import create_app
    except ImportError as exc:
        raise InputError("the review app needs the web extra: pip install 'keel[web]'") from exc
    s = settings(ctx)
    db = s.file("the review app's sign-in store")
    with open_ledger(ctx, readonly=True):
        pass  # refuses a missing or foreign database before the server starts
    err.print(f"serving {escape(str(db))} at http://{host}:{port}/ (Ctrl+C stops)")
    uvicorn.run(create_app(db, s.key_file), host=host, port=port, log_level="warning")
