// Package localstore is the embedded record store of standalone mode: one
// bbolt file holding one record per registered domain, keyed by _key. It
// implements pipeline.Store (Shared, for a run: readers get in between its
// transactions) and exports its records as a Splunk CSV lookup.
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

	"github.com/vtsync/vtsync/internal/record"
)

// bucket holds the records; it carries the KV collection's name so a file
// explains itself when opened with bbolt's own tools.
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
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store %s: creating its directory: %w", path, err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return nil, openError(path, err)
	}
	if create {
		if err := db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(bucket)
			return err
		}); err != nil {
			db.Close()
			return nil, fmt.Errorf("store %s: %w", path, err)
		}
	}
	return &Store{db: db, path: path}, nil
}

// OpenReadOnly opens an existing store file for reading only; several
// readers may share it, but not with a writer. When a run is saving to it
// (a Shared store's transaction), OpenReadOnly waits up to 30 s, and calls
// waiting, if not nil, with a message saying so when the wait is not short.
func OpenReadOnly(path string, waiting func(msg string)) (*Store, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store %s does not exist yet: run `vtsync run` with this configuration first", path)
	}
	opts := &bolt.Options{Timeout: readNotice, ReadOnly: true}
	db, err := bolt.Open(path, 0o600, opts)
	if errors.Is(err, berrors.ErrTimeout) {
		if waiting != nil {
			waiting(fmt.Sprintf("store %s is locked by a vtsync run that is saving records; waiting up to %s", path, sharedWait))
		}
		opts.Timeout = sharedWait
		db, err = bolt.Open(path, 0o600, opts)
	}
	if err != nil {
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
}

// OpenShared checks that the store file at path can be opened for writing,
// creating it and its directory as Open does, and returns a Shared store.
func OpenShared(path string) (*Shared, error) {
	s, err := openRW(path, lockTimeout, true)
	if err != nil {
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &Shared{path: path}, nil
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
func (s *Shared) Get(ctx context.Context, domains []string) (map[string]record.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out map[string]record.Record
	err := s.with(func(st *Store) error {
		var err error
		out, err = st.Get(ctx, domains)
		return err
	})
	return out, err
}

// Save is Store.Save, with the file open for the call.
func (s *Shared) Save(ctx context.Context, recs []record.Record) error {
	if len(recs) == 0 {
		return nil
	}
	return s.with(func(st *Store) error { return st.Save(ctx, recs) })
}

// Path returns the store's file name.
func (s *Store) Path() string { return s.path }

// Close closes the file and releases its lock.
func (s *Store) Close() error { return s.db.Close() }

// Get returns the records of those domains that have one, in one read
// transaction.
func (s *Store) Get(ctx context.Context, domains []string) (map[string]record.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]record.Record, len(domains))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		for _, d := range domains {
			v := b.Get([]byte(d))
			if v == nil {
				continue
			}
			var r record.Record
			if json.Unmarshal(v, &r) != nil {
				// Unreadable: treated as missing, so the domain is looked up
				// again and its record rewritten (as the KV store does).
				continue
			}
			out[d] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: reading: %w", s.path, err)
	}
	return out, nil
}

// Save upserts recs by _key in one write transaction: all or none are
// stored. A local write is not interruptible, so Save completes even when
// ctx is already done; a run's final flush after a cancellation is not lost.
func (s *Store) Save(_ context.Context, recs []record.Record) error {
	if len(recs) == 0 {
		return nil
	}
	vals := make([][]byte, len(recs))
	for i, r := range recs {
		if r.Key == "" {
			return fmt.Errorf("store %s: record for domain %q has no _key", s.path, r.Domain)
		}
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("store %s: encoding %q: %w", s.path, r.Key, err)
		}
		vals[i] = v
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		for i, r := range recs {
			if err := b.Put([]byte(r.Key), vals[i]); err != nil {
				return fmt.Errorf("record %q: %w", r.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store %s: writing %d records: %w", s.path, len(recs), err)
	}
	return nil
}

// Len returns the number of records.
func (s *Store) Len() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucket); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// All calls fn for every record in _key order (byte order), inside one read
// transaction, and stops at fn's first error, which it returns.
func (s *Store) All(fn func(record.Record) error) error {
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
}
