// Command mem measures what Go groupcache's Group holds per cached entry: it
// fills a Group's main cache with -n entries of -size-byte values keyed
// "key:<n>" (each value its own slice, as a getter would make it), then
// reports the live heap (runtime.ReadMemStats after runtime.GC) and the
// resident set (/proc/self/statm) before and after, as one JSON line. With
// -cache smaller than what the entries take, it measures the byte budget's
// bound instead (the cache evicts as it fills). The Go baseline of
// bench/memory_bench.ts; one process per measurement.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/golang/groupcache"
)

func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func live() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func main() {
	n := flag.Int("n", 1000000, "entries")
	size := flag.Int("size", 100, "value bytes")
	cache := flag.Int64("cache", 1<<40, "cacheBytes")
	flag.Parse()
	g := groupcache.NewGroup("mem", *cache, groupcache.GetterFunc(
		func(_ context.Context, key string, dest groupcache.Sink) error {
			v := make([]byte, *size)
			for i := range v {
				v[i] = key[i%len(key)]
			}
			return dest.SetBytes(v)
		}))
	heap0, rss0 := live(), rss()
	var out []byte
	for i := 0; i < *n; i++ {
		if err := g.Get(nil, "key:"+strconv.Itoa(i), groupcache.AllocatingByteSliceSink(&out)); err != nil {
			panic(err)
		}
	}
	out = nil
	heap1 := live()
	rss1 := rss()
	st := g.CacheStats(groupcache.MainCache)
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"heapBefore": heap0, "heapAfter": heap1,
		"rssBefore": rss0, "rssAfter": rss1,
		"items": st.Items, "bytes": st.Bytes, "evictions": st.Evictions,
		"go": runtime.Version(),
	})
	runtime.KeepAlive(g)
}
