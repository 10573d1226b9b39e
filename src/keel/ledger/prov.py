"""A record's lineage as W3C PROV-JSON (https://www.w3.org/Submission/prov-json/).

`lineage_prov` reads, in one snapshot, what `Ledger.lineage` reads (the record, its ancestors,
the verdicts on each), the review rounds those verdicts answer, the mixes that include any of the
records and the training runs on those mixes, and maps them to PROV-DM: ledger entries become
entities named `keel:<entry id>`, what made them becomes activities (generation, judging, expert
review, mixing, training) and who made them agents (models, AI judges, reviewers, authors).
docs/prov.md gives the whole mapping and the choices PROV leaves open.

The document is a pure function of the ledger's content: the same ledger gives the same bytes
(`prov_bytes`: sorted keys; relations named by a hash of what they relate). Payload bytes are
never exported, only their digests, so a redacted record still appears, with its digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from urllib.parse import quote

import orjson

from keel.errors import NotFoundError, RedactedError
from keel.ledger.log import Ledger, Located
from keel.records import (
    JSON,
    EntryId,
    Mix,
    PayloadRef,
    Record,
    Round,
    Run,
    Verdict,
    canonical,
    payload_of,
)

KEEL_NAMESPACE = "urn:keel:"
"""The namespace of the `keel:` prefix: keel's terms (`keel:Record`, `keel:origin`) and its
entries (`keel:<entry id>`: an entry id is the SHA-256 of the entry's bytes, so the name means
the same entry in any ledger that holds it)."""

_KINDS = {
    "record": "Record",
    "verdict": "Verdict",
    "mix": "Mix",
    "run": "Run",
    "redaction": "Redaction",
    "enrolment": "Enrolment",
    "round": "Round",
    "close": "Close",
    "anchor-key": "AnchorKey",
    "anchor": "Anchor",
    "preference": "Preference",
}
_RELATIONS = (
    "wasGeneratedBy",
    "used",
    "wasAssociatedWith",
    "wasAttributedTo",
    "wasDerivedFrom",
    "hadMember",
)


def qname(name: str) -> dict[str, JSON]:
    """An attribute value that is a qualified name (PROV-JSON types it `xsd:QName`)."""
    return {"$": name, "type": "xsd:QName"}


def entry_name(entry: str) -> str:
    """The PROV identifier of a ledger entry."""
    return f"keel:{entry}"


def _agent_name(role: str, *parts: str | None) -> str:
    """`keel:<role>/<name>[@<version>]`, each part percent-encoded (RFC 3986 unreserved
    characters stay), so that any name makes a valid, unambiguous local part."""
    encoded = [quote(p, safe="-._~") for p in parts if p is not None]
    return f"keel:{role}/" + "@".join(encoded)


class _Document:
    """The PROV-JSON document being built: elements by id, relations by kind."""

    def __init__(self) -> None:
        self.entity: dict[str, dict[str, JSON]] = {}
        self.activity: dict[str, dict[str, JSON]] = {}
        self.agent: dict[str, dict[str, JSON]] = {}
        self.relations: dict[str, dict[str, dict[str, JSON]]] = {r: {} for r in _RELATIONS}

    def relate(self, kind: str, **ends: str) -> None:
        """Add a relation; its id is a hash of its kind and ends, so it is the same in every
        document that holds it, and a relation added twice is kept once."""
        body: dict[str, JSON] = {f"prov:{k}": v for k, v in ends.items()}
        digest = hashlib.sha256(kind.encode() + b"\n" + canonical(body)).hexdigest()[:16]
        self.relations[kind][f"_:{kind}-{digest}"] = body

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {"prefix": {"keel": KEEL_NAMESPACE}}
        for name, table in (
            ("entity", self.entity),
            ("activity", self.activity),
            ("agent", self.agent),
            *self.relations.items(),
        ):
            if table:
                out[name] = dict(table)
        return out


def lineage_prov(ledger: Ledger, ref: str) -> dict[str, JSON]:
    """The lineage of the record `ref` names (id, unique id prefix or external id) as a
    PROV-JSON document, read in one snapshot of the ledger (docs/prov.md)."""
    with ledger.snapshot():
        lin = ledger.lineage(ref)
        info = ledger.info()
        redacted = {digest: loc.id for digest, loc in ledger.redacted().items()}
        located = [lin.record, *(a.located for a in lin.ancestors)]
        verdicts = [*lin.verdicts, *(v for a in lin.ancestors for v in a.verdicts)]
        rounds = _rounds(ledger, verdicts)
        records = {loc.id for loc in located if isinstance(loc.entry, Record)}
        mixes = _mixes_including(ledger, records)
        runs = [r for mix in mixes for r in ledger.refs_to(mix[0]) if isinstance(r.entry, Run)]

    doc = _Document()
    doc.entity[f"keel:tree/{info.root}"] = _tree_head(info.size, info.root, info.origin)
    for loc in (*located, *rounds.values(), *verdicts):
        doc.entity[entry_name(loc.id)] = _entity(loc, redacted)
    for loc in located:
        if isinstance(loc.entry, Record):
            _generation(doc, loc.id, loc.entry)
    for loc in verdicts:
        assert isinstance(loc.entry, Verdict)
        round_id = loc.entry.round
        _judging(doc, loc.id, loc.entry, None if round_id is None else rounds.get(round_id))
    for loc, members in mixes:
        doc.entity[entry_name(loc.id)] = _entity(loc, redacted)
        _mixing(doc, loc.id, members)
    for loc in runs:
        assert isinstance(loc.entry, Run)
        _training(doc, loc, loc.entry)
    return doc.to_json()


def prov_bytes(document: Mapping[str, JSON]) -> bytes:
    """The document as UTF-8 JSON text: keys sorted, indented two spaces, a final newline."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


