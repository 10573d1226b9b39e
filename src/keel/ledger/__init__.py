"""The tamper-evident provenance ledger: RFC 9162 log, C2SP checkpoints and receipts, storage.

Open one with `Ledger.open("keel.db")`; append entries built by `keel.records`; sign
checkpoints, write receipts (c2sp.org/tlog-proof@v1), redact payloads, and `verify` it all.
`Snapshot` reads the records with the verdicts on each (`view.py`). `ingest` (files of rows into
records), `import_verdicts` (files of verdicts) and `lineage_prov` (lineage as W3C PROV-JSON)
load on first use (`keel._lazy`): they bring the file readers, which most commands do not need.
"""

from typing import TYPE_CHECKING

from keel._lazy import lazy
from keel.ledger.bundle import ProofBundle, check_payload, verify_bundle
from keel.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from keel.ledger.log import (
    Ancestor,
    Appended,
    Info,
    Ledger,
    Lineage,
    Located,
    Pending,
    default_key_path,
    ledger_files,
    prepare,
)
from keel.ledger.merkle import Hash, leaf_hash
from keel.ledger.note import (
    Signer,
    Verifier,
    generate_key,
    load_verifier,
    parse_signer,
    parse_verifier,
)
from keel.ledger.sqlite import SQLiteStore
from keel.ledger.store import Store
from keel.ledger.verify import Problem, Report, verify
from keel.ledger.view import ACCEPT, DEGENERATE, REJECT, Judged, Snapshot, expert_decision, texts

if TYPE_CHECKING:
    from keel.ledger.ingest import INGEST_FIELDS, Defaults, IngestReport, ingest, ingest_hf
    from keel.ledger.prov import lineage_prov, prov_bytes
    from keel.ledger.verdicts import (
        VERDICT_FIELDS,
        VerdictImport,
        VerdictImportError,
        import_verdicts,
        read_files,
    )

lazy(
    __name__,
    {
        "ingest": ("INGEST_FIELDS", "Defaults", "IngestReport", "ingest", "ingest_hf"),
        "prov": ("lineage_prov", "prov_bytes"),
        "verdicts": (
            "VERDICT_FIELDS",
            "VerdictImport",
            "VerdictImportError",
            "import_verdicts",
            "read_files",
        ),
    },
)

__all__ = [
    "ACCEPT",
    "DEGENERATE",
    "INGEST_FIELDS",
    "REJECT",
    "VERDICT_FIELDS",
    "Ancestor",
    "Appended",
    "Checkpoint",
    "Defaults",
    "Hash",
    "Info",
    "IngestReport",
    "Judged",
    "Ledger",
    "Lineage",
    "Located",
    "Pending",
    "Problem",
    "ProofBundle",
    "Report",
    "SQLiteStore",
    "Signer",
    "Snapshot",
    "Store",
    "VerdictImport",
    "VerdictImportError",
    "Verifier",
    "check_payload",
    "default_key_path",
    "expert_decision",
    "generate_key",
    "import_verdicts",
    "ingest",
    "ingest_hf",
    "leaf_hash",
    "ledger_files",
    "lineage_prov",
    "load_verifier",
    "open_checkpoint",
    "parse_signer",
    "parse_verifier",
    "prepare",
    "prov_bytes",
    "read_files",
    "sign_checkpoint",
    "texts",
    "verify",
    "verify_bundle",
]
