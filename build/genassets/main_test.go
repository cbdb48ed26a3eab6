package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// The committed generated files are what this program writes now.
func TestCommittedAssetsAreCurrent(t *testing.T) {
	tmp := t.TempDir()
	if err := run(tmp); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join("..", "..", "splunk_app", "vtsync")
	for _, rel := range []string{"README/inputs.conf.spec", "default/collections.conf", "default/transforms.conf", "static/appIcon.png", "static/appIcon_2x.png", "static/appIconAlt.png", "static/appIconAlt_2x.png"} {
		want, err := os.ReadFile(filepath.Join(tmp, rel))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(app, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale; run: go run ./build/genassets", rel)
		}
	}
}

func TestIconIsOpaqueInsideAndTransparentAtCorners(t *testing.T) {
	for _, size := range []int{36, 72} {
		img := icon(size, false)
		if a := img.NRGBAAt(0, 0).A; a != 0 {
			t.Errorf("%d: corner alpha %d; want transparent rounded corners", size, a)
		}
		if a := img.NRGBAAt(size/2, size/8).A; a != 255 {
			t.Errorf("%d: inner alpha %d", size, a)
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(&b)
		if err != nil || cfg.Width != size || cfg.Height != size {
			t.Errorf("%d: %+v %v", size, cfg, err)
		}
	}
}
