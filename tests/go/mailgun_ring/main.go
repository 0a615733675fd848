// Command mailgun_ring is an independent reference for src/mailgun_ring.ts,
// src/md5.ts and src/fnv.ts, written from the description of mailgun's ring
// (see src/mailgun_ring.ts) with Go's own crypto/md5 and hash/fnv.
//
// It reads one JSON request on stdin and writes one JSON response on stdout.
// Strings travel hex-encoded (their exact bytes):
//
//	request:  {"rings": [{"replicas": 50, "adds": [["6e31", ...], ...],
//	                      "keys": ["6b6579", ...]}, ...],
//	           "hash": ["61", ...]}
//	response: {"owners": [["6e31", ...], ...],
//	           "hash": [{"md5": "0cc1...", "fnv1": "af63bd4c8601b7be"}, ...]}
//
// A ring: for each add, for each node, for i in 0..replicas-1 the point
// int64(FNV-1 64 of the lowercase hex MD5 of itoa(i)+node) is appended and
// owned by that node (a later node takes a shared point); points sort as
// signed integers; a key goes to the first point >= int64(FNV-1 64 of the
// key), wrapping to the first.
package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strconv"
)

type ring struct {
	Replicas int        `json:"replicas"`
	Adds     [][]string `json:"adds"`
	Keys     []string   `json:"keys"`
}

type request struct {
	Rings []ring   `json:"rings"`
	Hash  []string `json:"hash"`
}

type hashes struct {
	Md5  string `json:"md5"`
	Fnv1 string `json:"fnv1"`
}

type response struct {
	Owners [][]string `json:"owners"`
	Hash   []hashes   `json:"hash"`
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mailgun_ring:", err)
	os.Exit(1)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		fail(err)
	}
	return b
}

func fnv1(b []byte) uint64 {
	h := fnv.New64() // FNV-1, not FNV-1a (fnv.New64a)
	h.Write(b)
	return h.Sum64()
}

func point(replica int, node []byte) int64 {
	sum := md5.Sum(append([]byte(strconv.Itoa(replica)), node...))
	return int64(fnv1([]byte(hex.EncodeToString(sum[:]))))
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(err)
	}
	res := response{Owners: [][]string{}, Hash: []hashes{}}
	for _, r := range req.Rings {
		var points []int64
		owner := map[int64]string{}
		for _, add := range r.Adds {
			for _, n := range add {
				node := unhex(n)
				for i := 0; i < r.Replicas; i++ {
					p := point(i, node)
					points = append(points, p)
					owner[p] = n
				}
			}
		}
		sort.Slice(points, func(i, j int) bool { return points[i] < points[j] })
		owners := make([]string, len(r.Keys))
		for i, k := range r.Keys {
			if len(points) == 0 {
				continue
			}
			h := int64(fnv1(unhex(k)))
			idx := sort.Search(len(points), func(i int) bool { return points[i] >= h })
			if idx == len(points) {
				idx = 0
			}
			owners[i] = owner[points[idx]]
		}
		res.Owners = append(res.Owners, owners)
	}
	for _, s := range req.Hash {
		sum := md5.Sum(unhex(s))
		res.Hash = append(res.Hash, hashes{
			Md5:  hex.EncodeToString(sum[:]),
			Fnv1: strconv.FormatUint(fnv1(unhex(s)), 16),
		})
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err)
	}
}
