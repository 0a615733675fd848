// Command ring answers questions about Go's consistenthash.Map and
// crc32.ChecksumIEEE for tests/hash_ring_test.ts and tests/crc32_test.ts.
//
// It reads one JSON request on stdin and writes one JSON response on stdout.
// Every string travels hex-encoded (its exact bytes), so keys and node names
// reach Go unchanged whatever they contain:
//
//	request:  {"rings": [{"replicas": 50, "mask": 0, "adds": [["6e31", ...], ...],
//	                      "keys": ["6b6579", ...]}, ...],
//	           "crc": ["313233", ...]}
//	response: {"owners": [["6e31", ...], ...], "crc": [3421780262, ...]}
//
// A ring is built with consistenthash.New(replicas, hash) and one Add call per
// element of "adds". hash is crc32.ChecksumIEEE, or, when "mask" is not zero,
// crc32.ChecksumIEEE(b) & mask, which forces point collisions. "owners" holds
// Get(key) for each key, hex-encoded.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"

	"github.com/golang/groupcache/consistenthash"
)

type ring struct {
	Replicas int        `json:"replicas"`
	Mask     uint32     `json:"mask"`
	Adds     [][]string `json:"adds"`
	Keys     []string   `json:"keys"`
}

type request struct {
	Rings []ring   `json:"rings"`
	Crc   []string `json:"crc"`
}

type response struct {
	Owners [][]string `json:"owners"`
	Crc    []uint32   `json:"crc"`
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		fail(err)
	}
	return b
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ring:", err)
	os.Exit(1)
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(err)
	}
	res := response{Owners: [][]string{}, Crc: []uint32{}}
	for _, r := range req.Rings {
		var hash consistenthash.Hash
		if r.Mask != 0 {
			mask := r.Mask
			hash = func(b []byte) uint32 { return crc32.ChecksumIEEE(b) & mask }
		}
		m := consistenthash.New(r.Replicas, hash)
		for _, add := range r.Adds {
			nodes := make([]string, len(add))
			for i, n := range add {
				nodes[i] = string(unhex(n))
			}
			m.Add(nodes...)
		}
		owners := make([]string, len(r.Keys))
		for i, k := range r.Keys {
			owners[i] = hex.EncodeToString([]byte(m.Get(string(unhex(k)))))
		}
		res.Owners = append(res.Owners, owners)
	}
	for _, s := range req.Crc {
		res.Crc = append(res.Crc, crc32.ChecksumIEEE(unhex(s)))
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err)
	}
}
