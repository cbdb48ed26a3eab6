package vt

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// conformanceDir holds the saved VirusTotal domain responses the domain
// kind's tests map (its testdata/README.md says where they come from).
var conformanceDir = filepath.Join("..", "kind", "domain", "testdata")

// fixtureData returns the domain object ("data") of a saved response,
// unwrapping the {"data":…} envelope or the {"request_info","response"}
// wrapper of the anonymised fixture.
func fixtureData(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(conformanceDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var top struct{ Data, Response json.RawMessage }
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if top.Data != nil {
		return top.Data
	}
	return top.Response
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
