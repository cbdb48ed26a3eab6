// Package keyquota keeps a VirusTotal key's quota where every process that
// uses the key sees it: the pacing of its requests (requests per minute)
// and the lookups spent on the UTC day (the daily budget), in one small
// file of the checkpoint directory, changed only under an exclusive file
// lock. Two inputs (two processes) configured with the same key thus
// share one pace and one daily count; the inputs of a process share them
// too, across every indicator kind. The same file keeps the key's quota
// hold: after VirusTotal said the key's quota is exceeded, no process
// sends with the key for a while (Hold).
//
// The file is named after a hash of the key, never the key itself.
package keyquota

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxAhead bounds how far in the future the shared pace may stand: a
	// wall clock set back by hours must not hold every lookup for as long.
	maxAhead = time.Hour
	// Suffix ends every quota file name.
	Suffix = ".quota"
)

// ErrNoSlot is returned by Wait when the next request slot comes after the
// context's deadline.
var ErrNoSlot = errors.New("no request slot before the deadline")

// Key is one key's shared quota. Its methods are safe for concurrent use,
// in this process and across processes using the same file.
type Key struct {
	path     string
	interval time.Duration // between grants, beyond the burst
	burst    int
	mu       sync.Mutex // serialises this process's users of the file lock
	now      func() time.Time
	// mayHold is set once this process saw or set a quota stop in the
	// file: until then an answer has no streak to clear, and Answered
	// does not touch the file.
	mayHold atomic.Bool
}

// Open returns the quota of apiKey kept under dir (created if needed), for
// a caller that paces its requests one interval apart beyond a burst (the
// enricher's pacing for its requests_per_minute, vt.Pacing). No file is
// written until the first request.
//
// Callers with different paces share one: each request is spaced from the
// last by the interval of the caller sending it. Inputs sharing a key
// should therefore set the same requests_per_minute (the key's).
func Open(dir, apiKey string, interval time.Duration, burst int) (*Key, error) {
	if apiKey == "" {
		return nil, errors.New("keyquota: empty API key")
	}
	if interval <= 0 || burst < 1 {
		return nil, fmt.Errorf("keyquota: pacing interval %v, burst %d", interval, burst)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("checkpoint directory: %w", err)
	}
	return &Key{
		path:     filepath.Join(dir, FileName(apiKey)),
		interval: interval,
		burst:    burst,
		now:      time.Now,
	}, nil
}

// FileName is the quota file name of apiKey: a hash of the key, so that
// the file names no secret (a VirusTotal key is 256 random bits: its hash
// cannot be reversed by trying keys).
func FileName(apiKey string) string {
	sum := sha256.Sum256([]byte("vtsync key quota\x00" + apiKey))
	return "key-" + hex.EncodeToString(sum[:12]) + Suffix
}

// Path returns the quota file's path (for messages).
func (k *Key) Path() string { return k.path }

// Wait returns when this process may send the key's next request: the
// slot is reserved in the shared file first, so that every process paces
// from the same last request. It returns ctx's error when ctx ends first,
// giving the slot back if no later one was reserved since, and ErrNoSlot
// at once when the slot comes after ctx's deadline.
//
// It is a token bucket of burst b refilled one token per interval, kept as
// its theoretical arrival time (GCRA), so that it grants as the
// enricher's own limiter does: with vt.Pacing's interval and burst for Q
// requests a minute, any Q+1 grants span more than a minute.
func (k *Key) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var slot, reserved time.Time
	err := k.update(paceOnly, func(s *state, now time.Time) bool {
		tat := s.tat()
		if tat.After(now.Add(maxAhead)) {
			tat = now // the clock went back
		}
		slot = tat.Add(-time.Duration(k.burst-1) * k.interval)
		if slot.Before(now) {
			slot = now
		}
		if d, ok := ctx.Deadline(); ok && slot.After(d) {
			return false
		}
		reserved = maxTime(tat, slot).Add(k.interval)
		s.setTAT(reserved)
		return true
	})
	if err != nil {
		return err
	}
	if reserved.IsZero() {
		return ErrNoSlot
	}
	wait := slot.Sub(k.now())
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		// Give the slot back unless another request was paced after it.
		_ = k.update(paceOnly, func(s *state, _ time.Time) bool {
			if !s.tat().Equal(reserved) {
				return false
			}
			s.setTAT(reserved.Add(-k.interval))
			return true
		})
		return ctx.Err()
	}
}

// Take spends one lookup on now's UTC day if fewer than limit were spent
// by every user of the key (limit 0: no cap), durably, and reports whether
// it did.
func (k *Key) Take(now time.Time, limit int) (bool, error) {
	ok := false
	err := k.update(durable, func(s *state, _ time.Time) bool {
		used := s.usedOn(now)
		if limit > 0 && used >= uint32(limit) {
			return false
		}
		s.setUsed(now, used+1)
		ok = true
		return true
	})
	return ok && err == nil, err
}

