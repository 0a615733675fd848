// Command get measures Go groupcache's cache-hit path: one goroutine calling
// Group.Get over preloaded keys, round-robin (or in the order of -order's
// file of key indexes, e.g. a Zipf stream), with no peers, in a group of
// -cache bytes. It is the Go baseline for the TypeScript Group.get benchmark.
//
// Two sinks are timed: AllocatingByteSliceSink (copies the value into a new
// slice on every hit) and ByteViewSink (hands out the cached ByteView without
// copying, which is what the TypeScript get returns, so it is the like-for-like
// figure).
//
// Output: one JSON line per timed round,
//
//	{"sink":"ByteViewSink","size":100,"round":0,"opsPerSec":...,"nsPerOp":...,"cpuNsPerOp":...}
//
// cpuNsPerOp is the process's CPU time (user + system, every thread, from
// getrusage) over the round, per Get: on a shared machine it is steadier
// than the wall time, which counts the time other processes ran. -sinks
// picks the sinks timed (default both).
//
// then one summary line per sink and size with min/median/max ops/s.
//
// With -misses N it measures cache misses instead: a fresh group of -cache
// bytes whose getter is dest.SetString(key), and N Gets of keys it has never
// seen, one after the other (each runs the getter and fills the main cache).
// Output: one line per round,
//
//	{"miss":true,"round":0,"n":...,"nsPerOp":...,"evictions":0,"go":"go1.x"}
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/golang/groupcache"
)

type round struct {
	Sink       string  `json:"sink"`
	Size       int     `json:"size"`
	Round      int     `json:"round"`
	OpsPerSec  float64 `json:"opsPerSec"`
	NsPerOp    float64 `json:"nsPerOp"`
	CPUNsPerOp float64 `json:"cpuNsPerOp"`
}

type summary struct {
	Summary   bool      `json:"summary"`
	Sink      string    `json:"sink"`
	Size      int       `json:"size"`
	Keys      int       `json:"keys"`
	OpsPerRnd int       `json:"opsPerRound"`
	Min       float64   `json:"minOpsPerSec"`
	Median    float64   `json:"medianOpsPerSec"`
	Max       float64   `json:"maxOpsPerSec"`
	Samples   []float64 `json:"samples"`
	CPUNs     []float64 `json:"cpuNsPerOp"`
	Go        string    `json:"go"`
}

// cpuNanos is the CPU time the process has used, every thread, user and system.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// sinkOut keeps results reachable so the compiler cannot drop the work.
var sinkOut int

func main() {
	sizes := flag.String("size", "100,1024", "value sizes in bytes, comma-separated")
	rounds := flag.Int("rounds", 7, "timed rounds per sink and size")
	n := flag.Int("n", 2000000, "Get calls per round")
	keyCount := flag.Int("keys", 10000, "distinct preloaded keys")
	misses := flag.Int("misses", 0, "measure N misses per round instead of hits")
	cacheBytes := flag.Int64("cache", 64<<20, "the group's cacheBytes")
	orderFile := flag.String("order", "", "file of little-endian uint32 key indexes, the order of the Gets (cycled); default round-robin")
	sinkNames := flag.String("sinks", "AllocatingByteSliceSink,ByteViewSink", "the sinks timed, comma-separated")
	flag.Parse()

	enc := json.NewEncoder(os.Stdout)
	if *misses > 0 {
		for r := 0; r < *rounds; r++ {
			runMisses(enc, r, *misses, *cacheBytes)
		}
		return
	}
	for _, s := range strings.Split(*sizes, ",") {
		size, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || size < 0 {
			fmt.Fprintf(os.Stderr, "bad -size %q\n", s)
			os.Exit(2)
		}
		run(enc, size, *rounds, *n, *keyCount, *cacheBytes, readOrder(*orderFile), *sinkNames)
	}
}

