package main

import (
	"fmt"
	"os"
	"strings"
)

// benchLine is one result line of go test -bench -benchmem.
type benchLine struct {
	pkg, name                    string
	iters                        string
	nsOp, mbS, bytesOp, allocsOp string
	other                        []string // custom metrics, e.g. "449.6 ns/row"
}

// parseBench reads go test -bench output: "pkg:" lines name the package of
// the Benchmark lines that follow.
func parseBench(out string) []benchLine {
	var lines []benchLine
	pkg := ""
	for line := range strings.SplitSeq(out, "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "github.com/vtsync/vtsync/")
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		l := benchLine{pkg: pkg, name: f[0], iters: f[1]}
		for i := 2; i+1 < len(f); i += 2 {
			switch f[i+1] {
			case "ns/op":
				l.nsOp = f[i]
			case "MB/s":
				l.mbS = f[i]
			case "B/op":
				l.bytesOp = f[i]
			case "allocs/op":
				l.allocsOp = f[i]
			default:
				l.other = append(l.other, f[i]+" "+f[i+1])
			}
		}
		lines = append(lines, l)
	}
	return lines
}

func microTable(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("cannot read %s: %v\n", path, err), false
	}
	lines := parseBench(string(b))
	ok := len(lines) > 0 && !strings.Contains(string(b), "\nFAIL")
	var s strings.Builder
	s.WriteString("Tabulated from `go test -run '^$' -bench . -benchmem ./internal/... ./bench/...` (default -benchtime 1s).\n\n")
	s.WriteString("| package | benchmark | iterations | ns/op | MB/s | B/op | allocs/op | other |\n|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, l := range lines {
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", l.pkg, l.name, l.iters, l.nsOp, l.mbS, l.bytesOp, l.allocsOp, strings.Join(l.other, ", "))
	}
	if !ok {
		s.WriteString("\nNo benchmark results, or a benchmark failed: see the go test output.\n")
	}
	return s.String(), ok
}
