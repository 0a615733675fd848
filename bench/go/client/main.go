// Command client measures Go groupcache's peer round trip: a Group whose
// HTTPPool sends every key to a remote owner, sequential Gets and then
// concurrent Gets from -c goroutines. It is the Go reference for the
// TypeScript client benchmark (bench/client_bench.ts).
//
// Keys come from -keys FILE, one per line; each is used once, so every Get
// is a real fetch (the hot cache only ever holds keys already used). The
// first -seq keys are fetched one after the other, the next -concn by -c
// goroutines. Every key must be owned by a peer other than -self. With
// -warm N, the first N keys are fetched first by -c goroutines, untimed
// (connections, runtime), and the phases take the keys after them; a phase
// of 0 Gets is skipped (no line).
//
// Output: one JSON line per phase,
//
//	{"phase":"sequential","ops":2000,"opsPerSec":...,"p50Us":...,"p99Us":...,"cpuUsPerOp":...}
//
// cpuUsPerOp is this process's user + system CPU time (getrusage, all
// threads) over the phase, per Get.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/golang/groupcache"
)

type phase struct {
	Phase     string  `json:"phase"`
	Ops       int     `json:"ops"`
	Workers   int     `json:"workers"`
	OpsPerSec float64 `json:"opsPerSec"`
	P50Us     float64 `json:"p50Us"`
	P99Us     float64 `json:"p99Us"`
	CPUUsOp   float64 `json:"cpuUsPerOp"`
}

// cpuTime is this process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	self := flag.String("self", "", "this node's URL as it appears in -peers")
	peers := flag.String("peers", "", "comma-separated peer URLs, pool.Set in order")
	groupName := flag.String("group", "test", "group name (the owner's)")
	keysFile := flag.String("keys", "", "file of keys, one per line")
	seq := flag.Int("seq", 1000, "sequential Gets")
	conc := flag.Int("c", 64, "concurrent goroutines")
	concN := flag.Int("concn", 10000, "concurrent Gets in all")
	warm := flag.Int("warm", 0, "untimed Gets first, by -c goroutines")
	flag.Parse()

	keys, err := readKeys(*keysFile)
	if err != nil {
		fail(err)
	}
	if len(keys) < *warm+*seq+*concN {
		fail(fmt.Errorf("%d keys, want -warm + -seq + -concn = %d", len(keys), *warm+*seq+*concN))
	}
	pool := groupcache.NewHTTPPoolOpts(*self, &groupcache.HTTPPoolOptions{})
	pool.Set(strings.Split(*peers, ",")...)
	for _, k := range keys[:*warm+*seq+*concN] {
		if _, ok := pool.PickPeer(k); !ok {
			fail(fmt.Errorf("key %q is not owned by a remote peer", k))
		}
	}
	g := groupcache.NewGroup(*groupName, 64<<20, groupcache.GetterFunc(
		func(_ context.Context, key string, _ groupcache.Sink) error {
			return errors.New("local load of " + key + ": the peer should have answered")
		}))
	get := func(key string) error {
		var v groupcache.ByteView
		return g.Get(context.Background(), key, groupcache.ByteViewSink(&v))
	}

	enc := json.NewEncoder(os.Stdout)
	if *warm > 0 {
		concurrently(keys[:*warm], *conc, get, make([]time.Duration, *warm))
		keys = keys[*warm:]
	}
	if *seq > 0 {
		lat := make([]time.Duration, *seq)
		cpu0 := cpuTime()
		start := time.Now()
		for i := 0; i < *seq; i++ {
			t := time.Now()
			if err := get(keys[i]); err != nil {
				fail(err)
			}
			lat[i] = time.Since(t)
		}
		enc.Encode(summarize("sequential", 1, lat, time.Since(start), cpuTime()-cpu0))
	}

	if *concN > 0 {
		rest := keys[*seq : *seq+*concN]
		lat := make([]time.Duration, len(rest))
		cpu0 := cpuTime()
		start := time.Now()
		concurrently(rest, *conc, get, lat)
		enc.Encode(summarize("concurrent", *conc, lat, time.Since(start), cpuTime()-cpu0))
	}
	if n := g.Stats.PeerLoads.Get(); n != int64(*warm+*seq+*concN) {
		fail(fmt.Errorf("%d peer loads, want %d", n, *warm+*seq+*concN))
	}
}

// concurrently gets every key of keys from conc goroutines, each latency
// into lat; the first error fails the process.
func concurrently(keys []string, conc int, get func(string) error, lat []time.Duration) {
	var next int64 = -1
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(atomic.AddInt64(&next, 1))
				if i >= len(keys) {
					return
				}
				t := time.Now()
				if err := get(keys[i]); err != nil {
					firstErr.Store(err)
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		fail(err)
	}
}

func summarize(name string, workers int, lat []time.Duration, total, cpu time.Duration) phase {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(p*float64(len(lat))+0.999999) - 1
		if i < 0 {
			i = 0
		}
		return float64(lat[i].Nanoseconds()) / 1e3
	}
	return phase{name, len(lat), workers, float64(len(lat)) / total.Seconds(), pct(0.5), pct(0.99),
		float64(cpu.Nanoseconds()) / 1e3 / float64(len(lat))}
}

func readKeys(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); line != "" {
			keys = append(keys, line)
		}
	}
	return keys, s.Err()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "client:", err)
	os.Exit(1)
}
