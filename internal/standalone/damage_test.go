package standalone

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A damaged embedded store never makes run, detect or export panic: here
// a zeroed page (bbolt panics on it) and an emptied file (bbolt would start
// afresh without a word); internal/localstore tests every kind of damage.
// detect and export fail naming the file and leave it; run sets it aside
// with an ERROR that names both files and says the records are looked up
// again, and then works as a first run does.
func TestDamagedEmbeddedStore(t *testing.T) {
	damages := map[string]func(path string) error{
		"zeroed page": func(path string) error {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(make([]byte, 4096), 3*4096)
			return err
		},
		"0-byte file": func(path string) error { return os.Truncate(path, 0) },
	}
	// One run fills a store; each case damages a copy of it.
	base := copyDemo(t)
	r := run(t, RunMain, "--config", filepath.Join(base, "vtsync.yaml"), "--once")
	if r.code != ExitOK {
		t.Fatalf("first run: %+v", r)
	}
	first := summaryOf(t, r.stdout)
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(dir, "vtsync.yaml")
			store := filepath.Join(dir, ".vtsync", "vtsync.db")
			if err := damage(store); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []struct {
				name string
				main func() result
			}{
				{"detect", func() result { return run(t, DetectMain, "--config", cfg) }},
				{"export", func() result { return run(t, ExportMain, "--config", cfg, "--format", "csv") }},
			} {
				r := cmd.main()
				if r.code == ExitOK || !strings.Contains(r.stderr, store) || !strings.Contains(r.stderr, "damaged") ||
					!strings.Contains(r.stderr, "next `vtsync run`") || strings.Contains(r.stderr, "goroutine") {
					t.Errorf("%s on a damaged store: exit %d\nstderr: %s", cmd.name, r.code, r.stderr)
				}
			}
			if _, err := os.Stat(store); err != nil {
				t.Errorf("detect or export moved the damaged store: %v", err)
			}

			r := run(t, RunMain, "--config", cfg, "--once")
			asides, _ := filepath.Glob(store + ".corrupt-*")
			if len(asides) != 1 {
				t.Fatalf("after run: set aside as %v; stderr:\n%s", asides, r.stderr)
			}
			if !hasErrorLine(r.stderr, store, asides[0], "looked up again") {
				t.Errorf("run: no ERROR line naming %s and %s and saying what happens next:\n%s", store, asides[0], r.stderr)
			}
			s := summaryOf(t, r.stdout)
			if r.code != ExitOK || s.LookedUp != first.LookedUp || s.LookedUp == 0 {
				t.Errorf("run after damage: exit %d, %+v; want every domain looked up again (%d)", r.code, s, first.LookedUp)
			}
			if r := run(t, DetectMain, "--config", cfg); r.code != ExitOK {
				t.Errorf("detect on the new store: %+v", r)
			}
		})
	}
}

// hasErrorLine reports whether one ERROR line of stderr holds every want.
func hasErrorLine(stderr string, want ...string) bool {
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "ERROR ") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			return true
		}
	}
	return false
}