# -- reading -----------------------------------------------------------------------------------
def _rounds(ledger: Ledger, verdicts: Iterable[Located]) -> dict[EntryId, Located]:
    """The review rounds the verdicts answer, by id."""
    out: dict[EntryId, Located] = {}
    for loc in verdicts:
        assert isinstance(loc.entry, Verdict)
        rid = loc.entry.round
        if rid is not None and rid not in out:
            found = ledger.locate(rid)
            if isinstance(found.entry, Round):
                out[rid] = found
    return out


def _mixes_including(
    ledger: Ledger, records: set[EntryId]
) -> list[tuple[Located, tuple[EntryId, ...]]]:
    """Every mix whose member list holds one of `records`, with those members (sorted).

    A member list is one 64-hex-digit id a line, so an id is a member exactly when its line is
    in the list. A mix whose member list was erased cannot be searched and is left out.
    """
    out: list[tuple[Located, tuple[EntryId, ...]]] = []
    for loc in ledger.entries("mix"):
        assert isinstance(loc.entry, Mix)
        try:
            data = ledger.payload(loc.entry.members.sha256)
        except (RedactedError, NotFoundError):
            continue
        members = tuple(
            r
            for r in sorted(records)
            if data.startswith(r.encode() + b"\n") or b"\n" + r.encode() + b"\n" in data
        )
        if members:
            out.append((loc, members))
    return out


# -- entities ----------------------------------------------------------------------------------
def _tree_head(size: int, root: str, origin: str | None) -> dict[str, JSON]:
    """The log as this document read it: receipts (`keel ledger prove`) tie entries to it."""
    out: dict[str, JSON] = {
        "prov:type": qname("keel:TreeHead"),
        "keel:size": size,
        "keel:root": root,
    }
    if origin is not None:
        out["keel:origin"] = origin
    return out


def _entity(loc: Located, redacted: Mapping[str, EntryId]) -> dict[str, JSON]:
    """An entry as an entity: its kind, log index, payload digest and the entry's own fields."""
    e = loc.entry
    out: dict[str, JSON] = {"prov:type": qname(f"keel:{_KINDS[e.kind]}"), "keel:index": loc.index}
    ref = payload_of(e)
    if ref is not None:
        out.update(_payload(ref, redacted))
    if isinstance(e, Record):
        out["keel:origin"] = e.origin
        _put(out, "keel:author", e.author)
        _put(out, "keel:generation", e.generation)
        if e.tags:
            out["keel:tags"] = _json_text(e.tags)
    elif isinstance(e, Verdict):
        out["keel:judgeKind"] = e.judge_kind
        _put(out, "keel:label", e.label)
        _put(out, "keel:score", e.score)
        _put(out, "keel:rubric", e.rubric)
        _put(out, "keel:correction", e.correction)
        _put(out, "keel:seconds", e.seconds)
        if e.signature is not None:
            out["keel:signedIn"] = e.signature.made
            out["keel:enrolment"] = e.signature.enrolment
    elif isinstance(e, Mix):
        out["prov:type"] = [qname("prov:Collection"), qname("keel:Mix")]
        out["keel:count"] = e.count
        out["keel:policy"] = _json_text(e.policy)
        _put(out, "keel:generation", e.generation)
    elif isinstance(e, Round):
        out["prov:type"] = [qname("prov:Plan"), qname("keel:Round")]
        _put(out, "keel:generation", e.generation)
        out.update(
            {
                "keel:items": len(e.items),
                "keel:budget": e.budget,
                "keel:randomShare": e.random_share,
                "keel:seed": e.seed,
                "keel:overlap": e.overlap,
                "keel:showJudges": e.show_judges,
            }
        )
        _put(out, "keel:goldCommitment", e.gold)
    return out


def _payload(ref: PayloadRef, redacted: Mapping[str, EntryId]) -> dict[str, JSON]:
    out: dict[str, JSON] = {
        "keel:payloadSha256": ref.sha256,
        "keel:payloadSize": ref.size,
        "keel:payloadType": ref.type,
        "keel:redacted": ref.sha256 in redacted,
    }
    if ref.sha256 in redacted:
        out["keel:redaction"] = redacted[ref.sha256]
    return out


def _put(out: dict[str, JSON], key: str, value: JSON) -> None:
    if value is not None:
        out[key] = value


