// Command png is an independent PNG codec for tests/png_test.ts: Go's own
// image/png reads what examples/png.ts writes, and writes what it must read.
//
// It reads one PNG on stdin. With -mode pixels (the default) it writes
// "WIDTH HEIGHT\n" then every pixel as non-premultiplied RGBA, 4 bytes each,
// row by row. With -mode reencode it writes the image back out with
// png.Encode (Go's own filter choice and zlib stream).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
)

func main() {
	mode := flag.String("mode", "pixels", "pixels or reencode")
	flag.Parse()
	img, err := png.Decode(bufio.NewReader(os.Stdin))
	if err != nil {
		log.Fatalf("png: decode: %v", err)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	switch *mode {
	case "pixels":
		writePixels(out, img)
	case "reencode":
		if err := png.Encode(out, img); err != nil {
			log.Fatalf("png: encode: %v", err)
		}
	default:
		log.Fatalf("png: unknown -mode %q", *mode)
	}
}

// writePixels converts pixel by pixel: NRGBAModel keeps colour.NRGBA values
// (how image/png decodes alpha and tRNS palettes) exact, where draw.Draw
// would round-trip through premultiplied colour and lose precision.
func writePixels(out *bufio.Writer, img image.Image) {
	b := img.Bounds()
	fmt.Fprintf(out, "%d %d\n", b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out.Write([]byte{c.R, c.G, c.B, c.A})
		}
	}
}
