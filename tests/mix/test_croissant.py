"""The Croissant 1.1 metadata of an export: it describes the exported file by digest and every
column, states what the ledger knows in the RAI vocabulary, and `mlcroissant` (the reference
implementation) validates it and reads back exactly the exported rows."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from extra_modules import need
from keel.experts import review_generation
from keel.ledger import Ledger
from keel.mix import SCHEMA, MixPolicy, build_mix, export_mix, log_mix
from mix_scenario import build

ORIGIN = "example.com/croissant-test"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, str]]:
    """A ledger with a reviewed, gated mix of human and synthetic records."""
    d = tmp_path_factory.mktemp("croissant")
    led = Ledger.open(d / "k.db", key_path=d / "k.key")
    led.init_key(ORIGIN)
    sc = build(led, n_human=30, n_synthetic=120)
    review_generation(led, sc.panel(), budget=60, generation=1, random_share=1.0)
    plan = build_mix(led, MixPolicy(alpha=0.3, size=60, target_precision=0.8, generation=1))
    try:
        yield led, log_mix(led, plan).id
    finally:
        led.close()


def metadata(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "croissant.json").read_text()))


def test_the_metadata_describes_the_file_and_every_column(
    mixed: tuple[Ledger, str], tmp_path: Path
) -> None:
    led, mix_id = mixed
    out = tmp_path / "out"
    report = export_mix(led, mix_id, out, croissant=True, license="https://spdx.org/licenses/MIT")
    doc = metadata(out)
    assert doc["conformsTo"] == [
        "http://mlcommons.org/croissant/1.1",
        "http://mlcommons.org/croissant/RAI/1.0",
    ]
    (file,) = doc["distribution"]
    data = (out / "data.parquet").read_bytes()
    assert (file["contentUrl"], file["encodingFormat"]) == ("data.parquet", "application/x-parquet")
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    (members,) = doc["recordSet"]
    fields = {f["name"]: f for f in members["field"]}
    assert list(fields) == SCHEMA.names
    assert fields["parents"]["isArray"] and fields["parents"]["dataType"] == "sc:Text"
    assert fields["generation"]["dataType"] == "sc:Integer"
    sub = [f["name"] for f in fields["expert_verdicts"]["subField"]]
    assert sub == ["reviewer", "label", "score", "round", "after_mix"]
    assert all(f.get("description") for f in members["field"])
    facts = report.facts
    synthetic = facts.by_origin["synthetic"]
    assert 0 < synthetic < facts.members
    assert f"Synthetic share: {synthetic / facts.members:.6f}" in doc["rai:dataCollection"]
    assert "toy 1" in doc["rai:dataCollection"]  # the producer model and version
    assert any("rule" in s for s in doc["rai:dataAnnotationProtocol"])
    assert any("MinHash" in s for s in doc["rai:dataPreprocessingProtocol"])
    assert ORIGIN in doc["prov:wasDerivedFrom"]["prov:label"]
    assert str(facts.checkpoint_size) in doc["prov:wasDerivedFrom"]["@id"]
    assert doc["prov:wasGeneratedBy"]["@id"] == f"urn:keel:entry:{mix_id}"
    assert doc["license"] == "https://spdx.org/licenses/MIT"
    manifest = json.loads((out / "keel-export.json").read_text())
    assert manifest["croissant"] == "croissant.json"


def records(dataset: Any) -> list[dict[str, Any]]:
    """mlcroissant's records as plain rows: field ids stripped to column names, bytes decoded."""

    def plain(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.decode()
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k.rsplit("/", 1)[-1]: plain(v) for k, v in value.items()}
        return value

    return [plain(r) for r in dataset.records("members")]


@pytest.mark.extra
@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_mlcroissant_validates_it_and_reads_the_rows_back(
    mixed: tuple[Ledger, str], tmp_path: Path, fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    mlc = need("mlcroissant", "hf")
    led, mix_id = mixed
    out = tmp_path / "out"
    export_mix(
        led, mix_id, out, format=fmt, croissant=True, license="https://spdx.org/licenses/MIT"
    )
    with caplog.at_level(logging.WARNING):
        ds = mlc.Dataset(jsonld=out / "croissant.json")
    assert not ds.metadata.ctx.issues.errors and not ds.metadata.ctx.issues.warnings
    assert ds.metadata.ctx.is_v1_1()
    assert not [r for r in caplog.records if "not standard" in r.getMessage()]
    expected = pq.read_table(out / "data.parquet").to_pylist()  # Croissant describes Parquet
    if fmt == "jsonl":
        lines = (out / "data.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in lines] == expected
    got = records(ds)
    assert len(got) == len(expected) == 60
    for g, e in zip(got, expected, strict=True):
        verdicts = e.pop("expert_verdicts")
        assert g.pop("expert_verdicts") == verdicts
        assert g == e


@pytest.mark.extra
def test_the_hf_export_has_a_parquet_copy_for_croissant(
    mixed: tuple[Ledger, str], tmp_path: Path
) -> None:
    need("datasets", "hf")
    mlc = need("mlcroissant", "hf")
    led, mix_id = mixed
    out = tmp_path / "out"
    export_mix(led, mix_id, out, format="hf", croissant=True)
    assert (out / "data.parquet").exists() and (out / "dataset_info.json").exists()
    ds = mlc.Dataset(jsonld=out / "croissant.json")
    assert len(records(ds)) == 60
