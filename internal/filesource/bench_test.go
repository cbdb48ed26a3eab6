package filesource

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadEventsNDJSON reads the demo's Sysmon export.
func BenchmarkReadEventsNDJSON(b *testing.B) {
	path := filepath.Join("..", "..", "examples", "demo", "events.ndjson")
	fi, err := os.Stat(path)
	if err != nil {
		b.Skip("demo events not found:", err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = 0
		if err := ReadEvents(b.Context(), path, NDJSON, Fields{}, func(Event) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "events/op")
}
