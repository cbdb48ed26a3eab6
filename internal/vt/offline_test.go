package vt

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"github.com/vtsync/vtsync/internal/record"
)

func TestOffline(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("found.example.json", `{"data":{"id":"found.example","type":"domain","links":{"self":"x"},
		"attributes":{"creation_date":1483018099,"last_analysis_stats":{"malicious":2},"tags":["dga"]}}}`)
	write("saved404.example.json", `{"error":{"code":"NotFoundError","message":"Domain \"saved404.example\" not found"}}`)
	write("broken.example.json", `{"data":{"id":`)
	write("nodata.example.json", `{"meta":{}}`)
	write("ip.example.json", `{"data":{"id":"1.2.3.4","type":"ip_address","attributes":{}}}`)
	o := Offline{Dir: dir, Now: func() time.Time { return testNow }}
	ctx := context.Background()

	got, err := enrichDomain(o, ctx, "found.example")
	if err != nil || !got.VTFound || got.Key != "found.example" || got.WhoisCreationDate != "2016-12-29" ||
		*got.LastAnalysisPositive != 2 || got.Tags[0] != "dga" || got.EnrichedTime != testNow.Unix() {
		t.Errorf("found: %s, %v", show(got), err)
	}
	for _, d := range []string{"missing.example", "saved404.example"} {
		got, err := enrichDomain(o, ctx, d)
		if want := record.NotFound(d, testNow.Unix()); err != nil || show(got) != show(want) {
			t.Errorf("%s: %s, %v; want a negative record", d, show(got), err)
		}
	}
	for _, d := range []string{"broken.example", "nodata.example", "ip.example"} {
		_, err := enrichDomain(o, ctx, d)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, d+".json")) {
			t.Errorf("%s: %v, want an error naming the file", d, err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.example.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := enrichDomain(o, ctx, "dir.example"); err == nil || !strings.Contains(err.Error(), "dir.example.json") {
		t.Errorf("unreadable file: %v", err)
	}
}

// Names never reach the file system unless they are plain host names.
func TestOfflineRejectsPaths(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "vt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := `{"data":{"id":"secret","type":"domain","attributes":{}}}`
	if err := os.WriteFile(filepath.Join(root, "secret.json"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Offline{Dir: dir}
	for _, d := range []string{"../secret", "..", "a/b", `a\b`, "/etc/passwd", "", ".", "x\x00y", "a..b"} {
		if got, err := enrichDomain(o, context.Background(), d); err == nil {
			t.Errorf("Enrich(%q) = %s, want an error", d, show(got))
		}
	}
}

func TestOfflineHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := enrichDomain(Offline{Dir: t.TempDir()}, ctx, "x.example"); err == nil {
		t.Error("canceled context ignored")
	}
}

// The demo directory format is what the API returns: a saved conformance
// response works as is.
func TestOfflineConformanceResponse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(conformanceDir, "opencti_vt_test_domain.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tawuhoju.com.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := enrichDomain(Offline{Dir: dir, Now: func() time.Time { return testNow }}, context.Background(), "tawuhoju.com")
	var env struct{ Data json.RawMessage }
	_ = json.Unmarshal(b, &env)
	want, _ := domainkind.MapObject(env.Data, testNow)
	if err != nil || show(got) != show(want) {
		t.Errorf("got %s, %v\nwant %s", show(got), err, show(want))
	}
}

// A saved object is trusted by its content, not its file name: a file
// holding another domain's object, or an object of another type, is an
// error naming the file, and nothing is stored under the file's name.
func TestOfflineChecksIdentity(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("innocent.example.json", `{"data":{"id":"microsoft.com","type":"domain","attributes":{"last_analysis_stats":{"malicious":0}}}}`)
	write("typed.example.json", `{"data":{"id":"typed.example","type":"url","attributes":{}}}`)
	write("noid.example.json", `{"data":{"type":"domain","attributes":{}}}`)
	write("numid.example.json", `{"data":{"id":7,"type":"domain","attributes":{}}}`)
	write("notype.example.json", `{"data":{"id":"notype.example","attributes":{}}}`)
	write("upper.example.json", `{"data":{"id":"UPPER.example.","type":"domain","attributes":{}}}`)
	write("xn--bcher-kva.example.json", `{"data":{"id":"bücher.example","type":"domain","attributes":{}}}`)
	o := Offline{Dir: dir, Now: func() time.Time { return testNow }}
	for d, want := range map[string]string{
		"innocent.example": `"microsoft.com"`,
		"typed.example":    "not of type domain",
		"noid.example":     "(none)",
		"numid.example":    `"7"`,
		"notype.example":   "not of type domain",
	} {
		got, err := enrichDomain(o, context.Background(), d)
		if err == nil {
			t.Errorf("%s: stored %s, want an error", d, show(got))
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, filepath.Join(dir, d+".json")) || !strings.Contains(msg, want) {
			t.Errorf("%s: %v; want the file and %s named", d, err, want)
		}
	}
	for _, d := range []string{"upper.example", "xn--bcher-kva.example"} {
		if got, err := enrichDomain(o, context.Background(), d); err != nil || got.Key != d || !got.VTFound {
			t.Errorf("%s: %s, %v; want its record", d, show(got), err)
		}
	}
}
