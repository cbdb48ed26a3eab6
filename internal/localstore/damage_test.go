package localstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/record"
)

// damagedStore writes a store of n records at <dir>/vtsync.db and returns
// its path and size.
func damagedStore(t *testing.T, n int) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vtsync.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]record.Record, n)
	for i := range recs {
		recs[i] = full()
		recs[i].Key = fmt.Sprintf("domain-%05d.example", i)
		recs[i].Domain = recs[i].Key
	}
	if err := saveDomains(s, context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, fi.Size()
}

// damages are the ways a store file was found broken: a page zeroed, random
// bytes over it, emptied, cut to one page.
var damages = map[string]func(t *testing.T, path string, size int64){
	"zeroed page 0":    func(t *testing.T, path string, _ int64) { overwrite(t, path, 0, make([]byte, 4096)) },
	"zeroed pages 0-1": func(t *testing.T, path string, _ int64) { overwrite(t, path, 0, make([]byte, 8192)) },
	"zeroed page 3":    func(t *testing.T, path string, _ int64) { overwrite(t, path, 3*4096, make([]byte, 4096)) },
	"zeroed page 10":   func(t *testing.T, path string, _ int64) { overwrite(t, path, 10*4096, make([]byte, 4096)) },
	"random bytes": func(t *testing.T, path string, size int64) {
		b := make([]byte, size)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		overwrite(t, path, 0, b)
	},
	"random bytes after the meta pages": func(t *testing.T, path string, size int64) {
		b := make([]byte, size-2*4096)
		r := rand.New(rand.NewPCG(3, 4))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		overwrite(t, path, 2*4096, b)
	},
	"0-byte file": func(t *testing.T, path string, _ int64) { truncate(t, path, 0) },
	"4 KiB file":  func(t *testing.T, path string, _ int64) { truncate(t, path, 4096) },
}

func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// A damaged store never panics. A run (OpenShared) sets the file aside,
// says which file, why and what it costs, and starts a new store that
// works; a reader (detect, export) gets an error naming the file, which it
// leaves in place, and saying what the next run does.
func TestDamagedStore(t *testing.T) {
	ctx := context.Background()
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			path, size := damagedStore(t, 300)
			damage(t, path, size)
			before, _ := os.ReadFile(path)

			_, err := OpenReadOnly(path, nil)
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "next `vtsync run`") {
				t.Errorf("OpenReadOnly: %v; want ErrDamaged naming the file and the next step", err)
			}
			if now, _ := os.ReadFile(path); string(now) != string(before) {
				t.Error("a reader changed the damaged file")
			}

			sh, err := OpenShared(path)
			if err != nil {
				t.Fatalf("OpenShared: %v; want the damaged file set aside", err)
			}
			asides, _ := filepath.Glob(path + ".corrupt-*")
			if len(asides) != 1 {
				t.Fatalf("set aside as %v, want one %s.corrupt-<time>", asides, path)
			}
			if kept, _ := os.ReadFile(asides[0]); string(kept) != string(before) {
				t.Error("the file set aside is not the damaged file as it was")
			}
			for _, want := range []string{path, asides[0], "is damaged", "looked up again"} {
				if !strings.Contains(sh.SetAside, want) {
					t.Errorf("SetAside %q does not say %q", sh.SetAside, want)
				}
			}
			rec := full()
			if err := saveDomains(sh, ctx, []record.Record{rec}); err != nil {
				t.Fatal(err)
			}
			if got, err := getDomains(sh, ctx, []string{rec.Key, "domain-00001.example"}); err != nil || len(got) != 1 {
				t.Errorf("new store: %v, %v", got, err)
			}
			// The next run finds a sound store and sets nothing aside.
			again, err := OpenShared(path)
			if err != nil || again.SetAside != "" {
				t.Errorf("second open: %v, %q", err, again.SetAside)
			}
		})
	}
}

// Every single zeroed page, and random bytes over every single page, give
// either a working store or ErrDamaged, never a panic.
func TestNoPageDamagePanics(t *testing.T) {
	path, size := damagedStore(t, 100)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	// 100 records fill about 20 pages; the rest of the file is free space.
	for page := int64(0); page < min(size/4096, 32); page++ {
		for _, kind := range []string{"zero", "random"} {
			b := make([]byte, 4096)
			if kind == "random" {
				for i := range b {
					b[i] = byte(r.Uint32())
				}
			}
			if err := os.WriteFile(path, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			overwrite(t, path, page*4096, b)
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s page %d: panic %v", kind, page, p)
					}
				}()
				s, err := OpenReadOnly(path, nil)
				if err != nil {
					if !errors.Is(err, ErrDamaged) {
						t.Errorf("%s page %d: %v, want ErrDamaged", kind, page, err)
					}
					return
				}
				defer s.Close()
				if err := s.All(func(record.Record) error { return nil }); err != nil && !errors.Is(err, ErrDamaged) {
					// A record whose JSON is damaged is a plain error.
					if !strings.Contains(err.Error(), path) {
						t.Errorf("%s page %d: All: %v", kind, page, err)
					}
				}
			}()
		}
	}
}
