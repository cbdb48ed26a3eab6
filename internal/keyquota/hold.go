package keyquota

import (
	"sync"
	"time"
)

const (
	// HoldFirst is how long a key sends no lookups after VirusTotal said
	// its quota is exceeded; each further stop in a row doubles it, up to
	// the next 00:00 UTC, when daily quotas reset. Asking again every run
	// would hammer VirusTotal, which can suspend a key that keeps querying
	// over its limits.
	HoldFirst = 15 * time.Minute
	// HoldSlack shortens each hold, so that the run 15 minutes later on a
	// schedule goes ahead although starts jitter by seconds.
	HoldSlack = time.Minute
)

// stops is a key's quota hold: the quota stops in a row with no answer
// between them, and the end of the hold (zero: none).
type stops struct {
	Streak int
	Until  time.Time
}

// heldAt returns h if it holds lookups at now, and h with no end
// otherwise.
func (h stops) heldAt(now time.Time) stops {
	if h.Streak == 0 || !now.Before(h.Until) {
		h.Until = time.Time{}
	}
	return h
}

// stopped returns the hold after a quota stop at now, in a run that
// started at start: HoldFirst after a stop that followed an answer, twice
// the last wait after one that did not, counted from the run's start
// (runs start on a schedule), never past the next 00:00 UTC. A stop while
// a hold is in force (the other lookups in flight refused alike) changes
// nothing: it reports false.
func (h stops) stopped(start, now time.Time) (stops, bool) {
	if !h.heldAt(now).Until.IsZero() {
		return h, false
	}
	streak := h.Streak + 1
	until := holdEnd(start, streak)
	if !until.After(now) { // a run longer than the hold
		until = holdEnd(now, streak)
	}
	return stops{Streak: streak, Until: until}, true
}

func holdEnd(start time.Time, streak int) time.Time {
	until := start.Add(HoldFirst<<min(streak-1, 16) - HoldSlack)
	if midnight := start.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour); until.After(midnight) {
		until = midnight
	}
	return until
}

// Held returns until when the key's lookups are held at now after a
// quota stop (zero: they are not) and the stops in a row. A file that
// cannot be read holds nothing.
func (k *Key) Held(now time.Time) (until time.Time, streak int) {
	var h stops
	_ = k.update(paceOnly, func(s *state, _ time.Time) bool {
		h = s.hold()
		return false
	})
	if h.Streak > 0 {
		k.mayHold.Store(true)
	}
	h = h.heldAt(now)
	return h.Until, h.Streak
}

// Stopped records that VirusTotal refused a request with the key's quota
// exceeded at now, in a run that started at start, and returns the hold
// that follows (see HoldFirst) for every user of the key.
func (k *Key) Stopped(start, now time.Time) (until time.Time, streak int, err error) {
	k.mayHold.Store(true)
	var h stops
	err = k.update(durable, func(s *state, _ time.Time) bool {
		var changed bool
		h, changed = s.hold().stopped(start, now)
		if changed {
			s.setHold(h)
		}
		return changed
	})
	return h.Until, h.Streak, err
}

// Answered records that VirusTotal answered a request with the key: the
// quota is back, and the next stop starts a new streak.
func (k *Key) Answered() error {
	if !k.mayHold.Load() {
		return nil
	}
	err := k.update(durable, func(s *state, _ time.Time) bool {
		if s.hold().Streak == 0 {
			return false
		}
		s.setHold(stops{})
		return true
	})
	if err == nil {
		k.mayHold.Store(false)
	}
	return err
}

// SetHold sets the key's quota hold: streak stops in a row, no lookups
// until until; a streak of 0 clears it.
func (k *Key) SetHold(streak int, until time.Time) error {
	k.mayHold.Store(streak > 0)
	if streak <= 0 {
		streak, until = 0, time.Time{}
	}
	return k.update(durable, func(s *state, _ time.Time) bool {
		s.setHold(stops{Streak: streak, Until: until})
		return true
	})
}

// Memory is a key's quota hold kept in this process's memory, for runs
// without a checkpoint directory: the inputs and successive runs of one
// process share it, other processes do not.
type Memory struct {
	mu sync.Mutex
	h  stops
}

var memories sync.Map // FileName(apiKey) → *Memory

// InMemory returns this process's quota hold of apiKey.
func InMemory(apiKey string) *Memory {
	m, _ := memories.LoadOrStore(FileName(apiKey), &Memory{})
	return m.(*Memory)
}

// Held is Key.Held.
func (m *Memory) Held(now time.Time) (until time.Time, streak int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.h.heldAt(now)
	return h.Until, h.Streak
}

// Stopped is Key.Stopped.
func (m *Memory) Stopped(start, now time.Time) (until time.Time, streak int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.h, _ = m.h.stopped(start, now)
	return m.h.Until, m.h.Streak, nil
}

// Answered is Key.Answered.
func (m *Memory) Answered() error {
	m.mu.Lock()
	m.h = stops{}
	m.mu.Unlock()
	return nil
}
