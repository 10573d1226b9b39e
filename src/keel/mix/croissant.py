"""Croissant 1.1 metadata (JSON-LD) for an exported mix, with its Responsible-AI fields.

`croissant_metadata(facts, data, schema)` describes one exported data file (a `FileObject`
with its SHA-256) and one `RecordSet` ("members") whose fields are the file's columns, typed
from its Arrow schema (list columns are `isArray` fields, lists of structs have `subField`s).
The Responsible-AI vocabulary (mlcommons.org/croissant/RAI/1.0, the version Croissant 1.1
points to) carries what the ledger knows: the synthetic share and the producer models
(`rai:dataCollection`), the verified floor, gate, lineage pruning, near-duplicate removal and
tail-preserving sampling (`rai:dataPreprocessingProtocol`), the expert review and AI gate
(`rai:dataAnnotationProtocol`, `rai:annotationsPerItem`), redacted members
(`rai:dataCollectionMissingData`). The ledger origin, checkpoint and mix entry are PROV-O
statements (`prov:wasDerivedFrom`, `prov:wasGeneratedBy`), as Croissant 1.1 recommends for
provenance. docs/export.md lists every field and the choices made where Croissant allows one.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from keel.records import JSON

CROISSANT = "http://mlcommons.org/croissant/1.1"
RAI = "http://mlcommons.org/croissant/RAI/1.0"
RECORD_SET = "members"

# The @context of Croissant 1.1 (its spec, Appendix 1), with the keys mlcroissant also expects
# (`equivalentProperty`, `samplingRate`) and PROV-O for provenance.
CONTEXT: dict[str, JSON] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "excludes": "cr:excludes",
    "extract": "cr:extract",
    "field": "cr:field",
    "fileObject": "cr:fileObject",
    "fileProperty": "cr:fileProperty",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "readLines": "cr:readLines",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sdVersion": "cr:sdVersion",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "unArchive": "cr:unArchive",
    "value": "cr:value",
}


@dataclass(frozen=True, slots=True)
class DataFile:
    """An exported data file: its name inside the export folder, MIME type and SHA-256."""

    name: str
    encoding: str
    sha256: str


@dataclass(frozen=True, slots=True)
class MixFacts:
    """What an export knows about its mix, read from the ledger at one checkpoint: the mix entry,
    the checkpoint, member counts by origin and by reason, the producer models, the expert
    verdicts on members and the policy the mix entry logged."""

    mix_id: str
    mix_index: int
    generation: int | None
    origin: str
    checkpoint_size: int
    checkpoint_root: str
    members: int
    rows: int
    redacted: int
    by_origin: Mapping[str, int]
    by_reason: Mapping[str, int]
    producers: Mapping[str, int]
    reviewed: int
    expert_verdicts: int
    rounds: int
    policy: Mapping[str, JSON]

    @property
    def synthetic_share(self) -> float:
        """Synthetic members / members (0 for an empty mix)."""
        return self.by_origin.get("synthetic", 0) / self.members if self.members else 0.0

    def to_json(self) -> dict[str, JSON]:
        return {
            "mix": self.mix_id,
            "mix_index": self.mix_index,
            "generation": self.generation,
            "origin": self.origin,
            "checkpoint_size": self.checkpoint_size,
            "checkpoint_root": self.checkpoint_root,
            "members": self.members,
            "rows": self.rows,
            "redacted": self.redacted,
            "synthetic_share": self.synthetic_share,
            "by_origin": dict(self.by_origin),
            "by_reason": dict(self.by_reason),
            "producers": dict(self.producers),
            "reviewed": self.reviewed,
            "expert_verdicts": self.expert_verdicts,
            "rounds": self.rounds,
        }


def croissant_metadata(
    facts: MixFacts,
    data: DataFile,
    schema: pa.Schema,
    *,
    published: datetime.date,
    license: str | None = None,
) -> dict[str, JSON]:
    """The Croissant 1.1 JSON-LD document of an export: dataset facts, RAI fields, PROV-O
    provenance, the data file and its fields (descriptions from the schema's field metadata)."""
    doc: dict[str, JSON] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": [CROISSANT, RAI],
        "name": f"keel-mix-{facts.mix_id[:16]}",
        "description": (
            f"The {facts.members:,} members of keel mix {facts.mix_id} (index {facts.mix_index} "
            f"of ledger {facts.origin}), exported with their provenance at checkpoint "
            f"{facts.checkpoint_size}."
        ),
        "citeAs": (
            f"keel mix {facts.mix_id}, ledger {facts.origin}, checkpoint size "
            f"{facts.checkpoint_size}, root {facts.checkpoint_root}"
        ),
        "datePublished": published.isoformat(),
        "version": "1.0.0",
        "keywords": ["keel", "provenance", "training data", "synthetic data"],
        **_rai(facts),
        **_provenance(facts),
        "distribution": [
            {
                "@type": "cr:FileObject",
                "@id": data.name,
                "name": data.name,
                "contentUrl": data.name,
                "encodingFormat": data.encoding,
                "sha256": data.sha256,
            }
        ],
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": RECORD_SET,
                "name": RECORD_SET,
                "description": "One record per exported member of the mix.",
                "key": {"@id": f"{RECORD_SET}/id"},
                "field": [_field(f, data.name) for f in schema],
            }
        ],
    }
    if license is not None:
        doc["license"] = license
    return doc


