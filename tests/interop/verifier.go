// Command verifier checks keel's ledger output with an independent implementation: Go's
// golang.org/x/mod/sumdb/note (signed notes, c2sp.org/signed-note) and
// golang.org/x/mod/sumdb/tlog (RFC 6962 Merkle proofs). It uses only the standard library and
// x/mod, so it builds offline from Debian's golang-go and golang-golang-x-mod-dev.
//
// Usage:
//
//	verifier open-note VKEY NOTEFILE               print the note's text if VKEY signed it
//	verifier open-checkpoint VKEY NOTEFILE         print "<size> <base64 hash>" of a checkpoint
//	verifier check-record VKEY BUNDLE ENTRYFILE    check a c2sp.org/tlog-proof@v1 receipt
//	verifier check-tree VKEY OLDNOTE NEWNOTE PROOF check a consistency proof (base64 lines)
//	verifier sign SKEY TEXTFILE                    print the text signed with note.Sign
//	verifier genkey NAME                           print a new signer key and verifier key
//	verifier tree-hash ENTRIESFILE                 print "<size> <base64 hash>" of the tree of
//	                                               the entries (one base64 entry a line)
//
// Every failure prints "verifier: <reason>" on stderr and exits 1; misuse exits 2.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const proofHeader = "c2sp.org/tlog-proof@v1"

// goTreeHeader is the first line that tlog.ParseTree insists on (the Go checksum database's
// origin). Checkpoints of other logs carry their own origin there; after checking it against
// the key name we substitute this line so that ParseTree parses the rest of the body itself.
const goTreeHeader = "go.sum database tree"

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "open-note":
		need(args, 2)
		err = openNote(args[0], args[1])
	case "open-checkpoint":
		need(args, 2)
		err = printCheckpoint(args[0], args[1])
	case "check-record":
		need(args, 3)
		err = checkRecord(args[0], args[1], args[2])
	case "check-tree":
		need(args, 4)
		err = checkTree(args[0], args[1], args[2], args[3])
	case "sign":
		need(args, 2)
		err = sign(args[0], args[1])
	case "genkey":
		need(args, 1)
		err = genkey(args[0])
	case "tree-hash":
		need(args, 1)
		err = treeHash(args[0])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "verifier: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: verifier open-note VKEY NOTEFILE | open-checkpoint VKEY NOTEFILE | check-record VKEY BUNDLE ENTRYFILE | "+
		"check-tree VKEY OLDNOTE NEWNOTE PROOFFILE | sign SKEY TEXTFILE | genkey NAME | tree-hash ENTRIESFILE")
	os.Exit(2)
}

func need(args []string, n int) {
	if len(args) != n {
		usage()
	}
}

// openSigned opens a signed note with the one verifier key vkey (note.Open).
func openSigned(vkey string, msg []byte) (*note.Note, note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, fmt.Errorf("note.NewVerifier: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, nil, fmt.Errorf("note.Open: %w", err)
	}
	return n, v, nil
}

// openCheckpoint opens a signed checkpoint, checks that its origin line is the key's name
// (c2sp.org/tlog-checkpoint), and parses the tree size and hash with tlog.ParseTree.
func openCheckpoint(vkey string, msg []byte) (tlog.Tree, error) {
	n, v, err := openSigned(vkey, msg)
	if err != nil {
		return tlog.Tree{}, err
	}
	origin, rest, ok := strings.Cut(n.Text, "\n")
	if !ok {
		return tlog.Tree{}, errors.New("checkpoint: no origin line")
	}
	if origin != v.Name() {
		return tlog.Tree{}, fmt.Errorf("checkpoint origin %q is not the key name %q", origin, v.Name())
	}
	tree, err := tlog.ParseTree([]byte(goTreeHeader + "\n" + rest))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("tlog.ParseTree: %w", err)
	}
	return tree, nil
}

func openNote(vkey, file string) error {
	msg, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	n, _, err := openSigned(vkey, msg)
	if err != nil {
		return err
	}
	fmt.Print(n.Text)
	return nil
}

func printCheckpoint(vkey, file string) error {
	msg, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	tree, err := openCheckpoint(vkey, msg)
	if err != nil {
		return err
	}
	fmt.Printf("%d %s\n", tree.N, tree.Hash)
	return nil
}

// treeHash computes the tree hash of a log of the given entries from scratch with tlog's own
// hashing (StoredHashes, TreeHash), independently of keel's Merkle code.
func treeHash(file string) error {
	text, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	var n int64
	for i, line := range strings.Split(string(text), "\n") {
		if line == "" {
			continue
		}
		entry, err := base64.StdEncoding.Strict().DecodeString(line)
		if err != nil {
			return fmt.Errorf("entries line %d: %w", i+1, err)
		}
		hashes, err := tlog.StoredHashes(n, entry, reader)
		if err != nil {
			return fmt.Errorf("tlog.StoredHashes(%d): %w", n, err)
		}
		stored = append(stored, hashes...)
		n++
	}
	th, err := tlog.TreeHash(n, reader)
	if err != nil {
		return fmt.Errorf("tlog.TreeHash(%d): %w", n, err)
	}
	fmt.Printf("%d %s\n", n, th)
	return nil
}

