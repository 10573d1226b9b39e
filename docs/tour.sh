#!/usr/bin/env bash
# The ledger tour (README "Quick start"): ingest human data and synthetic data derived from it,
# judge it, checkpoint, prove one record, verify the receipt offline, redact a payload and
# verify again, then tamper with a copy of the database and watch verify catch it.
set -euo pipefail
KEEL=${KEEL:-keel}
KEEL=$(cd "$(dirname "$KEEL")" 2>/dev/null && pwd)/$(basename "$KEEL") || KEEL=keel
rm -rf tour && mkdir tour && cd tour
export KEEL_DB=keel.db

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
keel() { "$KEEL" "$@"; }

cat > human.jsonl <<'JSONL'
{"id": "h1", "text": "The heron stood in the shallows, patient as a clock."}
{"id": "h2", "text": "Sesquipedalian words are rare in children's books."}
{"id": "h3", "text": "Rain on a tin roof sounds like applause for nobody."}
JSONL
cat > synthetic.jsonl <<'JSONL'
{"id": "s1", "text": "The heron stood patient in the shallows.", "parents": ["h1"]}
{"id": "s2", "text": "Rare words like sesquipedalian make rain sound like applause.", "parents": ["h2", "h3"]}
JSONL

say keel ledger key init --origin example.com/keel-tour
keel ledger key init --origin example.com/keel-tour
say keel ingest human.jsonl --origin human --author annotator-7 --field id=id
keel ingest human.jsonl --origin human --author annotator-7 --field id=id
say keel ingest human.jsonl --origin human --author annotator-7 --field id=id   "# again: nothing appended"
keel ingest human.jsonl --origin human --author annotator-7 --field id=id --json | head -4
say keel ingest synthetic.jsonl --origin synthetic --producer tiny-ngram --param temperature=0.8 --generation 1 --field id=id
keel ingest synthetic.jsonl --origin synthetic --producer tiny-ngram --param temperature=0.8 \
  --generation 1 --field id=id
say keel ledger add-verdict s2 --judge judge-a --label reject --score 0.31 --rationale "mixes two sources"
keel ledger add-verdict s2 --judge judge-a --label reject --score 0.31 --rationale "mixes two sources"
say keel ledger lineage s2
keel ledger lineage s2
say keel ledger checkpoint
keel ledger checkpoint
say keel ledger prove s2 -o s2.tlog-proof '&&' keel ledger entry s2 --raw -o s2.entry
keel ledger prove s2 -o s2.tlog-proof
keel ledger entry s2 --raw -o s2.entry
cat s2.tlog-proof
VKEY=$(keel ledger key show)
say keel ledger verify-proof --key "$VKEY" s2.tlog-proof s2.entry   "# offline: no database"
keel ledger verify-proof --key "$VKEY" s2.tlog-proof s2.entry
say keel ledger redact h2 --reason "licence withdrawn"
keel ledger redact h2 --reason "licence withdrawn"
say keel ledger verify
keel ledger verify
say keel ledger verify-proof --key "$VKEY" s2.tlog-proof s2.entry   "# the old receipt still verifies"
keel ledger verify-proof --key "$VKEY" s2.tlog-proof s2.entry
say keel ledger log -n 4
keel ledger log -n 4

say "cp keel.db tampered.db; change one byte of entry 1 in the copy"
cp keel.db tampered.db
python3 - <<'PY'
import sqlite3
db = sqlite3.connect("tampered.db")
entry = db.execute("SELECT entry FROM entries WHERE idx = 1").fetchone()[0]
db.execute("UPDATE entries SET entry = ? WHERE idx = 1", (entry.replace(b"annotator-7", b"annotator-8"),))
db.commit()
PY
say keel --db tampered.db ledger verify --key "$VKEY"
if keel --db tampered.db ledger verify --key "$VKEY"; then
  echo "tampering went unnoticed: this is a bug" >&2
  exit 1
fi
printf '\n\033[1mThe tour is done: tampering was caught. Files are in ./tour\033[0m\n'
