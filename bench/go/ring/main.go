// Command ring times Go's consistenthash.Map.Get (crc32 of the key, binary
// search, map lookup) for bench/hash_ring_bench.ts, on the rings and keys
// that script sends, so both sides hash exactly the same strings.
//
// Input (stdin, JSON):
//
//	{"rounds": 7, "minMs": 250, "keys": ["user:…", …],
//	 "rings": [{"replicas": 50, "nodes": ["http://10.0.0.0:8000", …]}, …]}
//
// Output (stdout, JSON): for each ring, the ns/op of every round and a
// checksum of the owners of all keys in order (crc32 of the owners joined by
// "\n"), which the script compares with its own ring's.
package main

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"time"

	"github.com/golang/groupcache/consistenthash"
)

type ringSpec struct {
	Replicas int      `json:"replicas"`
	Nodes    []string `json:"nodes"`
}

type request struct {
	Rounds int        `json:"rounds"`
	MinMs  float64    `json:"minMs"`
	Keys   []string   `json:"keys"`
	Rings  []ringSpec `json:"rings"`
}

type result struct {
	Nodes    int       `json:"nodes"`
	Replicas int       `json:"replicas"`
	NsPerOp  []float64 `json:"nsPerOp"`
	Owners   uint32    `json:"owners"`
}

var sink int

// run performs n lookups, cycling through keys (len(keys) is a power of two).
func run(m *consistenthash.Map, keys []string, n int) {
	mask := len(keys) - 1
	x := 0
	for i := 0; i < n; i++ {
		x += len(m.Get(keys[i&mask]))
	}
	sink += x
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "ring:", err)
		os.Exit(1)
	}
	if len(req.Keys) == 0 || len(req.Keys)&(len(req.Keys)-1) != 0 {
		fmt.Fprintln(os.Stderr, "ring: the number of keys must be a power of two")
		os.Exit(1)
	}
	minDur := time.Duration(req.MinMs * float64(time.Millisecond))
	results := []result{}
	for _, spec := range req.Rings {
		m := consistenthash.New(spec.Replicas, nil)
		m.Add(spec.Nodes...)

		owners := make([]string, len(req.Keys))
		for i, k := range req.Keys {
			owners[i] = m.Get(k)
		}

		// Warm up, then calibrate n so that one round takes about minDur.
		n := 1
		for {
			start := time.Now()
			run(m, req.Keys, n)
			if d := time.Since(start); d >= minDur/10 {
				n = int(float64(n) * float64(minDur) / float64(d))
				break
			}
			n *= 2
		}
		r := result{
			Nodes:    len(spec.Nodes),
			Replicas: spec.Replicas,
			Owners:   crc32.ChecksumIEEE([]byte(strings.Join(owners, "\n"))),
		}
		for i := 0; i < req.Rounds; i++ {
			start := time.Now()
			run(m, req.Keys, n)
			r.NsPerOp = append(r.NsPerOp, float64(time.Since(start).Nanoseconds())/float64(n))
		}
		results = append(results, r)
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "ring:", err)
		os.Exit(1)
	}
}
