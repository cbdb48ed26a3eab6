// Package localstore is the embedded record store of standalone mode: one
// bbolt file holding one record per registered domain, keyed by _key. It
// implements pipeline.Store and exports its records as a Splunk CSV lookup.
package localstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vtsync/vtsync/internal/record"
)

// bucket holds the records; it carries the KV collection's name so a file
// explains itself when opened with bbolt's own tools.
var bucket = []byte("vtsync_domains")

// lockTimeout bounds the wait for the file lock that another vtsync process
// holds (a run in progress); after it, Open fails with a message that says so.
const lockTimeout = 2 * time.Second

// Store is an open store file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens the store file at path for reading and writing, creating it
// and its directory (mode 0700, file 0600) if needed.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store %s: creating its directory: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, openError(path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// OpenReadOnly opens an existing store file for reading only; several
// readers may share it, but not with a writer (a run in progress).
func OpenReadOnly(path string) (*Store, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store %s does not exist yet: run `vtsync run` with this configuration first", path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		return nil, openError(path, err)
	}
	return &Store{db: db, path: path}, nil
}

func openError(path string, err error) error {
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("store %s is in use by another vtsync process (a run in progress?); try again when it has finished", path)
	}
	return fmt.Errorf("store %s: %w", path, err)
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
		b := tx.Bucket(bucket)
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
