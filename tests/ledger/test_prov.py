"""keel.ledger.prov: a record's lineage as W3C PROV-JSON. The structure is checked directly (ids,
attributes, every relation, determinism, a redacted ancestor, a parent the ledger lacks); with
the validators installed (`make test-extras`), against the PROV-JSON submission's JSON schema
(tests/vectors/prov-json) and by the `prov` package's own reader."""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from extra_modules import need
from keel.errors import InputError
from keel.ledger import Ledger
from keel.ledger.prov import lineage_prov, prov_bytes
from keel.records import (
    JSON,
    EntryId,
    Producer,
    Round,
    RoundItem,
    Run,
    Verdict,
    mix,
    text_record,
    verdict,
)
from keel_cli import Cli

SCHEMA = Path(__file__).parent.parent / "vectors" / "prov-json" / "prov-json.schema.json"
VALIDATORS = "validators"  # jsonschema and prov: `make test-extras` installs them
ARTIFACT = "ab" * 32
RELATIONS = {
    "wasGeneratedBy": ("entity", "activity"),
    "used": ("activity", "entity"),
    "wasAssociatedWith": ("activity", "agent"),
    "wasAttributedTo": ("entity", "agent"),
    "wasDerivedFrom": ("generatedEntity", "usedEntity"),
    "hadMember": ("collection", "entity"),
}


@dataclass(frozen=True)
class Scene:
    """A ledger with a three-generation lineage: human H (redacted since), synthetic S from H,
    synthetic C from S; verdicts on S and C, C reviewed by an expert in a round, a mix holding
    C and an unrelated record U, a mix without them, a training run on the first mix."""

    h: EntryId
    s: EntryId
    c: EntryId
    u: EntryId
    ai_s: EntryId
    ai_c: EntryId
    round: EntryId
    expert_c: EntryId
    mix: EntryId
    other_mix: EntryId
    run: EntryId
    redaction: EntryId
    h_digest: str


def k(entry: str) -> str:
    return f"keel:{entry}"


@pytest.fixture
def scene(ledger: Ledger) -> Scene:
    h = ledger.append([text_record("a human sentence", "human", author="ana lópez")])[0].id
    u = ledger.append([text_record("unrelated", "human")])[0].id
    llama = Producer("meta-llama/Llama 3", "1:2", {"temperature": 0.7}, "cd" * 32)
    s = ledger.append(
        [text_record("synthetic one", "synthetic", producer=llama, parents=[h], generation=1)]
    )[0].id
    c = ledger.append(
        [
            text_record(
                "synthetic two",
                "synthetic",
                producer=Producer("model-b"),
                parents=[s],
                generation=2,
                tags={"topic": "weather", "n": [1, 2]},
            )
        ]
    )[0].id
    ai_s, ai_c = (
        a.id
        for a in ledger.append(
            [
                verdict(s, "gpt-4o", "ai", label="accept", score=0.8, rationale="reads well"),
                verdict(c, "gpt-4o", "ai", label="reject", score=0.2),
            ]
        )
    )
    item = RoundItem(c, 0.25, "uncertain", ("bob",))
    rnd = ledger.append([(Round((item,), 1, 0.5, 7, 1, generation=2), None)])[0].id
    expert = Verdict(c, "bob", "expert", label="accept", round=rnd, seconds=12.5)
    expert_c = ledger.append([(expert, None)])[0].id
    m = ledger.append([mix([c, u], {"alpha": 0.2}, generation=3)])[0].id
    other = ledger.append([mix([u], {"alpha": 1.0})])[0].id
    run = ledger.append([(Run(m, "gen-3", {"lr": 0.001}, ARTIFACT), None)])[0].id
    h_digest = ledger.payload_digest(h)
    redaction = ledger.redact(h, "asked to be forgotten").id
    return Scene(h, s, c, u, ai_s, ai_c, rnd, expert_c, m, other, run, redaction, h_digest)


def relations(doc: dict[str, Any], kind: str) -> set[tuple[str, ...]]:
    """The (first end, second end) pairs of one kind of relation."""
    a, b = RELATIONS[kind]
    return {(r[f"prov:{a}"], r[f"prov:{b}"]) for r in doc.get(kind, {}).values()}


def qname_values(value: JSON) -> set[str]:
    items = value if isinstance(value, list) else [value]
    return {str(v["$"]) for v in items if isinstance(v, dict)}


