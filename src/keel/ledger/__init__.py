"""The tamper-evident provenance ledger: RFC 9162 log, C2SP checkpoints and receipts, storage.

Open one with `Ledger.open("keel.db")`; append entries built by `keel.records`; sign
checkpoints, write receipts (c2sp.org/tlog-proof@v1), redact payloads, and `verify` it all.
`Snapshot` reads the records with the verdicts on each (`view.py`). `ingest` (files of rows into
records), `import_verdicts` (files of verdicts) and `lineage_prov` (lineage as W3C PROV-JSON)
load on first use (`keel._lazy`): they bring the file readers, which most commands do not need;
so do the chain anchors (`anchor_checkpoint`, `verify_anchor`: Solana memos, `anchor.py`)
and witnessing (`Witness`, `witness_ledger`: c2sp.org/tlog-witness, `witness.py`).
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
from keel.ledger.trace import JUDGEMENTS, Trace, Traced, trace
from keel.ledger.verify import Problem, Report, verify
from keel.ledger.view import ACCEPT, DEGENERATE, REJECT, Judged, Snapshot, expert_decision, texts

if TYPE_CHECKING:
    from keel.ledger.anchor import (
        AnchorCheck,
        Anchored,
        Chain,
        Landed,
        LiteSVMChain,
        RpcChain,
        anchor_checkpoint,
        anchor_transaction,
        bind_anchor_key,
        default_anchor_key_path,
        require_solders,
        verify_anchor,
    )
    from keel.ledger.ingest import INGEST_FIELDS, Defaults, IngestReport, ingest, ingest_hf
    from keel.ledger.prov import lineage_prov, prov_bytes
    from keel.ledger.verdicts import (
        VERDICT_FIELDS,
        VerdictImport,
        VerdictImportError,
        import_verdicts,
        read_files,
    )
    from keel.ledger.witness import (
        Cosigner,
        CosignerKey,
        Witness,
        WitnessReport,
        WitnessState,
        check_quorum,
        generate_cosigner_key,
        load_cosigner,
        witness_ledger,
    )

lazy(
    __name__,
    {
        "anchor": (
            "AnchorCheck",
            "Anchored",
            "Chain",
            "Landed",
            "LiteSVMChain",
            "RpcChain",
            "anchor_checkpoint",
            "anchor_transaction",
            "bind_anchor_key",
            "default_anchor_key_path",
            "require_solders",
            "verify_anchor",
        ),
        "ingest": ("INGEST_FIELDS", "Defaults", "IngestReport", "ingest", "ingest_hf"),
        "prov": ("lineage_prov", "prov_bytes"),
        "verdicts": (
            "VERDICT_FIELDS",
            "VerdictImport",
            "VerdictImportError",
            "import_verdicts",
            "read_files",
        ),
        "witness": (
            "Cosigner",
            "CosignerKey",
            "Witness",
            "WitnessReport",
            "WitnessState",
            "check_quorum",
            "generate_cosigner_key",
            "load_cosigner",
            "witness_ledger",
        ),
    },
)

__all__ = [
    "ACCEPT",
    "DEGENERATE",
    "INGEST_FIELDS",
    "JUDGEMENTS",
    "REJECT",
    "VERDICT_FIELDS",
    "Ancestor",
    "AnchorCheck",
    "Anchored",
    "Appended",
    "Chain",
    "Checkpoint",
    "Cosigner",
    "CosignerKey",
    "Defaults",
    "Hash",
    "Info",
    "IngestReport",
    "Judged",
    "Landed",
    "Ledger",
    "Lineage",
    "LiteSVMChain",
    "Located",
    "Pending",
    "Problem",
    "ProofBundle",
    "Report",
    "RpcChain",
    "SQLiteStore",
    "Signer",
    "Snapshot",
    "Store",
    "Trace",
    "Traced",
    "VerdictImport",
    "VerdictImportError",
    "Verifier",
    "Witness",
    "WitnessReport",
    "WitnessState",
    "anchor_checkpoint",
    "anchor_transaction",
    "bind_anchor_key",
    "check_payload",
    "check_quorum",
    "default_anchor_key_path",
    "default_key_path",
    "expert_decision",
    "generate_cosigner_key",
    "generate_key",
    "import_verdicts",
    "ingest",
    "ingest_hf",
    "leaf_hash",
    "ledger_files",
    "lineage_prov",
    "load_cosigner",
    "load_verifier",
    "open_checkpoint",
    "parse_signer",
    "parse_verifier",
    "prepare",
    "prov_bytes",
    "read_files",
    "require_solders",
    "sign_checkpoint",
    "texts",
    "trace",
    "verify",
    "verify_anchor",
    "verify_bundle",
    "witness_ledger",
]
