// Command genassets writes the generated files of the Splunk app:
// README/inputs.conf.spec from the parameter table, collections.conf and
// transforms.conf from the indicator kinds' record contracts, and the app
// icons.
//
//	go run ./build/genassets [-app splunk_app/vtsync]
//
// The output is deterministic; the app check fails when the committed files
// differ from what this program writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"github.com/vtsync/vtsync/internal/appcheck"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/params"
)

func main() {
	app := flag.String("app", filepath.Join("splunk_app", "vtsync"), "app directory")
	flag.Parse()
	if err := run(*app); err != nil {
		fmt.Fprintln(os.Stderr, "genassets:", err)
		os.Exit(1)
	}
}

func run(app string) error {
	if err := write(filepath.Join(app, "README", "inputs.conf.spec"), appcheck.InputsSpec(appcheck.Scheme, params.Args())); err != nil {
		return err
	}
	if err := write(filepath.Join(app, "default", "collections.conf"), collectionsConf(kind.All())); err != nil {
		return err
	}
	if err := write(filepath.Join(app, "default", "transforms.conf"), transformsConf(kind.All())); err != nil {
		return err
	}
	for _, ic := range []struct {
		name string
		size int
		alt  bool
	}{
		{"appIcon.png", 36, false}, {"appIcon_2x.png", 72, false},
		{"appIconAlt.png", 36, true}, {"appIconAlt_2x.png", 72, true},
	} {
		var b bytes.Buffer
		if err := png.Encode(&b, icon(ic.size, ic.alt)); err != nil {
			return err
		}
		if err := write(filepath.Join(app, "static", ic.name), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// icon draws a rounded square holding a "V" with a dot (a domain looked up),
// supersampled 4x4 per pixel. alt is the variant for dark backgrounds.
func icon(size int, alt bool) *image.NRGBA {
	bg := color.NRGBA{0x1f, 0x4e, 0x79, 0xff}
	fg := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	dot := color.NRGBA{0x3c, 0xc8, 0x7a, 0xff}
	if alt {
		bg, fg = fg, bg
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					c, ok := shade(x, y, bg, fg, dot)
					if !ok {
						continue
					}
					r += float64(c.R)
					g += float64(c.G)
					b += float64(c.B)
					a++
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(r / a), G: uint8(g / a), B: uint8(b / a),
				A: uint8(math.Round(255 * a / (ss * ss))),
			})
		}
	}
	return img
}

// shade returns the colour at (x, y) in the unit square, and false outside
// the rounded square.
func shade(x, y float64, bg, fg, dot color.NRGBA) (color.NRGBA, bool) {
	const radius = 0.18
	cx, cy := math.Max(radius-x, math.Max(0, x-(1-radius))), math.Max(radius-y, math.Max(0, y-(1-radius)))
	if cx*cx+cy*cy > radius*radius {
		return color.NRGBA{}, false
	}
	const stroke = 0.085
	if segDist(x, y, 0.22, 0.24, 0.5, 0.78) < stroke || segDist(x, y, 0.78, 0.24, 0.5, 0.78) < stroke {
		return fg, true
	}
	if dx, dy := x-0.78, y-0.78; dx*dx+dy*dy < 0.1*0.1 {
		return dot, true
	}
	return bg, true
}

// segDist is the distance from (x, y) to the segment (ax, ay)-(bx, by).
func segDist(x, y, ax, ay, bx, by float64) float64 {
	vx, vy := bx-ax, by-ay
	t := math.Max(0, math.Min(1, ((x-ax)*vx+(y-ay)*vy)/(vx*vx+vy*vy)))
	dx, dy := x-(ax+t*vx), y-(ay+t*vy)
	return math.Hypot(dx, dy)
}
