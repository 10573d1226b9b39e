"""The tamper-evident provenance ledger: RFC 9162 log, C2SP checkpoints and receipts, storage.

Open one with `Ledger.open("keel.db")`; append entries built by `keel.records`; sign
checkpoints, write receipts (c2sp.org/tlog-proof@v1), redact payloads, and `verify` it all.
"""

from keel.ledger.bundle import ProofBundle, verify_bundle
from keel.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from keel.ledger.ingest import Defaults, FieldMap, IngestReport, ingest
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
from keel.ledger.note import Signer, Verifier, generate_key, parse_signer, parse_verifier
from keel.ledger.sqlite import SQLiteStore
from keel.ledger.store import Store
from keel.ledger.verify import Problem, Report, verify

__all__ = [
    "Ancestor",
    "Appended",
    "Checkpoint",
    "Defaults",
    "FieldMap",
    "Hash",
    "Info",
    "IngestReport",
    "Ledger",
    "Lineage",
    "Located",
    "Pending",
    "Problem",
    "ProofBundle",
    "Report",
    "SQLiteStore",
    "Signer",
    "Store",
    "Verifier",
    "default_key_path",
    "generate_key",
    "ingest",
    "leaf_hash",
    "ledger_files",
    "open_checkpoint",
    "parse_signer",
    "parse_verifier",
    "prepare",
    "sign_checkpoint",
    "verify",
    "verify_bundle",
]
