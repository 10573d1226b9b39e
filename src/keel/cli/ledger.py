"""`keel ledger ...`: keys, checkpoints, receipts, lookups, lineage, erasure, verification."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from keel._files import sha256_file
from keel.cli._common import (
    bounded,
    check_out,
    emit_json,
    err,
    open_ledger,
    out,
    progress,
    settings,
    utf8,
    write_bytes,
)
from keel.errors import InputError, NotFoundError, VerificationError
from keel.ledger import (
    Located,
    ProofBundle,
    Trace,
    check_payload,
    load_verifier,
    trace,
    verify_bundle,
)
from keel.records import (
    JSON,
    Close,
    Digest,
    Enrolment,
    Record,
    Redaction,
    Round,
    Run,
    Verdict,
    mix,
    parse_json,
    verdict,
)
from keel.records import Mix as MixEntry

app = typer.Typer(help="The provenance ledger: keys, checkpoints, receipts, lineage, erasure.")
key_app = typer.Typer(help="The ledger's Ed25519 checkpoint key.")
app.add_typer(key_app, name="key")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for pipelines.")]
ForceFlag = Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")]


# -- keys --------------------------------------------------------------------------------------
@key_app.command("init")
def key_init(
    ctx: typer.Context,
    origin: Annotated[
        str | None,
        typer.Option(help="The log's origin, e.g. example.com/team/ledger (default: random)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create the ledger's signing key; print the verifier key to hand to auditors."""
    with open_ledger(ctx, create=True) as led:
        vkey = led.init_key(origin)
        path = led.key_path
    if as_json:
        emit_json({"verifier_key": vkey, "key_file": str(path)})
        return
    out.print(vkey)
    err.print(
        f"signing key written to {escape(str(path))} (keep it secret; it is not in the database)"
    )


@key_app.command("show")
def key_show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Print the ledger's verifier key."""
    with open_ledger(ctx, readonly=True) as led:
        vkey = led.verifier().vkey
        origin = led.origin
    if as_json:
        emit_json({"verifier_key": vkey, "origin": origin})
    else:
        out.print(vkey)


# -- checkpoints and receipts --------------------------------------------------------------
@app.command("checkpoint")
def checkpoint(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write it here (replaced atomically: a checkpoint is refreshed)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Sign a checkpoint (c2sp.org/tlog-checkpoint) of the log now and print it."""
    check_out(ctx, output, force=True)
    with open_ledger(ctx) as led:
        note = led.checkpoint()
        cp = led.latest_checkpoint()
    assert cp is not None
    if as_json:
        if output is not None:
            write_bytes(ctx, note, output, force=True)
        emit_json(
            {"origin": cp.origin, "size": cp.size, "root": cp.root.hex(), "note": note.decode()}
        )
        return
    write_bytes(ctx, note, output, force=True)


@app.command("prove")
def prove(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(help="Entry id, unique id prefix, or external id.", callback=utf8)
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the .tlog-proof here.")
    ] = None,
    force: ForceFlag = False,
) -> None:
    """Write a receipt (c2sp.org/tlog-proof@v1) proving an entry is in the signed log."""
    check_out(ctx, output, force=force)
    with open_ledger(ctx) as led:
        bundle = led.prove(ref)
    write_bytes(ctx, bundle.format(), output, force=force)
    if output is not None:
        err.print(f"receipt for entry {bundle.index} written to {escape(str(output))}")


@app.command("entry")
def entry(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(help="Entry id, unique id prefix, or external id.", callback=utf8)
    ],
    raw: Annotated[bool, typer.Option("--raw", help="Print the exact logged bytes.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write it here.")] = None,
    force: ForceFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Show an entry: its id, index and logged content."""
    check_out(ctx, output, force=force)
    with open_ledger(ctx, readonly=True) as led:
        loc = led.locate(ref)
    if raw:
        write_bytes(ctx, loc.raw, output, force=force)
        return
    if as_json:
        emit_json({"id": loc.id, "index": loc.index, "entry": orjson.loads(loc.raw)})
        return
    out.print(f"[bold]{loc.entry.kind}[/] {loc.id}  (index {loc.index})")
    out.print_json(loc.raw.decode())


@app.command("payload")
def payload(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(help="Entry id/prefix/external id, or payload digest.", callback=utf8)
    ],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write it here.")] = None,
    force: ForceFlag = False,
) -> None:
    """Print the payload bytes an entry commits to (text, JSON or a mix's member list)."""
    check_out(ctx, output, force=force)
    with open_ledger(ctx, readonly=True) as led, led.snapshot():
        digest = led.payload_digest(ref)
        data = led.payload(digest)
    write_bytes(ctx, data, output, force=force)