# -- structure --------------------------------------------------------------------------------
def test_entities_are_the_lineage_its_verdicts_rounds_and_mixes(
    ledger: Ledger, scene: Scene
) -> None:
    doc = lineage_prov(ledger, scene.c)
    entities = doc["entity"]
    assert isinstance(entities, dict)
    expected = {
        *(k(e) for e in (scene.c, scene.s, scene.h)),
        *(k(e) for e in (scene.ai_s, scene.ai_c, scene.expert_c, scene.round, scene.mix)),
        f"keel:artifact/{ARTIFACT}",
    }
    trees = {e for e in entities if e.startswith("keel:tree/")}
    assert set(entities) == expected | trees
    assert len(trees) == 1
    assert k(scene.u) not in entities  # in the mix, but not in the lineage
    assert k(scene.other_mix) not in entities
    c = entities[k(scene.c)]
    assert isinstance(c, dict)
    assert qname_values(c["prov:type"]) == {"keel:Record"}
    assert c["keel:origin"] == "synthetic"
    assert c["keel:generation"] == 2
    assert c["keel:tags"] == '{"n":[1,2],"topic":"weather"}'
    assert c["keel:index"] == ledger.locate(scene.c).index
    assert c["keel:redacted"] is False
    mix_entity = entities[k(scene.mix)]
    assert isinstance(mix_entity, dict)
    assert qname_values(mix_entity["prov:type"]) == {"prov:Collection", "keel:Mix"}
    assert mix_entity["keel:count"] == 2
    round_entity = entities[k(scene.round)]
    assert isinstance(round_entity, dict)
    assert qname_values(round_entity["prov:type"]) == {"prov:Plan", "keel:Round"}


def test_a_redacted_record_keeps_its_digest(ledger: Ledger, scene: Scene) -> None:
    h = lineage_prov(ledger, scene.c)["entity"][k(scene.h)]
    assert h["keel:payloadSha256"] == scene.h_digest
    assert h["keel:redacted"] is True
    assert h["keel:redaction"] == scene.redaction
    assert h["keel:author"] == "ana lópez"


def test_activities_and_agents(ledger: Ledger, scene: Scene) -> None:
    doc = lineage_prov(ledger, scene.c)
    activities, agents = doc["activity"], doc["agent"]
    assert isinstance(activities, dict)
    assert isinstance(agents, dict)
    assert {a: qname_values(v["prov:type"]) for a, v in activities.items()} == {
        f"{k(scene.c)}/generation": {"keel:Generation"},
        f"{k(scene.s)}/generation": {"keel:Generation"},
        f"{k(scene.ai_s)}/judging": {"keel:Judging"},
        f"{k(scene.ai_c)}/judging": {"keel:Judging"},
        f"{k(scene.expert_c)}/judging": {"keel:ExpertReview"},
        f"{k(scene.mix)}/mixing": {"keel:Mixing"},
        k(scene.run): {"keel:Training"},
    }
    s_gen = activities[f"{k(scene.s)}/generation"]
    assert isinstance(s_gen, dict)
    assert s_gen["keel:params"] == '{"temperature":0.7}'
    assert s_gen["keel:promptSha256"] == "cd" * 32
    review = activities[f"{k(scene.expert_c)}/judging"]
    assert isinstance(review, dict)
    assert (review["keel:inclusionProbability"], review["keel:sampledFor"]) == (0.25, "uncertain")
    assert {a: qname_values(v["prov:type"]) for a, v in agents.items()} == {
        "keel:model/meta-llama%2FLlama%203@1%3A2": {"prov:SoftwareAgent"},
        "keel:model/model-b": {"prov:SoftwareAgent"},
        "keel:judge/gpt-4o": {"prov:SoftwareAgent"},
        "keel:reviewer/bob": {"prov:Person"},
        "keel:author/ana%20l%C3%B3pez": {"prov:Agent"},
    }
    llama = agents["keel:model/meta-llama%2FLlama%203@1%3A2"]
    assert isinstance(llama, dict)
    assert (llama["keel:model"], llama["keel:version"]) == ("meta-llama/Llama 3", "1:2")


