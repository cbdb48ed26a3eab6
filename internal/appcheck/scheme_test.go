package appcheck

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vtsync/vtsync/internal/modinput"
)

// What the binary declares with --scheme and what the app's spec registers
// must agree: splunkd shows the scheme's arguments in Settings > Data inputs
// and accepts the spec's properties in inputs.conf.
func TestSchemeMatchesSpec(t *testing.T) {
	var b bytes.Buffer
	if err := modinput.WriteScheme(&b); err != nil {
		t.Fatal(err)
	}
	var scheme struct {
		StreamingMode string `xml:"streaming_mode"`
		Args          []struct {
			Name string `xml:"name,attr"`
		} `xml:"endpoint>args>arg"`
	}
	if err := xml.Unmarshal(b.Bytes(), &scheme); err != nil {
		t.Fatalf("--scheme output is not XML: %v", err)
	}
	var args []string
	for _, a := range scheme.Args {
		args = append(args, a.Name)
	}
	data, err := os.ReadFile(filepath.Join(appDir(t), "README", "inputs.conf.spec"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	st := spec.Stanza(Scheme + "://<name>")
	if st == nil {
		t.Fatalf("spec has no [%s://<name>]", Scheme)
	}
	if !slices.Equal(args, st.Keys) {
		t.Errorf("--scheme arguments %v; the spec lists %v", args, st.Keys)
	}
	if scheme.StreamingMode != "xml" {
		t.Errorf("streaming_mode %q; want xml (splunkd defaults to simple)", scheme.StreamingMode)
	}
}