// Refund gives back one lookup of now's UTC day that Take spent for a
// request that was not sent after all.
func (k *Key) Refund(now time.Time) error {
	return k.update(durable, func(s *state, _ time.Time) bool {
		used := s.usedOn(now)
		if used == 0 {
			return false
		}
		s.setUsed(now, used-1)
		return true
	})
}

// UsedToday returns the lookups every user of the key spent on now's UTC
// day (0 if the file cannot be read).
func (k *Key) UsedToday(now time.Time) int {
	used := 0
	_ = k.update(paceOnly, func(s *state, _ time.Time) bool {
		used = int(s.usedOn(now))
		return false
	})
	return used
}

// Whether an update must reach the disk before it counts. The day's count
// is synced: a lookup spent must stay spent across a crash. The pace is
// not: other processes read it from the page cache all the same, and a
// pace lost to a crash costs at most one interval, while a sync per
// request would slow every grant at high rates.
const (
	paceOnly = false
	durable  = true
)

// update runs fn on the file's state under the file lock, and writes the
// state back when fn reports a change, synced if sync is set.
func (k *Key) update(sync bool, fn func(s *state, now time.Time) bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	f, err := os.OpenFile(k.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("key quota file: %w", err)
	}
	defer f.Close()
	if err := lock(f); err != nil {
		return fmt.Errorf("key quota file %s: lock: %w", k.path, err)
	}
	defer unlock(f)
	var s state
	n, err := f.ReadAt(s[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("key quota file %s: %w", k.path, err)
	}
	switch {
	case n == len(s) && s.valid():
	case n >= v1Size && s.validV1():
		// Written by a version without the quota hold: its pace and
		// count carry on, with no hold.
		s = s.fromV1()
	default:
		// New, or damaged (a torn write): start afresh. At worst one
		// minute's pace, the day's count and a quota hold restart.
		s = state{}
	}
	if !fn(&s, k.now()) {
		return nil
	}
	s.seal()
	if _, err := f.WriteAt(s[:], 0); err != nil {
		return fmt.Errorf("key quota file %s: %w", k.path, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("key quota file %s: %w", k.path, err)
		}
	}
	return nil
}

// state is the file's content: magic, the pace's theoretical arrival time
// (Unix nanoseconds), the UTC day (days since 1970) and the lookups spent
// on it, the quota stops in a row and the end of the quota hold (Unix
// nanoseconds, 0: none), and a CRC-32 of what precedes it.
//
// Version 1 files (magic vtq1) end after the count, with their CRC-32 at
// offset 20: they are read as having no hold.
type state [4 + 8 + 4 + 4 + 4 + 8 + 4]byte

const (
	crcAt  = 32
	v1Size = 24
)

var (
	magic   = [4]byte{'v', 't', 'q', '2'}
	magicV1 = [4]byte{'v', 't', 'q', '1'}
)

func (s *state) valid() bool {
	return [4]byte(s[:4]) == magic && binary.LittleEndian.Uint32(s[crcAt:]) == crc32.ChecksumIEEE(s[:crcAt])
}

func (s *state) validV1() bool {
	return [4]byte(s[:4]) == magicV1 && binary.LittleEndian.Uint32(s[20:]) == crc32.ChecksumIEEE(s[:20])
}

// fromV1 returns a version 1 state's pace and count, with no hold.
func (s *state) fromV1() state {
	var n state
	copy(n[4:20], s[4:20])
	return n
}

func (s *state) seal() {
	copy(s[:4], magic[:])
	binary.LittleEndian.PutUint32(s[crcAt:], crc32.ChecksumIEEE(s[:crcAt]))
}

// hold returns the quota stops in a row and the end of the hold.
func (s *state) hold() stops {
	h := stops{Streak: int(binary.LittleEndian.Uint32(s[20:]))}
	if u := int64(binary.LittleEndian.Uint64(s[24:])); u != 0 {
		h.Until = time.Unix(0, u)
	}
	return h
}

func (s *state) setHold(h stops) {
	binary.LittleEndian.PutUint32(s[20:], uint32(max(h.Streak, 0)))
	var u int64
	if !h.Until.IsZero() {
		u = h.Until.UnixNano()
	}
	binary.LittleEndian.PutUint64(s[24:], uint64(u))
}

func (s *state) tat() time.Time {
	return time.Unix(0, int64(binary.LittleEndian.Uint64(s[4:])))
}

func (s *state) setTAT(t time.Time) { binary.LittleEndian.PutUint64(s[4:], uint64(t.UnixNano())) }

func dayOf(t time.Time) uint32 { return uint32(t.Unix() / 86400) }

func (s *state) usedOn(now time.Time) uint32 {
	if binary.LittleEndian.Uint32(s[12:]) != dayOf(now) {
		return 0
	}
	return binary.LittleEndian.Uint32(s[16:])
}

func (s *state) setUsed(now time.Time, n uint32) {
	binary.LittleEndian.PutUint32(s[12:], dayOf(now))
	binary.LittleEndian.PutUint32(s[16:], n)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