def _field(f: pa.Field, file: str, parent: str = RECORD_SET, column: str | None = None) -> JSON:
    """A `cr:Field` read from column `f` (or, as a sub-field, the key `f.name` of column
    `column`'s structs)."""
    fid = f"{parent}/{f.name}"
    out: dict[str, JSON] = {"@type": "cr:Field", "@id": fid, "name": f.name}
    meta = f.metadata or {}
    if b"description" in meta:
        out["description"] = meta[b"description"].decode()
    source: dict[str, JSON] = {"fileObject": {"@id": file}, "extract": {"column": column or f.name}}
    if column is not None:
        source["transform"] = {"jsonPath": f.name}
    kind = f.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        out["isArray"] = True
        out["arrayShape"] = "-1"
        kind = kind.value_type
    if pa.types.is_struct(kind):
        out["subField"] = [_field(kind.field(i), file, fid, f.name) for i in range(kind.num_fields)]
    else:
        out["dataType"] = _data_type(kind)
        out["source"] = source
    return out


def _data_type(kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "sc:Boolean"
    if pa.types.is_integer(kind):
        return "sc:Integer"
    if pa.types.is_floating(kind):
        return "sc:Float"
    return "sc:Text"


def _share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,} ({part / whole:.1%})" if whole else "0"


def _rai(facts: MixFacts) -> dict[str, JSON]:
    """The RAI 1.0 properties keel can state from the ledger (docs/export.md, "Croissant")."""
    n = facts.members
    origins = ", ".join(f"{k}: {v:,}" for k, v in sorted(facts.by_origin.items())) or "none"
    producers = ", ".join(f"{k} ({v:,})" for k, v in sorted(facts.producers.items()))
    policy = facts.policy
    collection = (
        f"Every member is a record of the keel provenance ledger {facts.origin}, an append-only "
        "signed transparency log (RFC 9162) that holds each record's origin, author, producer "
        f"model and version, generation and parents. Members by origin: {origins}. Synthetic "
        f"share: {facts.synthetic_share:.6f} ({_share(facts.by_origin.get('synthetic', 0), n)}"
        " are model outputs)" + (f", produced by {producers}." if producers else ".")
    )
    collection_types: list[JSON] = []
    if facts.by_origin.get("human", 0) or facts.by_origin.get("expert", 0):
        collection_types.append("Manual Human Curation")
    if facts.by_origin.get("synthetic", 0):
        collection_types.append("Others: synthetic data generated by language models")
    doc: dict[str, JSON] = {
        "rai:dataCollection": collection,
        "rai:dataCollectionType": collection_types or ["Others"],
        "rai:dataCollectionRawData": (
            f"The payloads of ledger {facts.origin}; column payload_sha256 is each text's "
            "SHA-256, which the record entry (column id is its SHA-256) commits to."
        ),
        "rai:dataCollectionMissingData": (
            f"{facts.redacted:,} of {n:,} members were redacted (their payload erased from the "
            "ledger on purpose): they are not in the data file and are listed in redacted.jsonl."
        ),
        "rai:dataPreprocessingProtocol": _preprocessing(policy),
        "rai:dataAnnotationProtocol": _annotation(facts),
        "rai:annotationsPerItem": (
            f"{facts.expert_verdicts / n if n else 0.0:.3f} expert verdicts per member on "
            f"average; {_share(facts.reviewed, n)} members have at least one (column "
            "expert_verdicts)."
        ),
        "rai:dataManipulationProtocol": (
            "Texts are exported verbatim as the ledger holds them (UTF-8); JSON payloads as "
            "their canonical RFC 8785 text."
        ),
        "rai:dataUseCases": [
            "Training or fine-tuning the next model generation of the loop that built this mix."
        ],
        "rai:dataLimitations": [
            f"{facts.synthetic_share:.1%} of members are model outputs: training on them "
            "without the verified floor kept here risks model collapse."
        ],
        "rai:dataReleaseMaintenancePlan": (
            f"A snapshot of mix {facts.mix_id} read at checkpoint {facts.checkpoint_size}; a "
            "new mix is a new export. Verdicts logged after the checkpoint are not included."
        ),
    }
    if facts.rounds:
        doc["rai:dataAnnotationPlatform"] = ["keel review (signed expert review rounds)"]
    return doc


