package modrun

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/pipeline"
)

// readHostile reads the normaliser's hostile host-name corpus (format in
// internal/domain/testdata/README.md): every input, and the registered
// domains of the lines marked valid ("-> domain").
func readHostile(t *testing.T) (inputs []string, valid map[string]bool) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "domain", "testdata", "hostile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	valid = map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		q, err := strconv.QuotedPrefix(line)
		if err != nil {
			t.Fatalf("hostile.txt:%d: %v", n, err)
		}
		in, _ := strconv.Unquote(q)
		inputs = append(inputs, in)
		if d, ok := strings.CutPrefix(strings.TrimSpace(line[len(q):]), "-> "); ok {
			valid[d] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(inputs) < 100 || len(valid) == 0 {
		t.Fatalf("hostile corpus: %d inputs, %d valid domains; the file format changed?", len(inputs), len(valid))
	}
	return inputs, valid
}

// The whole hostile corpus arrives as search results, one row per value and
// once more as a single multi-value row: VirusTotal is asked about the
// corpus's valid registered domains, each once, and nothing else.
func TestHostileCorpusNeverReachesVirusTotal(t *testing.T) {
	inputs, valid := readHostile(t)
	rs := make([]map[string]any, 0, len(inputs)+1)
	for _, in := range inputs {
		rs = append(rs, map[string]any{"ut_domain": in})
	}
	rs = append(rs, map[string]any{"ut_domain": inputs})
	e := newEnv(t, rs, nil)
	r := e.run()
	if r.summary.Status != pipeline.StatusOK {
		t.Errorf("status %s, errors %q", r.summary.Status, r.summary.Errors)
	}
	asked := e.vt.Asked()
	for _, d := range asked {
		if !valid[d] {
			t.Errorf("VirusTotal was asked about %q, which is not in the corpus's valid list", d)
		}
	}
	slices.Sort(asked)
	if len(slices.Compact(asked)) != len(asked) {
		t.Errorf("a domain was asked twice: %q", asked)
	}
	if len(asked) != len(valid) {
		t.Errorf("VirusTotal was asked about %d domains, want the %d valid ones", len(asked), len(valid))
	}
	if r.summary.RejectedTotal == 0 || r.summary.Distinct != len(valid) {
		t.Errorf("rejected_total %d distinct %d; want rejections and %d distinct", r.summary.RejectedTotal, r.summary.Distinct, len(valid))
	}
}
