package boltfile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

const page = 4096 // bbolt's page size on the platforms CI runs

// healthy writes a bbolt file of n small records and returns its path and size.
func healthy(t *testing.T, n int) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put(fmt.Appendf(nil, "key-%05d", i), make([]byte, 200)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, fi.Size()
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

func randomBytes(n int64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// open calls Open with Check and fails the test on a panic.
func open(t *testing.T, path string) (db *bolt.DB, damaged os.FileInfo, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Open panicked: %v", p)
		}
	}()
	return Open(path, bolt.Options{Timeout: time.Second}, Check)
}

func TestHealthyFileOpens(t *testing.T) {
	path, _ := healthy(t, 100)
	db, damaged, err := open(t, path)
	if err != nil || damaged != nil {
		t.Fatalf("Open = %v, %v; want a database", damaged, err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket([]byte("b")).Stats().KeyN; n != 100 {
			return fmt.Errorf("%d keys, want 100", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Each damage bbolt refuses or panics on is an error wrapping ErrDamaged,
// with the damaged file's FileInfo, and leaves nothing open: the file can
// be renamed and a new one opened at once.
func TestDamageIsAnError(t *testing.T) {
	damages := map[string]func(t *testing.T, path string, size int64){
		"zeroed meta pages": func(t *testing.T, path string, _ int64) { overwrite(t, path, 0, make([]byte, 2*page)) },
		"random bytes":      func(t *testing.T, path string, size int64) { overwrite(t, path, 0, randomBytes(size, 1)) },
		"truncated to one page": func(t *testing.T, path string, _ int64) {
			if err := os.Truncate(path, page); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			path, size := healthy(t, 100)
			damage(t, path, size)
			db, damaged, err := open(t, path)
			if !errors.Is(err, ErrDamaged) {
				if db != nil {
					db.Close()
				}
				t.Fatalf("Open = %v, want ErrDamaged", err)
			}
			if db != nil {
				t.Error("Open returned a database with its damage")
			}
			if now, serr := os.Stat(path); serr != nil || damaged == nil || !os.SameFile(now, damaged) {
				t.Errorf("damaged = %v, want the file's FileInfo", damaged)
			}
		})
	}
}

// Zeroing or garbling any single page past the meta pages never panics:
// Open either finds damage or opens a file whose page held nothing (free
// space), and some of those pages do hold the records.
func TestNoPagePanics(t *testing.T) {
	found := 0
	for _, kind := range []string{"zero", "random"} {
		for p := int64(2); p < 32; p++ {
			path, size := healthy(t, 100)
			if p*page >= size {
				break
			}
			b := make([]byte, page)
			if kind == "random" {
				b = randomBytes(page, uint64(p))
			}
			overwrite(t, path, p*page, b)
			db, _, err := open(t, path)
			switch {
			case errors.Is(err, ErrDamaged):
				found++
			case err != nil:
				t.Errorf("%s page %d: %v, want nil or ErrDamaged", kind, p, err)
			default:
				db.Close()
			}
		}
	}
	if found == 0 {
		t.Error("no damaged page was found damaged")
	}
}

// A lock held elsewhere is not damage: bbolt's timeout comes back as it is.
func TestLockIsNotDamage(t *testing.T) {
	path, _ := healthy(t, 1)
	held, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	db, damaged, err := Open(path, bolt.Options{Timeout: 50 * time.Millisecond}, Check)
	if !errors.Is(err, berrors.ErrTimeout) || errors.Is(err, ErrDamaged) || db != nil || damaged != nil {
		t.Fatalf("Open = %v, %v, %v; want berrors.ErrTimeout alone", db, damaged, err)
	}
}

// An error of prepare's is returned as it is, with the database closed
// (the file can be opened again at once).
func TestPrepareError(t *testing.T) {
	path, _ := healthy(t, 1)
	boom := errors.New("boom")
	db, damaged, err := Open(path, bolt.Options{Timeout: 50 * time.Millisecond}, func(*bolt.DB) error { return boom })
	if !errors.Is(err, boom) || errors.Is(err, ErrDamaged) || db != nil || damaged != nil {
		t.Fatalf("Open = %v, %v, %v; want boom", db, damaged, err)
	}
	db, _, err = Open(path, bolt.Options{Timeout: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("reopening after prepare's error: %v", err)
	}
	db.Close()
}

// SetAside renames the damaged file once: a second process that found the
// same file damaged renames nothing and opens the new one.
func TestSetAsideOnce(t *testing.T) {
	path, size := healthy(t, 10)
	overwrite(t, path, 0, randomBytes(size, 3))
	_, damaged, err := open(t, path)
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open = %v, want ErrDamaged", err)
	}
	reopen := func() {
		db, _, err := open(t, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		db.Close()
	}
	aside, err := SetAside(path, damaged, time.Second, reopen)
	if err != nil || aside == "" {
		t.Fatalf("SetAside = %q, %v; want the file set aside", aside, err)
	}
	if b, err := os.ReadFile(aside); err != nil || int64(len(b)) != size {
		t.Fatalf("set-aside file %s: %d bytes, %v; want the damaged file", aside, len(b), err)
	}
	again, err := SetAside(path, damaged, time.Second, reopen) // the second run
	if err != nil || again != "" {
		t.Fatalf("second SetAside = %q, %v; want nothing renamed", again, err)
	}
	if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) != 1 {
		t.Fatalf("set-aside files %v, want one", m)
	}
}

// SetAside waits for the lock of <path>.recover and says so when it cannot take it.
func TestSetAsideLocked(t *testing.T) {
	path, _ := healthy(t, 1)
	held, err := bolt.Open(path+".recover", 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	called := false
	aside, err := SetAside(path, nil, 50*time.Millisecond, func() { called = true })
	if !errors.Is(err, berrors.ErrTimeout) || aside != "" || called {
		t.Fatalf("SetAside = %q, %v (reopened: %v); want berrors.ErrTimeout, nothing done", aside, err, called)
	}
}