@app.command("verify-proof")
def verify_proof(
    bundle: Annotated[Path, typer.Argument(help="The .tlog-proof receipt.")],
    entry_file: Annotated[
        Path, typer.Argument(help="The entry's exact bytes (ledger entry --raw).")
    ],
    key: Annotated[
        str, typer.Option(help="Trusted verifier key: the string, or a file holding it.")
    ],
    payload_file: Annotated[
        Path | None, typer.Option("--payload", help="Also check these payload bytes.")
    ] = None,
    witness: Annotated[
        list[str],
        typer.Option(
            help="A trusted witness's verifier key (string or file): also check its cosignature "
            "on the receipt's checkpoint (repeatable; see --quorum).",
        ),
    ] = [],  # noqa: B006
    quorum: Annotated[
        int | None,
        typer.Option(
            help="Valid cosignatures needed from the --witness keys (default: all).", min=1
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a receipt offline, with no database: signature, inclusion, and optionally payload
    and witness cosignatures (c2sp.org/tlog-cosignature)."""
    from keel.ledger.witness import check_quorum, load_cosigner

    verifier = load_verifier(key)
    cosigners = [load_cosigner(w) for w in witness]
    if quorum is not None and not cosigners:
        raise InputError("--quorum counts cosignatures by the --witness keys: give them")
    proof = ProofBundle.parse(_read(bundle))
    raw = _read(entry_file)
    cp = verify_bundle(proof, raw, verifier)
    result: dict[str, JSON] = {
        "ok": True,
        "origin": cp.origin,
        "index": proof.index,
        "tree_size": cp.size,
        "root": cp.root.hex(),
        "entry_id": hashlib.sha256(raw).hexdigest(),
    }
    found = check_quorum(proof.checkpoint, cosigners, quorum or len(cosigners)) if cosigners else []
    if found:
        result["witnesses"] = [{"name": c.cosigner.name, "time": c.timestamp} for c in found]
    if payload_file is not None:
        result["payload"] = check_payload(raw, _read(payload_file))
    if as_json:
        emit_json(result)
        return
    out.print(
        f"[green]OK[/] entry {proof.index} ({result['entry_id']}) is in {escape(cp.origin)} "
        f"at tree size {cp.size}"
        + (", payload matches" if payload_file else "")
        + (f", cosigned by {len(found)} witnesses" if cosigners else "")
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from exc


# -- verification ------------------------------------------------------------------------------
@app.command("verify")
def verify_command(
    ctx: typer.Context,
    key: Annotated[
        str | None,
        typer.Option(
            help="Trusted verifier key: the string, or a file holding it (default: from the key "
            "file)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recheck everything: entries, tree, payloads, checkpoints; name the first failure."""
    s = settings(ctx)
    with open_ledger(ctx, readonly=True) as led:
        verifier, source = led.trusted_verifier(key)
        with progress("verify", led.size) as update:
            report = led.verify(verifier, progress=update)
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "db": s.shown,
                "size": report.size,
                "root": report.root,
                "payloads": report.payloads,
                "redacted": report.redacted,
                "checkpoints": report.checkpoints,
                "uncovered": report.uncovered,
                "key": verifier.name,
                "key_source": source,
                "problems": [
                    {"where": p.where, "at": p.at, "message": p.message} for p in report.problems
                ],
            }
        )
    else:
        if source == "database":
            err.print(
                "[yellow]warning:[/] the verifier key comes from the database itself; pass --key "
                "with the key you trust for an independent check"
            )
        for p in report.problems:
            out.print(f"[red]FAIL[/] {p.where} {escape(p.at)}: {escape(p.message)}")
        status = "[green]OK[/]" if report.ok else "[red]TAMPERED[/]"
        out.print(
            f"{status} {report.size:,} entries, {report.payloads:,} payloads "
            f"({len(report.redacted)} redacted), {report.checkpoints} checkpoints; "
            f"root {report.root}"
        )
        if report.size and not report.checkpoint_size:
            err.print(
                "[yellow]warning:[/] no signed checkpoint covers this ledger: anyone with the "
                "file could rewrite it unnoticed; run `keel ledger checkpoint` and publish it"
            )
        elif report.uncovered:
            err.print(
                f"[yellow]warning:[/] {report.uncovered:,} entries after the latest checkpoint "
                f"(size {report.checkpoint_size:,}) are not covered by a signature yet; "
                "run `keel ledger checkpoint`"
            )
    if not report.ok:
        raise typer.Exit(VerificationError.exit_code)


# -- erasure -----------------------------------------------------------------------------------
@app.command("redact")
def redact(
    ctx: typer.Context,
    ref: Annotated[
        str, typer.Argument(help="Entry id/prefix/external id, or payload digest.", callback=utf8)
    ],
    reason: Annotated[str, typer.Option(help="Why the bytes are erased (logged).", callback=utf8)],
    as_json: JsonFlag = False,
) -> None:
    """Erase a payload's bytes and log a redaction entry; proofs and checkpoints stay valid."""
    with open_ledger(ctx) as led:
        digest = led.payload_digest(ref)
        result = led.redact(digest, reason)
    if as_json:
        emit_json(
            {"redaction": result.id, "index": result.index, "digest": digest, "new": result.new}
        )
        return
    what = "redacted" if result.new else "already redacted"
    out.print(f"payload {digest} {what}; redaction entry {result.id} (index {result.index})")


@app.command("compact")
def compact(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Finish erasures: move erased bytes out of the database's write-ahead log."""
    with open_ledger(ctx) as led:
        led.compact()
    if as_json:
        emit_json({"ok": True})
    else:
        out.print("erased bytes are gone from every file of the ledger")


# -- lookups -------------------------------------------------------------------------------
def _row(loc: Located) -> dict[str, JSON]:
    e = loc.entry
    summary: dict[str, JSON] = {"id": loc.id, "index": loc.index, "kind": e.kind}
    if loc.alias is not None:
        summary["external_id"] = loc.alias  # a lookup name: not covered by the log
    if isinstance(e, Record):
        summary.update(
            origin=e.origin,
            payload=e.payload.sha256,
            producer=e.producer.model if e.producer else None,
            author=e.author,
            generation=e.generation,
            parents=list(e.parents),
        )
    elif isinstance(e, Verdict):
        summary.update(
            record=e.record, judge=e.judge, judge_kind=e.judge_kind, label=e.label, score=e.score
        )
        if e.round is not None:
            summary.update(round=e.round, signed=e.signature.made if e.signature else None)
    elif isinstance(e, MixEntry):
        summary.update(members=e.count, payload=e.members.sha256, policy=dict(e.policy))
    elif isinstance(e, Run):
        summary.update(mix=e.mix, model=e.model)
    elif isinstance(e, Redaction):
        summary.update(digest=e.digest, reason=e.reason)
    elif isinstance(e, Enrolment):
        summary.update(name=e.name, role=e.role, key=e.key)
    elif isinstance(e, Round):
        summary.update(generation=e.generation, items=len(e.items), overlap=e.overlap, gold=e.gold)
    elif isinstance(e, Close):
        summary.update(round=e.round, answers=len(e.answers))
    return summary


def _describe(loc: Located) -> str:
    """A one-line summary with ids and digests shortened to 12 hex digits."""

    def short(v: JSON) -> JSON:
        if isinstance(v, str) and len(v) == 64:
            return v[:12]
        if isinstance(v, list):
            return "[" + " ".join(str(short(x)) for x in v) + "]"
        return v

    r = _row(loc)
    skip = {"id", "index", "kind"}
    return escape(
        ", ".join(
            f"{k}={short(v)}" for k, v in r.items() if k not in skip and v not in (None, [], {})
        )
    )


def _table(rows: list[Located], title: str) -> None:
    t = Table(title=title, show_lines=False)
    for col in ("index", "kind", "id", "details"):
        t.add_column(col, overflow="fold")
    for loc in rows:
        t.add_row(str(loc.index), loc.entry.kind, loc.id[:16], Text.from_markup(_describe(loc)))
    if any(loc.alias is not None for loc in rows):
        t.caption = "external ids are lookup names kept beside the log: not authenticated"
    out.print(t)


@app.command("find")
def find(
    ctx: typer.Context,
    query: Annotated[
        str | None,
        typer.Argument(help="An id, id prefix, external id, or payload digest.", callback=utf8),
    ] = None,
    text: Annotated[
        str | None, typer.Option(help="Exact payload text to look for.", callback=utf8)
    ] = None,
    digest: Annotated[
        str | None, typer.Option(help="Payload SHA-256 (hex).", callback=utf8)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Look entries up by id, payload digest, or exact text."""
    if sum(x is not None for x in (query, text, digest)) != 1:
        raise InputError("give exactly one of QUERY, --text or --digest")
    with open_ledger(ctx, readonly=True) as led, led.snapshot():
        if text is not None:
            found = led.find_text(text)
        elif digest is not None:
            found = led.find_payload(digest.lower())
        else:
            assert query is not None
            try:
                found = [led.locate(query)]
            except NotFoundError:
                found = led.find_payload(query.lower()) if len(query) == 64 else []
    if not found:
        raise NotFoundError("nothing found")
    if as_json:
        emit_json([_row(f) for f in found])
        return
    _table(found, f"{len(found)} found")


@app.command("lineage")
def lineage(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            help="Entry id, id prefix, or external id: a record, or a run, mix, verdict, ...",
            callback=utf8,
        ),
    ],
    as_json: JsonFlag = False,
    prov: Annotated[
        bool,
        typer.Option(
            "--prov",
            help="Write the lineage as W3C PROV-JSON: the records, verdicts, mixes and runs, "
            "what made them and who (docs/prov.md).",
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write the PROV-JSON here (never over an existing file)."
        ),
    ] = None,
) -> None:
    """Show a record's ancestors (parents, their parents, ...) and the verdicts on each; for
    any other entry (a policy checkpoint, a reward model's run, a mix), everything it depends
    on, back to the records and the judges behind them."""
    if output is not None and not prov:
        raise InputError("-o writes the PROV-JSON document: add --prov")
    if prov:
        if as_json:
            raise InputError("give --prov or --json, not both")
        from keel.ledger.prov import lineage_prov, prov_bytes

        check_out(ctx, output, force=True)  # the ledger's own files, folders, unwritable places
        if output is not None and output.exists():
            raise InputError(f"{output} exists: keel never writes over it; choose another path")
        with open_ledger(ctx, readonly=True) as led:
            document = lineage_prov(led, ref)
        write_bytes(ctx, prov_bytes(document), output, force=False)
        return
    with open_ledger(ctx, readonly=True) as led:
        if not isinstance(led.locate(ref).entry, Record):
            _dependencies(trace(led, ref), as_json=as_json)
            return
        lin = led.lineage(ref)
    if as_json:
        emit_json(
            {
                "record": _row(lin.record),
                "verdicts": [_row(v) for v in lin.verdicts],
                "ancestors": [
                    {**_row(a.located), "depth": a.depth, "verdicts": [_row(v) for v in a.verdicts]}
                    for a in lin.ancestors
                ],
                "children": list(lin.children),
            }
        )
        return

    def label(markup: str) -> Text:
        return Text.from_markup(markup, overflow="fold")

    tree = Tree(label(f"[bold]{lin.record.id}[/] {_describe(lin.record)}"))
    for v in lin.verdicts:
        tree.add(label(f"[magenta]verdict[/] {_describe(v)}"))
    parents = {
        loc.id: loc.entry.parents
        for loc in (lin.record, *(a.located for a in lin.ancestors))
        if isinstance(loc.entry, Record)
    }
    nodes = {lin.record.id: tree}
    for a in lin.ancestors:
        # hang each ancestor under the nearest record already shown that names it as a parent
        child = next((c for c in reversed(nodes) if a.located.id in parents.get(c, ())), None)
        node = nodes[child] if child is not None else tree
        node = node.add(label(f"[cyan]parent[/] {a.located.id[:16]} {_describe(a.located)}"))
        for v in a.verdicts:
            node.add(label(f"[magenta]verdict[/] {_describe(v)}"))
        nodes[a.located.id] = node
    out.print(tree, soft_wrap=False)
    if lin.record.alias is not None:
        err.print(f"found by external id {lin.record.alias!r}: a lookup name, not authenticated")
    if lin.children:
        out.print(
            f"{len(lin.children)} child record(s): " + ", ".join(c[:16] for c in lin.children)
        )


def _dependencies(t: Trace, *, as_json: bool) -> None:
    """What a non-record entry depends on: counts by kind, the judges, and the runs and mixes
    on the way (the records, preferences and verdicts are counted; --json lists them all)."""
    if as_json:
        emit_json(
            {
                "start": _row(t.start),
                "reached": [{**_row(r.located), "depth": r.depth} for r in t.reached],
                "judges": list(t.judges),
                "other_judgements": [j.id for j in t.judgements],
            }
        )
        return
    kinds = Counter(r.located.entry.kind for r in t.reached)
    counts = ", ".join(f"{n:,} {k}" for k, n in sorted(kinds.items()))
    out.print(
        f"[bold]{t.start.id}[/] ({t.start.entry.kind}) depends on {len(t.reached):,} entries "
        f"({counts or 'none'}); judges: {escape(', '.join(t.judges) or 'none')}; "
        f"{len(t.judgements):,} other judgements of the records reached"
    )
    chain = [r.located for r in t.reached if isinstance(r.located.entry, (Run, MixEntry))]
    if chain:
        _table(chain, "runs and mixes it depends on, nearest first")


@app.command("log")
def log(
    ctx: typer.Context,
    count: Annotated[
        int,
        typer.Option(
            "-n", "--count", help="How many entries, 1 to 100,000.", callback=bounded(1, 100_000)
        ),
    ] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Show the most recent entries, newest first."""
    with open_ledger(ctx, readonly=True) as led, led.snapshot():
        rows = led.recent(count)
        size = led.size
    if as_json:
        emit_json([_row(r) for r in rows])
        return
    _table(rows, f"last {len(rows)} of {size:,} entries")


@app.command("info")
def info(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Summarise the ledger: size, root, origin, key, checkpoint coverage."""
    with open_ledger(ctx, readonly=True) as led:
        i = led.info()
    data: dict[str, JSON] = {
        "db": settings(ctx).shown,
        "size": i.size,
        "root": i.root,
        "origin": i.origin,
        "verifier_key": i.verifier_key,
        "checkpoints": i.checkpoints,
        "checkpoint_size": i.checkpoint_size,
        "uncovered": i.uncovered,
    }
    if as_json:
        emit_json(data)
        return
    shown = {
        **data,
        "origin": i.origin or "(no key yet: `keel ledger key init`)",
        "verifier_key": i.verifier_key or "(no key yet)",
        "checkpoint_size": "(none signed yet)" if i.checkpoint_size is None else i.checkpoint_size,
    }
    for k, v in shown.items():
        out.print(escape(f"{k:16s} {v}"))


# -- adding verdicts, mixes, runs ----------------------------------------------------------
@app.command("add-verdict")
def add_verdict(
    ctx: typer.Context,
    record: Annotated[
        str, typer.Argument(help="The judged record (id, prefix or external id).", callback=utf8)
    ],
    judge: Annotated[
        str,
        typer.Option(help="Judge id, e.g. gpt-4o-2024-08-06 or expert:ana.", callback=utf8),
    ],
    judge_kind: Annotated[str, typer.Option(help="ai or expert.")] = "ai",
    label: Annotated[
        str | None, typer.Option(help="Verdict label, e.g. accept/reject.", callback=utf8)
    ] = None,
    score: Annotated[float | None, typer.Option(help="Numeric score.")] = None,
    rubric: Annotated[str | None, typer.Option(help="Rubric id.", callback=utf8)] = None,
    rationale: Annotated[
        str | None, typer.Option(help="Rationale text (a payload).", callback=utf8)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Log a judge's or expert's verdict on a record."""
    with open_ledger(ctx) as led:
        target = led.locate(record)
        v, data = verdict(
            target.id,
            judge,
            judge_kind,
            label=label,
            score=score,
            rubric=rubric,
            rationale=rationale,
        )
        res = led.append([(v, data)])[0]
    _print_appended(res.id, res.index, res.new, "verdict", as_json)


@app.command("add-mix")
def add_mix(
    ctx: typer.Context,
    members: Annotated[Path, typer.Argument(help="File of member record ids, one per line.")],
    policy: Annotated[str, typer.Option(help="The policy that chose them, as JSON.")] = "{}",
    generation: Annotated[int | None, typer.Option(help="Generation this mix trains.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Log a training mix: its members (committed by digest) and its policy."""
    pol = _json_object(policy, "--policy")
    ids = [line.strip() for line in _read(members).decode().splitlines() if line.strip()]
    with open_ledger(ctx) as led:
        resolved = [led.locate(i).id for i in ids]
        m, data = mix(resolved, pol, generation=generation)
        res = led.append([(m, data)])[0]
    _print_appended(res.id, res.index, res.new, f"mix of {m.count} records", as_json)


@app.command("add-run")
def add_run(
    ctx: typer.Context,
    mix_ref: Annotated[
        str, typer.Argument(metavar="mix", help="The mix the run trained on.", callback=utf8)
    ],
    model: Annotated[str, typer.Option(help="Name of the model trained.")],
    config: Annotated[str, typer.Option(help="Training configuration, as JSON.")] = "{}",
    artifact: Annotated[
        Path | None, typer.Option(help="The trained weights file (its SHA-256 is logged).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Log a training run tied to the exact mix it saw."""
    cfg = _json_object(config, "--config")
    digest = None if artifact is None else sha256_file(artifact)
    with open_ledger(ctx) as led:
        target = led.locate(mix_ref)
        if not isinstance(target.entry, MixEntry):
            raise InputError(f"{mix_ref} is a {target.entry.kind}, not a mix")
        run = Run(target.id, model, cfg, None if digest is None else Digest(digest))
        res = led.append([(run, None)])[0]
    _print_appended(res.id, res.index, res.new, "run", as_json)


def _json_object(text: str, flag: str) -> dict[str, JSON]:
    try:
        value = parse_json(text, flag)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{flag} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InputError(f"{flag} must be a JSON object")
    return value


def _print_appended(eid: str, index: int, new: bool, what: str, as_json: bool) -> None:
    if as_json:
        emit_json({"id": eid, "index": index, "new": new})
    else:
        out.print(f"{what} {eid} (index {index})" + ("" if new else " was already logged"))


from keel.cli.verdicts import import_verdicts_command  # noqa: E402 - below `app`, no cycle

app.command("import-verdicts")(import_verdicts_command)

from keel.cli.witness import witness_ledger_command  # noqa: E402 - below `app`, no cycle

app.command("witness")(witness_ledger_command)

from keel.cli.tiles import export_tiles_command, serve_command  # noqa: E402 - below `app`, no cycle

app.command("export-tiles")(export_tiles_command)
app.command("serve")(serve_command)

from keel.cli.anchor import anchor_command, verify_anchor_command  # noqa: E402 - below `app`

app.command("anchor")(anchor_command)
app.command("verify-anchor")(verify_anchor_command)

from keel.cli.migrate import migrate_command  # noqa: E402 - below `app`, no cycle

app.command("migrate")(migrate_command)
