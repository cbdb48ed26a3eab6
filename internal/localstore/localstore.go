// Package localstore is the embedded record store of standalone mode: one
// bbolt file holding, per indicator kind, one bucket named after the
// kind's collection with one record per key (its _key). It is the record
// store of a run (Shared: readers get in between its transactions) and
// exports the domain records as a Splunk CSV lookup.
package localstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vtsync/vtsync/internal/boltfile"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/record"
)

// bucket holds the domain records. Each kind's bucket carries its KV
// collection's name, so a file explains itself when opened with bbolt's
// own tools.
var bucket = []byte("vtsync_domains")

// lockTimeout bounds Open's wait for the file lock that another process
// holds; after it, Open fails with a message that says so.
const lockTimeout = 2 * time.Second

// Readers of a Shared store wait up to sharedWait for a transaction of the
// run in progress; a Shared store's write waits as long for readers.
var sharedWait = 30 * time.Second

// readNotice is how long OpenReadOnly waits before it says why it waits.
var readNotice = 500 * time.Millisecond

// Store is an open store file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens the store file at path for reading and writing, creating it
// and its directory (mode 0700, file 0600) if needed. It holds the file's
// lock until Close: a long run uses OpenShared instead.
func Open(path string) (*Store, error) {
	return openRW(path, lockTimeout, true)
}

func openRW(path string, timeout time.Duration, create bool) (*Store, error) {
	s, _, err := openFile(path, timeout, create, false)
	return s, err
}

// ErrDamaged marks a store file that bbolt cannot use: it refuses it, panics
// on its pages, or finds it inconsistent. Errors wrapping it name the file.
var ErrDamaged = errors.New("is damaged")

// openFile opens the store file at path (creating it and its directory
// when create is set) and, when check is set, checks every page of it.
// Damage comes back as an error wrapping ErrDamaged, never as a panic,
// with the damaged file's FileInfo (to set it aside) and bbolt's handle
// closed. An existing empty file is damage too: bbolt would silently
// start a new store in it, and the records it held would be bought again
// without a word.
func openFile(path string, timeout time.Duration, create, check bool) (*Store, os.FileInfo, error) {
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, fmt.Errorf("store %s: creating its directory: %w", path, err)
		}
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, fi, fmt.Errorf("store %s %w: it is empty (0 bytes)", path, ErrDamaged)
	}
	opened := false
	db, damaged, err := boltfile.Open(path, bolt.Options{Timeout: timeout}, func(db *bolt.DB) error {
		opened = true
		if check {
			if err := boltfile.Check(db); err != nil {
				return err
			}
		}
		if create {
			return db.Update(func(tx *bolt.Tx) error {
				_, err := tx.CreateBucketIfNotExists(bucket)
				return err
			})
		}
		return nil
	})
	switch {
	case errors.Is(err, boltfile.ErrDamaged):
		return nil, damaged, fmt.Errorf("store %s %w: %v", path, ErrDamaged, err)
	case err != nil && opened:
		return nil, nil, fmt.Errorf("store %s: %w", path, err)
	case err != nil:
		return nil, nil, openError(path, err)
	}
	return &Store{db: db, path: path}, nil, nil
}

// guard runs one transaction of s, turning a bbolt panic on a damaged page
// into an error wrapping ErrDamaged that names the file.
func (s *Store) guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store %s %w: %v; the next vtsync run sets it aside and starts a new one", s.path, ErrDamaged, p)
		}
	}()
	return fn()
}

// OpenReadOnly opens an existing store file for reading only; several
// readers may share it, but not with a writer. When a run is saving to it
// (a Shared store's transaction), OpenReadOnly waits up to 30 s, and calls
// waiting, if not nil, with a message saying so when the wait is not short.
func OpenReadOnly(path string, waiting func(msg string)) (*Store, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store %s does not exist yet: run `vtsync run` with this configuration first", path)
	}
	s, err := openReadOnly(path, readNotice)
	if errors.Is(err, berrors.ErrTimeout) {
		if waiting != nil {
			waiting(fmt.Sprintf("store %s is locked by a vtsync run that is saving records; waiting up to %s", path, sharedWait))
		}
		s, err = openReadOnly(path, sharedWait)
	}
	switch {
	case errors.Is(err, ErrDamaged):
		// A reader leaves the file as it is: the next run sets it aside.
		return nil, fmt.Errorf("%w. It is left in place: the next `vtsync run` with this configuration sets it aside as %s.corrupt-<time> and starts a new store, whose records are looked up again (restore a backup of it first if you have one)", err, path)
	case errors.Is(err, berrors.ErrTimeout):
		return nil, openError(path, err)
	}
	return s, err
}

