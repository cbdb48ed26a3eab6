// Package checkpoint keeps one input's crash-safe state between runs: the
// run lock, the journal of paid VirusTotal answers not yet confirmed by the
// store. (The lookups spent per UTC day and the quota hold belong to the
// API key: internal/keyquota.)
//
// The state of input X lives in one bbolt file, <dir>/<X sanitised>.db.
// Every change is one bbolt transaction, fsync'd before the call returns.
package checkpoint

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vtsync/vtsync/internal/boltfile"
)

// MaxPending bounds the journal (at a few hundred bytes a record, tens of
// MB). The pipeline keeps it far below that: answers leave the journal as
// soon as the store confirms their batch, and a run whose store refuses a
// batch (or the previous run's journal) starts no more lookups. Journal
// refuses to go beyond MaxPending records with ErrJournalFull: save what is
// pending first.
const MaxPending = 100_000

// lockTimeout is how long Open waits for a run that is finishing.
const lockTimeout = 500 * time.Millisecond

var (
	// ErrLocked means another process (another run of the same input)
	// holds the state.
	ErrLocked = errors.New("state is locked by another run")
	// ErrJournalFull means the journal holds MaxPending records.
	ErrJournalFull = errors.New("journal is full")
)

var (
	bucketJournal = []byte("journal") // kind NUL key → JSON record (see journalKey)
	bucketMeta    = []byte("meta")

	keyJournalLen = "journal_len" // uint64: keys in bucketJournal
	// Earlier versions kept the quota hold here, under "quota_streak" and
	// "quota_until" in bucketMeta; the keys are left alone and unread.
)

// State is one input's open state. It holds the input's exclusive lock
// until Close. Its methods are safe for concurrent use.
type State struct {
	db   *bolt.DB
	path string

	limit int // MaxPending; smaller in tests

	// SetAside is the damaged state file Open renamed before starting this
	// one, and why ("" when there was none): its unsaved answers are lost.
	SetAside string
}

// Open opens (creating if needed) the state of input under dir and takes
// its exclusive lock. If another process or another open State holds the
// lock, Open fails within about half a second with an error wrapping
// ErrLocked.
//
// A damaged state file (bbolt refuses it, or panics on its pages) is
// renamed <file>.corrupt-<time> and a new one is started, so that the
// input does not fail at every run until someone deletes it; the returned
// State says so in SetAside.
func Open(dir, input string) (*State, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("checkpoint directory: %w", err)
	}
	path := filepath.Join(dir, FileName(input))
	s, damaged, err := openFile(path)
	if !errors.Is(err, errDamaged) {
		return s, err
	}
	return setAside(path, damaged, err)
}

// setAside renames the damaged state file at path (damaged: what it was
// when found damaged) and opens a new one (see boltfile.SetAside: two runs
// that find it damaged at once set it aside once). A bbolt panic can leave
// this process holding the damaged file's lock (its memory map), so it is
// not opened again.
func setAside(path string, damaged os.FileInfo, damage error) (*State, error) {
	var s *State
	var err error
	aside, aerr := boltfile.SetAside(path, damaged, 2*lockTimeout, func() { s, _, err = openFile(path) })
	switch {
	case errors.Is(aerr, berrors.ErrTimeout):
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	case aerr != nil:
		return nil, fmt.Errorf("%w; %v: delete it to start afresh (unsaved lookups in it are lost)", damage, aerr)
	case err != nil:
		return nil, err
	}
	if aside != "" {
		s.SetAside = fmt.Sprintf("%s (%v)", aside, damage)
	}
	return s, nil
}

// errDamaged marks a state file bbolt cannot use.
var errDamaged = errors.New("is damaged")

// openFile opens the state file at path. Damage comes back as an error
// wrapping errDamaged, with the damaged file's FileInfo and its handle
// closed.
func openFile(path string) (*State, os.FileInfo, error) {
	db, damaged, err := boltfile.Open(path, bolt.Options{Timeout: lockTimeout}, func(db *bolt.DB) error {
		// Workers journal one answer at a time; a short window still
		// lets the ones that finish together share a commit.
		db.MaxBatchDelay = 2 * time.Millisecond
		return db.Update(func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bucketJournal, bucketMeta} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			// Recount at every open: one pass over the journal's pages (a
			// damaged one panics here, not in a later run's replay), and the
			// count is right whatever wrote the file before.
			return put(tx.Bucket(bucketMeta), keyJournalLen, uint64(tx.Bucket(bucketJournal).Stats().KeyN))
		})
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, nil, fmt.Errorf("%s: %w", path, ErrLocked)
	case errors.Is(err, boltfile.ErrDamaged):
		return nil, damaged, fmt.Errorf("state file %s %w: %v", path, errDamaged, err)
	case err != nil:
		return nil, nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return &State{db: db, path: path, limit: MaxPending}, nil, nil
}

// FileName returns the state file name of input: the name with every byte
// outside [A-Za-z0-9._-] (and a leading dot) replaced by '_', plus a short hash of the original
// name when that changed it (so "a/b" and "a_b" do not share a file).
func FileName(input string) string {
	clean := []byte(input)
	changed := input == ""
	for i, c := range clean {
		leadingDot := c == '.' && i == 0
		if leadingDot || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			clean[i] = '_'
			changed = true
		}
	}
	name := string(clean)
	if len(name) > 64 {
		name, changed = name[:64], true
	}
	if changed {
		sum := sha256.Sum256([]byte(input))
		name += "-" + hex.EncodeToString(sum[:4])
	}
	return name + Suffix
}