def test_every_relation(ledger: Ledger, scene: Scene) -> None:
    doc = lineage_prov(ledger, scene.c)
    gen = {r: f"{k(r)}/generation" for r in (scene.c, scene.s)}
    judging = {v: f"{k(v)}/judging" for v in (scene.ai_s, scene.ai_c, scene.expert_c)}
    mixing = f"{k(scene.mix)}/mixing"
    artifact = f"keel:artifact/{ARTIFACT}"
    assert relations(doc, "wasDerivedFrom") == {
        (k(scene.c), k(scene.s)),
        (k(scene.s), k(scene.h)),
    }
    assert relations(doc, "wasGeneratedBy") == {
        *((k(r), a) for r, a in gen.items()),
        *((k(v), a) for v, a in judging.items()),
        (k(scene.mix), mixing),
        (artifact, k(scene.run)),
    }
    assert relations(doc, "used") == {
        (gen[scene.c], k(scene.s)),
        (gen[scene.s], k(scene.h)),
        (judging[scene.ai_s], k(scene.s)),
        (judging[scene.ai_c], k(scene.c)),
        (judging[scene.expert_c], k(scene.c)),
        (mixing, k(scene.c)),
        (k(scene.run), k(scene.mix)),
    }
    assert relations(doc, "wasAssociatedWith") == {
        (gen[scene.c], "keel:model/model-b"),
        (gen[scene.s], "keel:model/meta-llama%2FLlama%203@1%3A2"),
        (judging[scene.ai_s], "keel:judge/gpt-4o"),
        (judging[scene.ai_c], "keel:judge/gpt-4o"),
        (judging[scene.expert_c], "keel:reviewer/bob"),
    }
    assert relations(doc, "wasAttributedTo") == {
        (k(scene.c), "keel:model/model-b"),
        (k(scene.s), "keel:model/meta-llama%2FLlama%203@1%3A2"),
        (k(scene.h), "keel:author/ana%20l%C3%B3pez"),
        (k(scene.ai_s), "keel:judge/gpt-4o"),
        (k(scene.ai_c), "keel:judge/gpt-4o"),
        (k(scene.expert_c), "keel:reviewer/bob"),
    }
    assert relations(doc, "hadMember") == {(k(scene.mix), k(scene.c))}
    derivations = {r["prov:usedEntity"]: r for r in doc["wasDerivedFrom"].values()}
    assert derivations[k(scene.s)]["prov:activity"] == gen[scene.c]
    plans = [r for r in doc["wasAssociatedWith"].values() if "prov:plan" in r]
    assert plans == [
        {
            "prov:activity": judging[scene.expert_c],
            "prov:agent": "keel:reviewer/bob",
            "prov:plan": k(scene.round),
        }
    ]


def test_every_relation_names_an_element_of_the_document(ledger: Ledger, scene: Scene) -> None:
    doc: dict[str, Any] = lineage_prov(ledger, scene.c)
    elements = {*doc["entity"], *doc["activity"], *doc["agent"]}
    for kind in RELATIONS:
        for rid, body in doc[kind].items():
            assert rid.startswith(f"_:{kind}-")
            for end, value in body.items():
                assert value in elements, (kind, end, value)


def test_the_same_ledger_gives_the_same_bytes(ledger: Ledger, scene: Scene, tmp_path: Path) -> None:
    first = prov_bytes(lineage_prov(ledger, scene.c))
    assert prov_bytes(lineage_prov(ledger, scene.c)) == first
    shutil.copy(tmp_path / "k.db", tmp_path / "copy.db")
    with Ledger.open(tmp_path / "copy.db", readonly=True) as copy:
        assert prov_bytes(lineage_prov(copy, scene.c[:12])) == first
    assert first.endswith(b"}\n")
    text = first.decode()
    assert json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text


def test_a_relation_has_the_same_id_in_every_document(ledger: Ledger, scene: Scene) -> None:
    of_c, of_s = lineage_prov(ledger, scene.c), lineage_prov(ledger, scene.s)
    derived_c = of_c["wasDerivedFrom"]
    derived_s = of_s["wasDerivedFrom"]
    assert isinstance(derived_c, dict)
    assert isinstance(derived_s, dict)
    assert set(derived_s) < set(derived_c)  # S from H, named alike in both
    assert k(scene.c) not in of_s["entity"]  # a child is not lineage


def test_a_parent_the_ledger_lacks_is_named(ledger: Ledger) -> None:
    ghost = "0" * 64
    rid = ledger.append(
        [text_record("orphan", "synthetic", parents=[ghost])], allow_unknown_refs=True
    )[0].id
    doc: dict[str, Any] = lineage_prov(ledger, rid)
    assert doc["entity"][k(ghost)] == {
        "keel:inLedger": False,
        "prov:type": {"$": "keel:Entry", "type": "xsd:QName"},
    }
    assert relations(doc, "wasDerivedFrom") == {(k(rid), k(ghost))}
    assert "agent" not in doc  # no producer, no author: no one to name


def test_a_human_record_alone(ledger: Ledger) -> None:
    rid = ledger.append([text_record("plain", "human")])[0].id
    doc: dict[str, Any] = lineage_prov(ledger, rid)
    assert set(doc) == {"prefix", "entity"}
    assert doc["prefix"] == {"keel": "urn:keel:"}


def test_lineage_is_of_records(ledger: Ledger, scene: Scene) -> None:
    with pytest.raises(InputError, match="not a record"):
        lineage_prov(ledger, scene.ai_c)


