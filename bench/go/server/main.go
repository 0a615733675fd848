// Command server is stock Go groupcache as users run it: NewHTTPPool on
// http.DefaultServeMux, one group "bench" whose every value is 1 KiB, with the
// key "k" preloaded. It is the Go baseline for the HTTP serving benchmark:
//
//	wrk -t1 -c64 -d5s --latency http://127.0.0.1:PORT/_groupcache/bench/k
//
// It prints "listening ADDR" once the port is bound (-addr 127.0.0.1:0 picks
// a port) and exits on SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/golang/groupcache"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address; port 0 picks a free port")
	size := flag.Int("size", 1024, "value size in bytes")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen %s: %v\n", *addr, err)
		os.Exit(1)
	}
	bound := ln.Addr().String()
	groupcache.NewHTTPPool("http://" + bound)

	value := make([]byte, *size)
	for i := range value {
		value[i] = byte(i)
	}
	g := groupcache.NewGroup("bench", 64<<20, groupcache.GetterFunc(
		func(_ context.Context, _ string, dest groupcache.Sink) error {
			return dest.SetBytes(value)
		}))
	var b []byte
	if err := g.Get(context.Background(), "k", groupcache.AllocatingByteSliceSink(&b)); err != nil {
		fmt.Fprintf(os.Stderr, "preload: %v\n", err)
		os.Exit(1)
	}

	srv := &http.Server{} // nil Handler: http.DefaultServeMux, where the pool is
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
