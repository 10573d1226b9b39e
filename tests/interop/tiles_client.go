// Command tiles_client audits a c2sp.org/tlog-tiles log over HTTP with Go's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog, independently of keel. It builds
// offline in GOPATH mode from Debian's golang-go and golang-golang-x-mod-dev, as verifier.go.
//
// Usage:
//
//	tiles_client audit URL VKEY INDEX...
//
// fetches URL/checkpoint and opens it with note.Open and the verifier key VKEY (its origin line
// must be the key's name), then reads the tree through tlog.TileHashReader with a TileReader that
// fetches URL/tile/<L>/<N>[.p/<W>] (tile height 8, c2sp.org/tlog-tiles paths, which omit Go's
// height element), checks tlog.TreeHash against the checkpoint, and for each INDEX proves the
// record with tlog.ProveRecord and checks it with tlog.CheckRecord, taking the entry from the
// entry bundle URL/tile/entries/<N>[.p/<W>]; every entry of that bundle must hash
// (tlog.RecordHash) to its authenticated level-0 hash. It prints "<size> <base64 root>" and then
// "ok <index>" for each index.
//
// Every failure prints "verifier: <reason>" on stderr and exits 1; misuse exits 2.
package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

// goTreeHeader is the first line tlog.ParseTree insists on; see verifier.go.
const goTreeHeader = "go.sum database tree"

var client = &http.Client{Timeout: 30 * time.Second}

func main() {
	if len(os.Args) < 5 || os.Args[1] != "audit" {
		fmt.Fprintln(os.Stderr, "usage: tiles_client audit URL VKEY INDEX...")
		os.Exit(2)
	}
	if err := audit(strings.TrimSuffix(os.Args[2], "/"), os.Args[3], os.Args[4:]); err != nil {
		fmt.Fprintf(os.Stderr, "verifier: %v\n", err)
		os.Exit(1)
	}
}

var errNotFound = errors.New("404 Not Found")

// fetch GETs base/path; errNotFound on a 404, an error on any other status but 200.
func fetch(base, path string) ([]byte, error) {
	resp, err := client.Get(base + "/" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("GET %s: %w", path, errNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}

// indexPath encodes a tile index as zero-padded 3-digit elements, all but the last x-prefixed.
func indexPath(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// tilePath is the c2sp.org/tlog-tiles path of a tile (level "entries" for a bundle).
func tilePath(level string, n int64, w int) string {
	p := "tile/" + level + "/" + indexPath(n)
	if w < 1<<height {
		p += ".p/" + strconv.Itoa(w)
	}
	return p
}

// fetchTile GETs a tile or bundle; when a partial one is gone (a log may delete it once the
// full tile exists), it falls back to the full one, as the spec lets clients do.
func fetchTile(base, level string, n int64, w int) ([]byte, bool, error) {
	data, err := fetch(base, tilePath(level, n, w))
	if errors.Is(err, errNotFound) && w < 1<<height {
		data, err = fetch(base, tilePath(level, n, 1<<height))
		return data, true, err
	}
	return data, false, err
}

// httpTiles is a tlog.TileReader over HTTP.
type httpTiles struct{ base string }

func (t httpTiles) Height() int { return height }

func (t httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		data, _, err := fetchTile(t.base, strconv.Itoa(tile.L), tile.N, tile.W)
		if err != nil {
			return nil, err
		}
		if len(data) < tile.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %s is %d bytes, want %d", tilePath(strconv.Itoa(tile.L), tile.N, tile.W), len(data), tile.W*tlog.HashSize)
		}
		out[i] = data[:tile.W*tlog.HashSize]
	}
	return out, nil
}

func (t httpTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// bundle fetches entry bundle n of a tree of size size and returns its entries.
func bundle(base string, n, size int64) ([][]byte, error) {
	w := size - n<<height
	if w > 1<<height {
		w = 1 << height
	}
	data, full, err := fetchTile(base, "entries", n, int(w))
	if err != nil {
		return nil, err
	}
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("entry bundle %d: truncated length", n)
		}
		l := int(data[0])<<8 | int(data[1])
		if len(data) < 2+l {
			return nil, fmt.Errorf("entry bundle %d: entry %d needs %d bytes, %d left", n, len(entries), l, len(data)-2)
		}
		entries = append(entries, data[2:2+l])
		data = data[2+l:]
	}
	if full && int64(len(entries)) > w {
		entries = entries[:w]
	}
	if int64(len(entries)) != w {
		return nil, fmt.Errorf("entry bundle %d holds %d entries, want %d", n, len(entries), w)
	}
	return entries, nil
}

func audit(base, vkey string, indexes []string) error {
	msg, err := fetch(base, "checkpoint")
	if err != nil {
		return err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("note.NewVerifier: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return fmt.Errorf("note.Open: %w", err)
	}
	origin, rest, ok := strings.Cut(n.Text, "\n")
	if !ok || origin != v.Name() {
		return fmt.Errorf("checkpoint origin %q is not the key name %q", origin, v.Name())
	}
	tree, err := tlog.ParseTree([]byte(goTreeHeader + "\n" + rest))
	if err != nil {
		return fmt.Errorf("tlog.ParseTree: %w", err)
	}
	thr := tlog.TileHashReader(tree, httpTiles{base})
	th, err := tlog.TreeHash(tree.N, thr)
	if err != nil {
		return fmt.Errorf("tlog.TreeHash: %w", err)
	}
	if th != tree.Hash {
		return fmt.Errorf("tiles hash to %v, checkpoint says %v", th, tree.Hash)
	}
	fmt.Printf("%d %s\n", tree.N, tree.Hash)
	for _, arg := range indexes {
		index, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || index < 0 || index >= tree.N {
			return fmt.Errorf("index %q is not in the tree of size %d", arg, tree.N)
		}
		b := index >> height
		entries, err := bundle(base, b, tree.N)
		if err != nil {
			return err
		}
		stored := make([]int64, len(entries))
		for i := range entries {
			stored[i] = tlog.StoredHashIndex(0, b<<height+int64(i))
		}
		leaves, err := thr.ReadHashes(stored)
		if err != nil {
			return fmt.Errorf("level-0 hashes of bundle %d: %w", b, err)
		}
		for i, e := range entries {
			if tlog.RecordHash(e) != leaves[i] {
				return fmt.Errorf("entry %d of bundle %d does not hash to its leaf hash", b<<height+int64(i), b)
			}
		}
		proof, err := tlog.ProveRecord(tree.N, index, thr)
		if err != nil {
			return fmt.Errorf("tlog.ProveRecord(%d): %w", index, err)
		}
		leaf := tlog.RecordHash(entries[index-b<<height])
		if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, leaf); err != nil {
			return fmt.Errorf("tlog.CheckRecord(%d): %w", index, err)
		}
		fmt.Printf("ok %d\n", index)
	}
	return nil
}