// decodeHash decodes one canonical, padded base64 SHA-256 hash.
func decodeHash(line string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := base64.StdEncoding.Strict().DecodeString(line)
	if err != nil || len(raw) != tlog.HashSize || base64.StdEncoding.EncodeToString(raw) != line {
		return h, fmt.Errorf("%q is not the canonical base64 of a 32-byte hash", line)
	}
	copy(h[:], raw)
	return h, nil
}

// bundle is a parsed c2sp.org/tlog-proof@v1 receipt.
type bundle struct {
	index      int64
	proof      tlog.RecordProof
	checkpoint []byte
}

// parseBundle parses a tlog-proof strictly, written from the C2SP text, not from keel's code.
func parseBundle(data []byte) (*bundle, error) {
	rest := data
	lineNo := 0
	next := func() (string, error) {
		lineNo++
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", fmt.Errorf("tlog-proof line %d: missing newline", lineNo)
		}
		line := string(rest[:i])
		rest = rest[i+1:]
		return line, nil
	}
	line, err := next()
	if err != nil {
		return nil, err
	}
	if line != proofHeader {
		return nil, fmt.Errorf("tlog-proof line 1: %q is not %q", line, proofHeader)
	}
	if line, err = next(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(line, "extra ") {
		enc := strings.TrimPrefix(line, "extra ")
		raw, err := base64.StdEncoding.Strict().DecodeString(enc)
		if err != nil || base64.StdEncoding.EncodeToString(raw) != enc {
			return nil, fmt.Errorf("tlog-proof line %d: extra data is not canonical base64", lineNo)
		}
		if line, err = next(); err != nil {
			return nil, err
		}
	}
	if !strings.HasPrefix(line, "index ") {
		return nil, fmt.Errorf("tlog-proof line %d: %q is not 'index N'", lineNo, line)
	}
	digits := strings.TrimPrefix(line, "index ")
	index, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || index < 0 || strconv.FormatInt(index, 10) != digits {
		return nil, fmt.Errorf("tlog-proof line %d: bad index %q", lineNo, digits)
	}
	b := &bundle{index: index}
	for {
		if line, err = next(); err != nil {
			return nil, err
		}
		if line == "" {
			break
		}
		h, err := decodeHash(line)
		if err != nil {
			return nil, fmt.Errorf("tlog-proof line %d: %w", lineNo, err)
		}
		b.proof = append(b.proof, h)
	}
	if len(rest) == 0 {
		return nil, errors.New("tlog-proof: the checkpoint is missing")
	}
	b.checkpoint = rest
	return b, nil
}

func checkRecord(vkey, bundleFile, entryFile string) error {
	data, err := os.ReadFile(bundleFile)
	if err != nil {
		return err
	}
	entry, err := os.ReadFile(entryFile)
	if err != nil {
		return err
	}
	b, err := parseBundle(data)
	if err != nil {
		return err
	}
	tree, err := openCheckpoint(vkey, b.checkpoint)
	if err != nil {
		return err
	}
	if b.index >= tree.N {
		return fmt.Errorf("index %d is outside the tree of size %d", b.index, tree.N)
	}
	if err := tlog.CheckRecord(b.proof, tree.N, tree.Hash, b.index, tlog.RecordHash(entry)); err != nil {
		return fmt.Errorf("tlog.CheckRecord(index %d, size %d): %w", b.index, tree.N, err)
	}
	fmt.Println("ok")
	return nil
}

func checkTree(vkey, oldFile, newFile, proofFile string) error {
	oldMsg, err := os.ReadFile(oldFile)
	if err != nil {
		return err
	}
	newMsg, err := os.ReadFile(newFile)
	if err != nil {
		return err
	}
	proofText, err := os.ReadFile(proofFile)
	if err != nil {
		return err
	}
	oldTree, err := openCheckpoint(vkey, oldMsg)
	if err != nil {
		return fmt.Errorf("old checkpoint: %w", err)
	}
	newTree, err := openCheckpoint(vkey, newMsg)
	if err != nil {
		return fmt.Errorf("new checkpoint: %w", err)
	}
	var proof tlog.TreeProof
	for i, line := range strings.Split(string(proofText), "\n") {
		if line == "" {
			continue
		}
		h, err := decodeHash(line)
		if err != nil {
			return fmt.Errorf("proof line %d: %w", i+1, err)
		}
		proof = append(proof, h)
	}
	if err := tlog.CheckTree(proof, newTree.N, newTree.Hash, oldTree.N, oldTree.Hash); err != nil {
		return fmt.Errorf("tlog.CheckTree(%d -> %d): %w", oldTree.N, newTree.N, err)
	}
	fmt.Println("ok")
	return nil
}

func sign(skey, textFile string) error {
	text, err := os.ReadFile(textFile)
	if err != nil {
		return err
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		return fmt.Errorf("note.NewSigner: %w", err)
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		return fmt.Errorf("note.Sign: %w", err)
	}
	_, err = os.Stdout.Write(msg)
	return err
}

func genkey(name string) error {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return fmt.Errorf("note.GenerateKey: %w", err)
	}
	fmt.Println(skey)
	fmt.Println(vkey)
	return nil
}