// Suffix ends every state file name, so that a state file cannot be taken
// for (and lock) a store file such as standalone mode's vtsync.db.
const Suffix = ".state.db"

// Path returns the state file's path (for messages).
func (s *State) Path() string { return s.path }

// Close releases the lock.
func (s *State) Close() error { return s.db.Close() }

// Entry is one journaled answer: the stored document of Key, of the
// indicator kind named Kind.
type Entry struct {
	Kind string
	Key  string
	Doc  json.RawMessage
}

// legacyKind is the kind of journal entries written before vtsync had
// several kinds: they hold domain records keyed by the bare domain.
const legacyKind = "domain"

// journalKey is an entry's key in bucketJournal: the kind, a NUL, the key
// (no indicator key holds a NUL).
func journalKey(kind, key string) []byte {
	return []byte(kind + "\x00" + key)
}

// splitKey reverses journalKey; a key without a NUL is a legacy domain entry.
func splitKey(k []byte) (kind, key string) {
	if kind, key, ok := strings.Cut(string(k), "\x00"); ok {
		return kind, key
	}
	return legacyKind, string(k)
}

// Journal durably records es (keyed by kind and key; a later entry for a
// key replaces the earlier one) before they are sent to the store. It
// fails with ErrJournalFull, journaling nothing, if the journal would hold
// more than MaxPending records. Concurrent calls share one commit
// (bbolt's Batch), so each worker can journal its own answers.
func (s *State) Journal(es []Entry) error {
	if len(es) == 0 {
		return nil
	}
	for _, e := range es {
		if e.Key == "" || e.Kind == "" || strings.ContainsRune(e.Kind+e.Key, 0) {
			return fmt.Errorf("journal: entry without a kind or key (kind %q, key %q)", e.Kind, e.Key)
		}
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, meta := tx.Bucket(bucketJournal), tx.Bucket(bucketMeta)
		n := get(meta, keyJournalLen)
		for _, e := range es {
			k := journalKey(e.Kind, e.Key)
			if b.Get(k) == nil {
				if e.Kind == legacyKind && b.Get([]byte(e.Key)) != nil {
					// The new entry supersedes the legacy one.
					if err := b.Delete([]byte(e.Key)); err != nil {
						return err
					}
				} else {
					n++
				}
			}
			if n > uint64(s.limit) {
				return fmt.Errorf("%s: %w (%d records): the store has not confirmed them", s.path, ErrJournalFull, s.limit)
			}
			if err := b.Put(k, e.Doc); err != nil {
				return err
			}
		}
		return put(meta, keyJournalLen, n)
	})
}

// Len returns the number of journaled records (0 once Closed).
func (s *State) Len() int {
	n := 0
	_ = s.db.View(func(tx *bolt.Tx) error {
		n = int(get(tx.Bucket(bucketMeta), keyJournalLen))
		return nil
	})
	return n
}

// Done removes the journaled records of keys of kind, once the store has
// confirmed them. Unknown keys are ignored.
func (s *State) Done(kind string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, meta := tx.Bucket(bucketJournal), tx.Bucket(bucketMeta)
		n := get(meta, keyJournalLen)
		for _, key := range keys {
			ks := [][]byte{journalKey(kind, key)}
			if kind == legacyKind {
				ks = append(ks, []byte(key))
			}
			for _, k := range ks {
				if b.Get(k) == nil {
					continue
				}
				if err := b.Delete(k); err != nil {
					return err
				}
				n--
			}
		}
		return put(meta, keyJournalLen, n)
	})
}

// Pending returns the journaled entries, in kind and key order: answers
// that were paid for but not confirmed by the store (a crash, a store
// failure). Entries that are not a JSON object are dropped (and removed),
// and how many is returned.
func (s *State) Pending() ([]Entry, int, error) {
	var es []Entry
	var bad [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJournal).ForEach(func(k, v []byte) error {
			if !json.Valid(v) || len(v) == 0 || v[0] != '{' {
				// A record we wrote ourselves cannot be corrupt unless the
				// file is; drop it rather than block every later run.
				bad = append(bad, append([]byte(nil), k...))
				return nil
			}
			kind, key := splitKey(k)
			es = append(es, Entry{Kind: kind, Key: key, Doc: append(json.RawMessage(nil), v...)})
			return nil
		})
	})
	if err == nil && len(bad) > 0 {
		_ = s.db.Update(func(tx *bolt.Tx) error { // if this fails, the next Pending drops them again
			b, meta := tx.Bucket(bucketJournal), tx.Bucket(bucketMeta)
			n := get(meta, keyJournalLen)
			for _, k := range bad {
				if b.Get(k) != nil {
					if err := b.Delete(k); err != nil {
						return err
					}
					n--
				}
			}
			return put(meta, keyJournalLen, n)
		})
	}
	return es, len(bad), err
}

func get(b *bolt.Bucket, key string) uint64 {
	v := b.Get([]byte(key))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func put(b *bolt.Bucket, key string, n uint64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], n)
	return b.Put([]byte(key), v[:])
}
