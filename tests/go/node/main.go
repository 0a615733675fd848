// Command node is a real Go groupcache node for the interop tests: one
// HTTPPool and one Group whose getter derives every value from its key, so a
// TypeScript test can predict what any node returns (see goValue in
// tests/_dev/go_node.ts).
//
// Flags: -addr 127.0.0.1:PORT (":0" picks a port), -self URL, -peers
// URL,URL,... (pool.Set in that order), -group NAME, -cache BYTES.
//
// Routes: /_groupcache/... is the pool itself; /get?key=K runs group.Get;
// /loads and /stats answer JSON; /health answers "ok"; /set-peers?peers=...
// calls pool.Set again. Once the listener is bound it prints one line,
// "listening ADDR", and it exits cleanly on SIGTERM or SIGINT.
//
// Paths are dispatched by prefix in a plain handler rather than a ServeMux,
// because ServeMux answers 301 to paths with "." or ".." segments or "//",
// and the tests need keys such as ".." and "a/../b" to reach the pool.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/golang/groupcache"
)

const basePath = "/_groupcache/"

// value is the getter's value spec, mirrored by goValue in tests/_dev/go_node.ts.
func value(key string) ([]byte, error) {
	switch {
	case strings.HasPrefix(key, "err:"):
		return nil, fmt.Errorf("go getter failed for %q", key)
	case strings.HasPrefix(key, "size:"):
		rest := key[len("size:"):]
		i := strings.IndexByte(rest, ':')
		if i < 0 {
			break
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n < 0 {
			break
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(j*31 + len(key))
		}
		return b, nil
	case strings.HasPrefix(key, "empty:"):
		return []byte{}, nil
	}
	return []byte("go:" + key), nil
}

type loadCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *loadCounter) add(key string) {
	c.mu.Lock()
	c.counts[key]++
	c.mu.Unlock()
}

func (c *loadCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

func splitPeers(s string) []string {
	var peers []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			peers = append(peers, p)
		}
	}
	return peers
}

func writeJSON(w http.ResponseWriter, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Printf("writing JSON: %v", err)
	}
}

func cacheStats(s groupcache.CacheStats) map[string]int64 {
	return map[string]int64{
		"Bytes": s.Bytes, "Items": s.Items, "Gets": s.Gets,
		"Hits": s.Hits, "Evictions": s.Evictions,
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address; port 0 picks a free port")
	self := flag.String("self", "", "this node's base URL as peers know it (default http://ADDR)")
	peersFlag := flag.String("peers", "", "comma-separated peer base URLs, passed to pool.Set in order")
	groupName := flag.String("group", "test", "group name")
	cacheBytes := flag.Int64("cache", 64<<20, "cacheBytes for the group")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen %s: %v\n", *addr, err)
		os.Exit(1)
	}
	bound := ln.Addr().String()
	if *self == "" {
		*self = "http://" + bound
	}

	pool := groupcache.NewHTTPPoolOpts(*self, &groupcache.HTTPPoolOptions{})
	pool.Set(splitPeers(*peersFlag)...)

	loads := &loadCounter{counts: map[string]int{}}
	group := groupcache.NewGroup(*groupName, *cacheBytes, groupcache.GetterFunc(
		func(_ context.Context, key string, dest groupcache.Sink) error {
			loads.add(key)
			b, err := value(key)
			if err != nil {
				return err
			}
			return dest.SetBytes(b)
		}))

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, basePath) {
			pool.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case "/get":
			var b []byte
			err := group.Get(r.Context(), r.URL.Query().Get("key"), groupcache.AllocatingByteSliceSink(&b))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(b)
		case "/loads":
			writeJSON(w, loads.snapshot())
		case "/stats":
			s := &group.Stats
			writeJSON(w, map[string]interface{}{
				"Gets":           s.Gets.Get(),
				"CacheHits":      s.CacheHits.Get(),
				"PeerLoads":      s.PeerLoads.Get(),
				"PeerErrors":     s.PeerErrors.Get(),
				"Loads":          s.Loads.Get(),
				"LoadsDeduped":   s.LoadsDeduped.Get(),
				"LocalLoads":     s.LocalLoads.Get(),
				"LocalLoadErrs":  s.LocalLoadErrs.Get(),
				"ServerRequests": s.ServerRequests.Get(),
				"mainCache":      cacheStats(group.CacheStats(groupcache.MainCache)),
				"hotCache":       cacheStats(group.CacheStats(groupcache.HotCache)),
			})
		case "/health":
			w.Write([]byte("ok"))
		case "/set-peers":
			pool.Set(splitPeers(r.URL.Query().Get("peers"))...)
			w.Write([]byte("ok"))
		default:
			http.NotFound(w, r)
		}
	})

	srv := &http.Server{Handler: handler}
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
