package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCommittedOutput fails when the demo files in the tree are not what
// the generator writes: run `go run ./examples/demo/gen -out examples/demo`
// and commit the result.
func TestCommittedOutput(t *testing.T) {
	files := Generate()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (%v); regenerate the demo data", name, err)
		}
	}
	committed, _ := filepath.Glob(filepath.Join("..", "vt", "*.json"))
	nested, _ := filepath.Glob(filepath.Join("..", "vt", "*", "*.json"))
	committed = append(committed, nested...)
	for _, p := range committed {
		rel, _ := filepath.Rel("..", p)
		if _, ok := files[rel]; !ok {
			t.Errorf("%s is not written by the generator; delete it", p)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := Generate(), Generate()
	if len(a) != len(b) {
		t.Fatal("file sets differ between two runs")
	}
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	var names []string
	for name := range a {
		names = append(names, name)
	}
	if !slices.Contains(names, "events.ndjson") {
		t.Error("no events file")
	}
}
