// Command mailgun_pb is the reference for the mailgun messages in
// tests/protobuf_test.ts: golang/protobuf's reflection-based codec, given
// GetResponse (with field 3, expire) and SetRequest as declared by
// mailgun/groupcache's groupcache.proto, encodes and decodes the same
// messages as src/protobuf.ts.
//
// It reads one line per message on stdin and writes one line per input;
// absent optional fields are "-", bytes and strings are hex ("." when empty):
//
//	-mode encode-get: "VALUE EXPIRE"             -> hex of the message
//	-mode decode-get: hex                        -> "VALUE EXPIRE" or "ERR"
//	-mode encode-set: "GROUP KEY VALUE EXPIRE"   -> hex of the message
//	-mode decode-set: hex                        -> "GROUP KEY VALUE EXPIRE" or "ERR"
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"

	"github.com/golang/protobuf/proto"
)

// GetResponse is mailgun's: value = 1, minute_qps = 2, expire = 3.
type GetResponse struct {
	Value                []byte   `protobuf:"bytes,1,opt,name=value"`
	MinuteQps            *float64 `protobuf:"fixed64,2,opt,name=minute_qps"`
	Expire               *int64   `protobuf:"varint,3,opt,name=expire"`
	XXX_NoUnkeyedLiteral struct{} `json:"-"`
	XXX_unrecognized     []byte   `json:"-"`
	XXX_sizecache        int32    `json:"-"`
}

func (m *GetResponse) Reset()         { *m = GetResponse{} }
func (m *GetResponse) String() string { return proto.CompactTextString(m) }
func (*GetResponse) ProtoMessage()    {}

// SetRequest is mailgun's: group = 1 and key = 2 required, value = 3,
// expire = 4.
type SetRequest struct {
	Group                *string  `protobuf:"bytes,1,req,name=group"`
	Key                  *string  `protobuf:"bytes,2,req,name=key"`
	Value                []byte   `protobuf:"bytes,3,opt,name=value"`
	Expire               *int64   `protobuf:"varint,4,opt,name=expire"`
	XXX_NoUnkeyedLiteral struct{} `json:"-"`
	XXX_unrecognized     []byte   `json:"-"`
	XXX_sizecache        int32    `json:"-"`
}

func (m *SetRequest) Reset()         { *m = SetRequest{} }
func (m *SetRequest) String() string { return proto.CompactTextString(m) }
func (*SetRequest) ProtoMessage()    {}

func unhex(s string) []byte {
	if s == "." {
		return []byte{}
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		log.Fatalf("mailgun_pb: bad hex %q: %v", s, err)
	}
	return b
}

func optBytes(s string) []byte {
	if s == "-" {
		return nil
	}
	return unhex(s)
}

func optInt(s string) *int64 {
	if s == "-" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		log.Fatalf("mailgun_pb: bad int64 %q: %v", s, err)
	}
	return &n
}

func showBytes(b []byte) string {
	if b == nil {
		return "-"
	}
	return showString(string(b))
}

func showString(s string) string {
	if s == "" {
		return "."
	}
	return hex.EncodeToString([]byte(s))
}

func showInt(n *int64) string {
	if n == nil {
		return "-"
	}
	return strconv.FormatInt(*n, 10)
}

func marshal(m proto.Message) string {
	b, err := proto.Marshal(m)
	if err != nil {
		log.Fatalf("mailgun_pb: marshal: %v", err)
	}
	return hex.EncodeToString(b)
}

func main() {
	mode := flag.String("mode", "", "encode-get, decode-get, encode-set or decode-set")
	flag.Parse()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch *mode {
		case "encode-get":
			fmt.Fprintln(out, marshal(&GetResponse{Value: optBytes(f[0]), Expire: optInt(f[1])}))
		case "decode-get":
			var m GetResponse
			if err := proto.Unmarshal(unhex(f[0]), &m); err != nil {
				fmt.Fprintln(out, "ERR")
				continue
			}
			fmt.Fprintln(out, showBytes(m.Value), showInt(m.Expire))
		case "encode-set":
			group, key := string(unhex(f[0])), string(unhex(f[1]))
			fmt.Fprintln(out, marshal(&SetRequest{
				Group: &group, Key: &key, Value: optBytes(f[2]), Expire: optInt(f[3]),
			}))
		case "decode-set":
			var m SetRequest
			if err := proto.Unmarshal(unhex(f[0]), &m); err != nil {
				fmt.Fprintln(out, "ERR")
				continue
			}
			fmt.Fprintln(out, showString(*m.Group), showString(*m.Key),
				showBytes(m.Value), showInt(m.Expire))
		default:
			log.Fatalf("mailgun_pb: unknown -mode %q", *mode)
		}
	}
	if err := in.Err(); err != nil {
		log.Fatal(err)
	}
}