// openReadOnly opens path for reading and checks it; a lock wait that
// times out comes back wrapping berrors.ErrTimeout.
func openReadOnly(path string, timeout time.Duration) (*Store, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, fmt.Errorf("store %s %w: it is empty (0 bytes)", path, ErrDamaged)
	}
	db, _, err := boltfile.Open(path, bolt.Options{Timeout: timeout, ReadOnly: true}, boltfile.Check)
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, err
	case errors.Is(err, boltfile.ErrDamaged):
		return nil, fmt.Errorf("store %s %w: %v", path, ErrDamaged, err)
	case err != nil:
		return nil, openError(path, err)
	}
	return &Store{db: db, path: path}, nil
}

func openError(path string, err error) error {
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("store %s is in use by another vtsync process; try again when it has finished", path)
	}
	return fmt.Errorf("store %s: %w", path, err)
}

// Shared is the store of a run: it holds the file's lock only during each
// Get and Save, opening the file for that one transaction and closing it
// after, so that readers (OpenReadOnly: vtsync detect and export) get in
// between while a run lasts. Each call waits up to 30 s for readers to
// finish. It implements pipeline.Store and is safe for concurrent use.
type Shared struct {
	path string
	mu   sync.Mutex // one open at a time: a second one would wait for the first's lock

	// SetAside, when not "", says that the store file was damaged and has
	// been renamed so that a new one could start: which file, why, and
	// what that costs. The caller logs it as an ERROR.
	SetAside string
}

// OpenShared checks that the store file at path can be opened for writing,
// creating it and its directory as Open does, and returns a Shared store.
// It checks every page of an existing file: a damaged one (see ErrDamaged)
// is renamed <path>.corrupt-<time> and a new, empty store started, and
// Shared.SetAside says so. Nothing else reads the damaged file again.
func OpenShared(path string) (*Shared, error) {
	s, damaged, err := openFile(path, lockTimeout, true, true)
	var aside string
	damage := err
	if errors.Is(err, ErrDamaged) {
		s, aside, err = setAside(path, damaged, err)
	}
	if err != nil {
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	sh := &Shared{path: path}
	if aside != "" {
		sh.SetAside = fmt.Sprintf("%v; it is set aside as %s and a new, empty store is started. Its records are lost: each domain is looked up again at VirusTotal as events name it (that spends quota; daily_lookup_budget caps it). To keep them instead, stop vtsync and put a backup of the store in its place", damage, aside)
	}
	return sh, nil
}

// setAside renames the damaged store file at path (damaged: what it was
// when found damaged) and opens a new one, as the checkpoint state does
// (see boltfile.SetAside: runs that find it damaged at once set it aside
// once; a run that finds a new one in its place uses that). It returns the
// new store and the name the damaged file was set aside as ("" when
// another run did it).
func setAside(path string, damaged os.FileInfo, damage error) (*Store, string, error) {
	var s *Store
	var err error
	aside, aerr := boltfile.SetAside(path, damaged, 2*lockTimeout, func() { s, _, err = openFile(path, lockTimeout, true, false) })
	switch {
	case errors.Is(aerr, berrors.ErrTimeout):
		return nil, "", openError(path, aerr)
	case aerr != nil:
		return nil, "", fmt.Errorf("%w; %v: move or delete it to start a new store (its records are then looked up again)", damage, aerr)
	case err != nil:
		return nil, "", err
	}
	return s, aside, nil
}

// Path returns the store's file name.
func (s *Shared) Path() string { return s.path }

// Close releases nothing: no lock is held between calls.
func (s *Shared) Close() error { return nil }

func (s *Shared) with(fn func(*Store) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := openRW(s.path, sharedWait, false)
	if err != nil {
		return err
	}
	err = fn(st)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store %s: %w", s.path, cerr)
	}
	return err
}

// Get is Store.Get, with the file open for the call.
func (s *Shared) Get(ctx context.Context, k kind.Kind, keys []string) (map[string]kind.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out map[string]kind.Record
	err := s.with(func(st *Store) error {
		var err error
		out, err = st.Get(ctx, k, keys)
		return err
	})
	return out, err
}