# -- the command ------------------------------------------------------------------------------
def test_the_command_writes_the_document_and_never_overwrites(
    ledger: Ledger, scene: Scene, cli: Cli, tmp_path: Path
) -> None:
    db = tmp_path / "k.db"
    expected = prov_bytes(lineage_prov(ledger, scene.c))
    out = tmp_path / "lineage.prov.json"
    code, stdout, err = cli("ledger", "lineage", scene.c, "--prov", "-o", str(out), db=db)
    assert (code, stdout) == (0, ""), err
    assert out.read_bytes() == expected
    out.write_bytes(b"mine")
    code, _, err = cli("ledger", "lineage", scene.c, "--prov", "-o", str(out), db=db)
    assert code == 2
    assert err.startswith("error: ") and "never writes over" in err
    assert out.read_bytes() == b"mine"
    code, stdout, _ = cli("ledger", "lineage", scene.c, "--prov", db=db)
    assert code == 0
    assert stdout.encode() == expected


@pytest.mark.parametrize(
    ("extra", "message"),
    [(("--prov", "--json"), "not both"), (("-o", "x.json"), "add --prov")],
)
def test_the_command_refuses_mixed_flags(
    ledger: Ledger, scene: Scene, cli: Cli, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    code, _, err = cli("ledger", "lineage", scene.c, *extra, db=tmp_path / "k.db")
    assert code == 2
    assert message in err
    assert not (tmp_path / "x.json").exists()


# -- validation by independent tools ----------------------------------------------------------
@pytest.mark.extra
def test_the_document_is_valid_against_the_prov_json_schema(ledger: Ledger, scene: Scene) -> None:
    jsonschema = need("jsonschema", VALIDATORS)
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    for ref in (scene.c, scene.s, scene.h):
        document = json.loads(prov_bytes(lineage_prov(ledger, ref)))
        errors = sorted(validator(schema).iter_errors(document), key=str)
        assert not errors, "\n".join(str(e) for e in errors)
    broken = json.loads(prov_bytes(lineage_prov(ledger, scene.c)))
    broken["entity"][k(scene.c)]["keel:tags"] = {"not": "a literal"}
    assert not validator(schema).is_valid(broken)  # the schema does check attribute values


@pytest.mark.extra
def test_the_prov_package_reads_the_document(ledger: Ledger, scene: Scene) -> None:
    need("prov", VALIDATORS)
    from prov.model import (
        ProvActivity,
        ProvAgent,
        ProvAssociation,
        ProvAttribution,
        ProvDerivation,
        ProvDocument,
        ProvEntity,
        ProvGeneration,
        ProvMembership,
        ProvUsage,
    )

    data = prov_bytes(lineage_prov(ledger, scene.c)).decode()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # prov warns about what it would reject
        document = ProvDocument.deserialize(content=data, format="json")
    ns = "urn:keel:"

    def ids(kind: type) -> set[str]:
        return {str(r.identifier.uri) for r in document.get_records(kind)}

    def ends(kind: type, first: str, second: str) -> set[tuple[str, str]]:
        out = set()
        for r in document.get_records(kind):
            attrs = {str(a.localpart): v for a, v in r.formal_attributes}
            out.add((str(attrs[first].uri), str(attrs[second].uri)))
        return out

    assert {f"{ns}{e}" for e in (scene.c, scene.s, scene.h, scene.mix)} <= ids(ProvEntity)
    assert f"{ns}{scene.run}" in ids(ProvActivity)
    assert f"{ns}{scene.c}/generation" in ids(ProvActivity)
    assert {f"{ns}reviewer/bob", f"{ns}judge/gpt-4o", f"{ns}model/model-b"} <= ids(ProvAgent)
    assert ends(ProvDerivation, "generatedEntity", "usedEntity") == {
        (f"{ns}{scene.c}", f"{ns}{scene.s}"),
        (f"{ns}{scene.s}", f"{ns}{scene.h}"),
    }
    assert (f"{ns}{scene.c}", f"{ns}{scene.c}/generation") in ends(
        ProvGeneration, "entity", "activity"
    )
    assert (f"{ns}{scene.mix}/mixing", f"{ns}{scene.c}") in ends(ProvUsage, "activity", "entity")
    assert (f"{ns}{scene.expert_c}/judging", f"{ns}reviewer/bob") in ends(
        ProvAssociation, "activity", "agent"
    )
    assert (f"{ns}{scene.ai_c}", f"{ns}judge/gpt-4o") in ends(ProvAttribution, "entity", "agent")
    assert ends(ProvMembership, "collection", "entity") == {(f"{ns}{scene.mix}", f"{ns}{scene.c}")}
    c = next(r for r in document.get_records(ProvEntity) if r.identifier.uri == f"{ns}{scene.c}")
    attrs = {str(a): v for a, v in c.extra_attributes}
    assert attrs["keel:origin"] == "synthetic"
    assert str(attrs["prov:type"]) == "keel:Record"