def _preprocessing(policy: Mapping[str, JSON]) -> list[JSON]:
    """The mix policy's steps, in the order keel applies them (docs/mixing.md)."""
    if "gate" not in policy:
        return [
            "The mix lists its members directly (logged with `keel ledger add-mix`): no keel "
            "policy chose them."
        ]
    steps: list[JSON] = [
        f"Verified floor: at least a share alpha = {policy.get('alpha')} of the "
        f"{policy.get('size')} members asked for are verified (human or expert-adopted) "
        "records, when the ledger holds enough.",
        f"Gate on synthetic records: {policy.get('gate')}"
        + (f" (rule {policy.get('rule')})" if policy.get("rule") else "")
        + ".",
    ]
    if policy.get("lineage"):
        steps.append("Lineage pruning: descendants of records labelled degenerate are dropped.")
    dedup = policy.get("dedup")
    if isinstance(dedup, dict):
        steps.append(
            f"Near-duplicate removal: MinHash LSH, Jaccard threshold {dedup.get('threshold')}, "
            "earliest record kept."
        )
    tails = policy.get("tails")
    if isinstance(tails, dict):
        steps.append(
            f"Tail-preserving sampling of synthetic records (tail mass {tails.get('tail_mass')},"
            f" boost {tails.get('boost')})."
        )
    return steps


def _annotation(facts: MixFacts) -> list[JSON]:
    policy = facts.policy
    out: list[JSON] = [
        f"Expert verdicts (reviewer, label, score, review round) on {facts.reviewed:,} members, "
        f"{facts.expert_verdicts:,} in all, in {facts.rounds:,} review rounds; each is a "
        "signed ledger entry."
    ]
    rule = policy.get("rule")
    if rule:
        bound = policy.get("rule_lower_bound")
        out.append(
            f"AI judges gated the synthetic records by the rule {rule}, chosen on expert-reviewed "
            f"anchors to reach precision {policy.get('target_precision')} (lower bound {bound} "
            f"at confidence {policy.get('confidence')})."
        )
    reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(facts.by_reason.items()))
    if reasons:
        out.append(f"Why each member is in the mix (column reason): {reasons}.")
    return out


def _provenance(facts: MixFacts) -> dict[str, JSON]:
    """PROV-O statements: the data derive from the ledger at its checkpoint, generated by the
    mix entry (Croissant 1.1, "Provenance")."""
    return {
        "prov:wasDerivedFrom": {
            "@id": f"urn:keel:ledger:{facts.origin}:checkpoint:{facts.checkpoint_size}",
            "@type": "prov:Entity",
            "prov:label": (
                f"keel ledger {facts.origin} at checkpoint size {facts.checkpoint_size}, "
                f"root {facts.checkpoint_root} (SHA-256 Merkle tree hash, hex)"
            ),
        },
        "prov:wasGeneratedBy": {
            "@id": f"urn:keel:entry:{facts.mix_id}",
            "@type": "prov:Activity",
            "prov:label": f"keel mix entry {facts.mix_id} (leaf index {facts.mix_index})",
        },
    }