def _json_text(value: Mapping[str, JSON]) -> str:
    """A JSON object as its RFC 8785 text: PROV-JSON attribute values are literals."""
    return canonical(dict(value)).decode()


# -- activities, agents and relations ----------------------------------------------------------
def _generation(doc: _Document, rid: EntryId, record: Record) -> None:
    """The activity that made a record from its parents, by its producer model or author."""
    name = entry_name(rid)
    agents: list[str] = []
    if record.producer is not None:
        p = record.producer
        model = _agent_name("model", p.model, p.version)
        agent: dict[str, JSON] = {
            "prov:type": qname("prov:SoftwareAgent"),
            "prov:label": p.model if p.version is None else f"{p.model} {p.version}",
            "keel:model": p.model,
        }
        _put(agent, "keel:version", p.version)
        doc.agent[model] = agent
        agents.append(model)
    if record.author is not None:
        author = _agent_name("author", record.author)
        doc.agent[author] = {"prov:type": qname("prov:Agent"), "prov:label": record.author}
        agents.append(author)
    for agent_name in agents:
        doc.relate("wasAttributedTo", entity=name, agent=agent_name)
    if record.producer is None and not record.parents:
        return  # nothing known of how it was made beyond who made it
    activity = f"{name}/generation"
    attrs: dict[str, JSON] = {"prov:type": qname("keel:Generation")}
    if record.producer is not None:
        if record.producer.params:
            attrs["keel:params"] = _json_text(record.producer.params)
        _put(attrs, "keel:promptSha256", record.producer.prompt_sha256)
    doc.activity[activity] = attrs
    doc.relate("wasGeneratedBy", entity=name, activity=activity)
    for agent_name in agents:
        doc.relate("wasAssociatedWith", activity=activity, agent=agent_name)
    for parent in record.parents:
        pname = entry_name(parent)
        if pname not in doc.entity:
            doc.entity[pname] = {"prov:type": qname("keel:Entry"), "keel:inLedger": False}
        doc.relate("used", activity=activity, entity=pname)
        doc.relate("wasDerivedFrom", generatedEntity=name, usedEntity=pname, activity=activity)


def _judging(doc: _Document, vid: EntryId, v: Verdict, round_: Located | None) -> None:
    """The judging (AI) or expert review that made a verdict, with its judge or reviewer; an
    expert verdict given in a review round has the round as its plan."""
    name = entry_name(vid)
    activity = f"{name}/judging"
    attrs: dict[str, JSON] = {
        "prov:type": qname("keel:ExpertReview" if v.judge_kind == "expert" else "keel:Judging")
    }
    if round_ is not None:
        assert isinstance(round_.entry, Round)
        item = next((i for i in round_.entry.items if i.record == v.record), None)
        if item is not None:
            attrs["keel:inclusionProbability"] = item.p
            attrs["keel:sampledFor"] = item.reason
    doc.activity[activity] = attrs
    if v.judge_kind == "expert":
        judge = _agent_name("reviewer", v.judge)
        doc.agent[judge] = {"prov:type": qname("prov:Person"), "prov:label": v.judge}
    else:
        judge = _agent_name("judge", v.judge)
        doc.agent[judge] = {"prov:type": qname("prov:SoftwareAgent"), "prov:label": v.judge}
    doc.relate("wasGeneratedBy", entity=name, activity=activity)
    doc.relate("used", activity=activity, entity=entry_name(v.record))
    if round_ is None:
        doc.relate("wasAssociatedWith", activity=activity, agent=judge)
    else:
        doc.relate("wasAssociatedWith", activity=activity, agent=judge, plan=entry_name(round_.id))
    doc.relate("wasAttributedTo", entity=name, agent=judge)


def _mixing(doc: _Document, mid: EntryId, members: Iterable[EntryId]) -> None:
    """The mixing that chose a training set, and its members among this document's records."""
    name = entry_name(mid)
    activity = f"{name}/mixing"
    doc.activity[activity] = {"prov:type": qname("keel:Mixing")}
    doc.relate("wasGeneratedBy", entity=name, activity=activity)
    for member in members:
        doc.relate("used", activity=activity, entity=entry_name(member))
        doc.relate("hadMember", collection=name, entity=entry_name(member))


def _training(doc: _Document, loc: Located, run: Run) -> None:
    """A training run on a mix: an activity that used the mix and made the weights file."""
    name = entry_name(loc.id)
    attrs: dict[str, JSON] = {
        "prov:type": qname("keel:Training"),
        "keel:index": loc.index,
        "keel:model": run.model,
    }
    if run.config:
        attrs["keel:config"] = _json_text(run.config)
    doc.activity[name] = attrs
    doc.relate("used", activity=name, entity=entry_name(run.mix))
    if run.artifact_sha256 is not None:
        artifact = f"keel:artifact/{run.artifact_sha256}"
        doc.entity[artifact] = {
            "prov:type": qname("keel:Weights"),
            "keel:sha256": run.artifact_sha256,
        }
        doc.relate("wasGeneratedBy", entity=artifact, activity=name)


__all__ = ["KEEL_NAMESPACE", "entry_name", "lineage_prov", "prov_bytes", "qname"]