// readOrder reads a file of little-endian uint32 key indexes; nil for none.
func readOrder(path string) []uint32 {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	order := make([]uint32, len(b)/4)
	for i := range order {
		order[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return order
}

func run(enc *json.Encoder, size, rounds, n, keyCount int, cacheBytes int64, order []uint32, sinkNames string) {
	value := make([]byte, size)
	for i := range value {
		value[i] = byte(i)
	}
	// Group names are global in Go; one group per size.
	g := groupcache.NewGroup(fmt.Sprintf("bench-%d", size), cacheBytes,
		groupcache.GetterFunc(func(_ context.Context, _ string, dest groupcache.Sink) error {
			return dest.SetBytes(value)
		}))
	ctx := context.Background()
	keys := make([]string, keyCount)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
		var b []byte
		if err := g.Get(ctx, keys[i], groupcache.AllocatingByteSliceSink(&b)); err != nil {
			panic(err)
		}
	}
	if loads := g.Stats.LocalLoads.Get(); loads != int64(keyCount) {
		panic(fmt.Sprintf("preload: %d local loads, want %d", loads, keyCount))
	}

	sinks := []struct {
		name string
		get  func(key string) int
	}{
		{"AllocatingByteSliceSink", func(key string) int {
			var b []byte
			if err := g.Get(ctx, key, groupcache.AllocatingByteSliceSink(&b)); err != nil {
				panic(err)
			}
			return len(b)
		}},
		{"ByteViewSink", func(key string) int {
			var v groupcache.ByteView
			if err := g.Get(ctx, key, groupcache.ByteViewSink(&v)); err != nil {
				panic(err)
			}
			return v.Len()
		}},
	}
	for _, s := range sinks {
		if !strings.Contains(","+sinkNames+",", ","+s.name+",") {
			continue
		}
		// Warm-up: one pass over every key.
		for _, k := range keys {
			sinkOut += s.get(k)
		}
		samples := make([]float64, 0, rounds)
		cpu := make([]float64, 0, rounds)
		for r := 0; r < rounds; r++ {
			runtime.GC()
			cpu0 := cpuNanos()
			start := time.Now()
			if order == nil {
				j := 0
				for i := 0; i < n; i++ {
					sinkOut += s.get(keys[j])
					if j++; j == len(keys) {
						j = 0
					}
				}
			} else {
				for i := 0; i < n; i++ {
					sinkOut += s.get(keys[order[i%len(order)]])
				}
			}
			el := time.Since(start)
			cpuNs := float64(cpuNanos()-cpu0) / float64(n)
			ops := float64(n) / el.Seconds()
			samples = append(samples, ops)
			cpu = append(cpu, cpuNs)
			enc.Encode(round{s.name, size, r, ops, float64(el.Nanoseconds()) / float64(n), cpuNs})
		}
		sorted := append([]float64(nil), samples...)
		sort.Float64s(sorted)
		median := sorted[len(sorted)/2]
		if len(sorted)%2 == 0 {
			median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
		}
		enc.Encode(summary{true, s.name, size, keyCount, n, sorted[0], median,
			sorted[len(sorted)-1], samples, cpu, runtime.Version()})
	}
	if g.Stats.LocalLoads.Get() != int64(keyCount) {
		panic("a timed Get missed the cache")
	}
}

type missRound struct {
	Miss      bool    `json:"miss"`
	Round     int     `json:"round"`
	N         int     `json:"n"`
	NsPerOp   float64 `json:"nsPerOp"`
	Evictions int64   `json:"evictions"`
	Go        string  `json:"go"`
}

// runMisses times n Gets of new keys on a new group: every Get misses, runs
// the getter (dest.SetString(key)) and adds the value to the main cache.
func runMisses(enc *json.Encoder, round, n int, cacheBytes int64) {
	g := groupcache.NewGroup(fmt.Sprintf("miss-%d", round), cacheBytes,
		groupcache.GetterFunc(func(_ context.Context, key string, dest groupcache.Sink) error {
			return dest.SetString(key)
		}))
	ctx := context.Background()
	// The keys are made before timing, as the TypeScript side does.
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(round) + ":" + strconv.Itoa(i)
	}
	runtime.GC()
	start := time.Now()
	for _, k := range keys {
		var v groupcache.ByteView
		if err := g.Get(ctx, k, groupcache.ByteViewSink(&v)); err != nil {
			panic(err)
		}
		sinkOut += v.Len()
	}
	el := time.Since(start)
	if loads := g.Stats.LocalLoads.Get(); loads != int64(n) {
		panic(fmt.Sprintf("%d local loads, want %d", loads, n))
	}
	enc.Encode(missRound{true, round, n, float64(el.Nanoseconds()) / float64(n),
		g.CacheStats(groupcache.MainCache).Evictions, runtime.Version()})
}
