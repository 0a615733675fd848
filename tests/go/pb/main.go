// Command pb is the reference for tests/protobuf_test.ts: Go's own
// groupcachepb.GetResponse and golang/protobuf decode and encode the same
// messages as src/protobuf.ts.
//
// It reads one hex string per line on stdin and writes one line per input.
// With -mode decode (the default) each input is a whole message: it prints
// the hex of proto.Unmarshal's Value, or "ERR". With -mode encode each input
// is a value: it prints the hex of proto.Marshal(GetResponse{Value}), a
// space, and the hex of the same message with MinuteQps set to
// len(value) + 0.5.
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"

	pb "github.com/golang/groupcache/groupcachepb"
	"github.com/golang/protobuf/proto"
)

func main() {
	mode := flag.String("mode", "decode", "decode or encode")
	flag.Parse()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		raw, err := hex.DecodeString(in.Text())
		if err != nil {
			log.Fatalf("pb: bad hex line %q: %v", in.Text(), err)
		}
		switch *mode {
		case "decode":
			var msg pb.GetResponse
			if err := proto.Unmarshal(raw, &msg); err != nil {
				fmt.Fprintln(out, "ERR")
				continue
			}
			fmt.Fprintln(out, hex.EncodeToString(msg.Value))
		case "encode":
			plain, err := proto.Marshal(&pb.GetResponse{Value: raw})
			if err != nil {
				log.Fatalf("pb: marshal: %v", err)
			}
			qps := float64(len(raw)) + 0.5
			withQps, err := proto.Marshal(&pb.GetResponse{Value: raw, MinuteQps: &qps})
			if err != nil {
				log.Fatalf("pb: marshal: %v", err)
			}
			fmt.Fprintf(out, "%s %s\n", hex.EncodeToString(plain), hex.EncodeToString(withQps))
		default:
			log.Fatalf("pb: unknown -mode %q", *mode)
		}
	}
	if err := in.Err(); err != nil {
		log.Fatalf("pb: reading stdin: %v", err)
	}
}