// Purge is Store.Purge, with the file open for the call.
func (s *Shared) Purge(ctx context.Context, k kind.Kind, before time.Time) (int, error) {
	var n int
	err := s.with(func(st *Store) error {
		var err error
		n, err = st.Purge(ctx, k, before)
		return err
	})
	return n, err
}

// Save is Store.Save, with the file open for the call.
func (s *Shared) Save(ctx context.Context, k kind.Kind, recs []kind.Record) error {
	if len(recs) == 0 {
		return nil
	}
	return s.with(func(st *Store) error { return st.Save(ctx, k, recs) })
}

// Path returns the store's file name.
func (s *Store) Path() string { return s.path }

// Close closes the file and releases its lock.
func (s *Store) Close() error { return s.db.Close() }

// Get returns the records of kind k of those keys that have one, in one
// read transaction.
func (s *Store) Get(ctx context.Context, k kind.Kind, keys []string) (map[string]kind.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]kind.Record, len(keys))
	err := s.guard(func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(k.Collection()))
			if b == nil {
				return nil
			}
			for _, key := range keys {
				v := b.Get([]byte(key))
				if v == nil {
					continue
				}
				r, err := k.Decode(v)
				if err != nil {
					// Unreadable: treated as missing, so the key is looked up
					// again and its record rewritten (as the KV store does).
					continue
				}
				out[key] = r
			}
			return nil
		})
	})
	if errors.Is(err, ErrDamaged) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: reading: %w", s.path, err)
	}
	return out, nil
}

// Save upserts recs by _key in one write transaction: all or none are
// stored. A local write is not interruptible, so Save completes even when
// ctx is already done; a run's final flush after a cancellation is not lost.
func (s *Store) Save(_ context.Context, k kind.Kind, recs []kind.Record) error {
	if len(recs) == 0 {
		return nil
	}
	vals := make([][]byte, len(recs))
	for i, r := range recs {
		if r.ID() == "" {
			return fmt.Errorf("store %s: a %s record has no _key", s.path, k.Name())
		}
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("store %s: encoding %q: %w", s.path, r.ID(), err)
		}
		vals[i] = v
	}
	err := s.guard(func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte(k.Collection()))
			if err != nil {
				return err
			}
			for i, r := range recs {
				if err := b.Put([]byte(r.ID()), vals[i]); err != nil {
					return fmt.Errorf("record %q: %w", r.ID(), err)
				}
			}
			return nil
		})
	})
	if errors.Is(err, ErrDamaged) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store %s: writing %d records: %w", s.path, len(recs), err)
	}
	return nil
}

// Purge deletes the records not refreshed since before (enriched_time
// earlier than before; a record without enriched_time is kept, as the KV
// store's query keeps it) and returns how many it deleted. An unreadable
// record is kept: the next lookup of its key rewrites it. Only kind k's
// records are considered.
func (s *Store) Purge(_ context.Context, k kind.Kind, before time.Time) (int, error) {
	cutoff := before.Unix()
	n := 0
	err := s.guard(func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(k.Collection()))
			if b == nil {
				return nil
			}
			var doomed [][]byte
			err := b.ForEach(func(key, v []byte) error {
				if r, err := k.Decode(v); err == nil && r.Enriched() > 0 && r.Enriched() < cutoff {
					doomed = append(doomed, key)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, key := range doomed {
				if err := b.Delete(key); err != nil {
					return fmt.Errorf("record %q: %w", key, err)
				}
			}
			n = len(doomed)
			return nil
		})
	})
	if errors.Is(err, ErrDamaged) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("store %s: deleting records not refreshed since %s: %w", s.path, before.UTC().Format(time.DateOnly), err)
	}
	return n, nil
}

// Len returns the number of domain records.
func (s *Store) Len() (int, error) {
	n := 0
	err := s.guard(func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket(bucket); b != nil {
				n = b.Stats().KeyN
			}
			return nil
		})
	})
	return n, err
}

// All calls fn for every domain record in _key order (byte order), inside one read
// transaction, and stops at fn's first error, which it returns.
func (s *Store) All(fn func(record.Record) error) error {
	return s.guard(func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				var r record.Record
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("store %s: record %q: %w", s.path, k, err)
				}
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
