// Command cluster is one node of the 3-node cluster benchmark
// (bench/cluster_bench.ts) as a Go user would write it: stock groupcache's
// NewHTTPPool on http.DefaultServeMux, next to the application's own route
// on the same port:
//
//	GET /get?key=K   group.Get(K), the value as the body
//	GET /stats       the group's counters and the /get requests served, JSON
//
// Every value is 1 KiB derived from its key (byte i = (i*31 + len(key)) &
// 0xff), the same bytes bench/cluster/node.ts makes. It prints "listening
// ADDR" once bound and exits on SIGTERM or SIGINT.
//
// Flags: -addr 127.0.0.1:PORT, -peers URL,URL,... (this node's own
// http://ADDR among them), -size BYTES.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/golang/groupcache"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	peers := flag.String("peers", "", "comma-separated peer base URLs, this node's own among them")
	size := flag.Int("size", 1024, "value size in bytes")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen %s: %v\n", *addr, err)
		os.Exit(1)
	}
	bound := ln.Addr().String()
	pool := groupcache.NewHTTPPool("http://" + bound)
	pool.Set(strings.Split(*peers, ",")...)

	group := groupcache.NewGroup("cluster", 64<<20, groupcache.GetterFunc(
		func(_ context.Context, key string, dest groupcache.Sink) error {
			b := make([]byte, *size)
			for i := range b {
				b[i] = byte(i*31 + len(key))
			}
			return dest.SetBytes(b)
		}))

	var served int64
	http.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(&served, 1)
		var v groupcache.ByteView
		if err := group.Get(r.Context(), r.URL.Query().Get("key"), groupcache.ByteViewSink(&v)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(v.ByteSlice())
	})
	http.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		s := &group.Stats
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int64{
			"requests":       atomic.LoadInt64(&served),
			"gets":           s.Gets.Get(),
			"cacheHits":      s.CacheHits.Get(),
			"peerLoads":      s.PeerLoads.Get(),
			"peerErrors":     s.PeerErrors.Get(),
			"localLoads":     s.LocalLoads.Get(),
			"serverRequests": s.ServerRequests.Get(),
		})
	})

	srv := &http.Server{} // nil Handler: http.DefaultServeMux, pool and routes
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		srv.Close()
	}()

	fmt.Printf("listening %s\n", bound)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		os.Exit(1)
	}
}
