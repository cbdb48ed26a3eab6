// Package boltfile opens a bbolt file defensively: damage is an error,
// never a panic. bbolt refuses some damaged files with an error and panics
// on others (a zeroed or garbled page); Open turns both into an error
// wrapping ErrDamaged and releases what bbolt left open, and SetAside
// renames a damaged file once, however many processes find it damaged.
package boltfile

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged marks a file bbolt cannot use: it refuses it, panics on its
// pages, or finds it inconsistent.
var ErrDamaged = errors.New("is damaged")

// damage is an ErrDamaged whose text is only its cause (bbolt's error or
// panic), so that callers put it after their own name for the file.
type damage struct{ cause string }

func (d damage) Error() string        { return d.cause }
func (d damage) Is(target error) bool { return target == ErrDamaged }

// Damaged returns an error wrapping ErrDamaged whose text is cause's.
func Damaged(cause any) error { return damage{fmt.Sprint(cause)} }

// Open opens the bbolt file at path (mode 0600 when it is created) with
// opts (its OpenFile is Open's own) and calls prepare, if not nil, on the
// open database. Damage, found by bbolt or as a panic of bbolt's in Open
// or in prepare, comes back as an error wrapping ErrDamaged, with the
// file's FileInfo as bbolt opened it (to set it aside; nil when bbolt did
// not get that far) and everything bbolt opened released. Any other error
// of bbolt's (berrors.ErrTimeout for a lock held elsewhere) comes back as
// it is, and an error of prepare's as it is with the database closed.
func Open(path string, opts bolt.Options, prepare func(*bolt.DB) error) (db *bolt.DB, damaged os.FileInfo, err error) {
	var file *os.File // bbolt's handle, to release it if bbolt panics
	var info os.FileInfo
	defer func() {
		if p := recover(); p != nil {
			release(db, file)
			db, damaged, err = nil, info, Damaged(p)
		}
	}()
	opts.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, mode)
		if err == nil {
			file = f
			info, _ = f.Stat()
		}
		return f, err
	}
	db, err = bolt.Open(path, 0o600, &opts)
	switch {
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum),
		err != nil && strings.HasPrefix(err.Error(), "file size too small"): // truncated
		return nil, info, Damaged(err)
	case err != nil:
		return nil, nil, err
	}
	if prepare != nil {
		if err := prepare(db); err != nil {
			release(db, file)
			if errors.Is(err, ErrDamaged) {
				return nil, info, err
			}
			return nil, nil, err
		}
	}
	return db, nil, nil
}

// Check runs bbolt's consistency check over every page of db (it recovers
// bbolt's own panics) and returns its first finding as an error wrapping
// ErrDamaged. It suits Open's prepare.
func Check(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		var first error
		n := 0
		for err := range tx.Check() { // drained: the checker sends until done
			if n++; first == nil {
				first = err
			}
		}
		switch {
		case n > 1:
			return Damaged(fmt.Sprintf("%v (and %d more problems)", first, n-1))
		case first != nil:
			return Damaged(first)
		}
		return nil
	})
}

// release closes what a panicking bbolt left open: the database, if Open
// returned it, and in any case the file bbolt opened (closing a damaged
// database may panic before it gets there). A memory map bbolt made keeps
// the file, and its lock, until the process ends.
func release(db *bolt.DB, file *os.File) {
	if db != nil {
		func() {
			defer func() { _ = recover() }()
			db.Close()
		}()
	}
	if file != nil {
		file.Close()
	}
}

// SetAside renames the damaged file at path (damaged: its FileInfo when
// Open found it damaged) to <path>.corrupt-<time>, then calls reopen to
// start a new file in its place. Several processes may find the file
// damaged at once (bbolt has let go of its lock): a second, small bbolt
// file, <path>.recover, serialises them for up to wait, and under it only
// the file still found damaged is renamed; a process that finds another
// file in its place (or damaged is nil) renames nothing and only reopens.
// SetAside returns the name the file was set aside as ("" when it renamed
// nothing). Its error says why the file was not set aside (reopen is then
// not called); it wraps berrors.ErrTimeout when another process held
// <path>.recover for all of wait.
func SetAside(path string, damaged os.FileInfo, wait time.Duration, reopen func()) (aside string, err error) {
	guard, err := bolt.Open(path+".recover", 0o600, &bolt.Options{Timeout: wait})
	if err != nil {
		return "", fmt.Errorf("cannot take the lock to set it aside (%s.recover): %w", path, err)
	}
	defer guard.Close()
	if now, err := os.Stat(path); err != nil || damaged == nil || !os.SameFile(now, damaged) {
		reopen() // set aside already: the new file
		return "", nil
	}
	aside = fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(path, aside); err != nil {
		return "", fmt.Errorf("it could not be set aside (%w)", err)
	}
	reopen()
	return aside, nil
}
