// Package budget is the daily lookup budget that an enricher spends before
// each request it sends: at most a limit of requests per UTC day, counted
// in a Store shared by every process using the API key (internal/keyquota)
// or, without one, in memory for one run.
package budget

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vtsync/vtsync/internal/enrich"
)

// Store keeps the day's count durably.
type Store interface {
	// Take spends one lookup on now's UTC day if fewer than limit were
	// spent (limit 0: no cap) and reports whether it did.
	Take(now time.Time, limit int) (bool, error)
	// Refund gives back one lookup of now's UTC day.
	Refund(now time.Time) error
	// UsedToday returns the lookups spent on now's UTC day.
	UsedToday(now time.Time) int
	// Path names the store, for messages.
	Path() string
}

// Daily is a daily lookup budget. It is safe for concurrent use.
type Daily struct {
	limit int   // 0: no cap
	store Store // nil: counted in spent
	now   func() time.Time
	spent atomic.Int64
}

var _ enrich.Budget = (*Daily)(nil)

// New returns a budget of limit lookups a UTC day (0: no cap) counted in
// store, or in memory when store is nil; now is the clock (nil:
// time.Now).
func New(limit int, store Store, now func() time.Time) *Daily {
	if now == nil {
		now = time.Now
	}
	return &Daily{limit: max(limit, 0), store: store, now: now}
}

// Spend reserves one lookup, durably, before its request is sent. Its
// error wraps enrich.ErrBudgetSpent when the day's budget is spent, and
// enrich.ErrBudgetUnrecorded when the reservation cannot be recorded.
func (d *Daily) Spend() error {
	if d.store != nil {
		ok, err := d.store.Take(d.now(), d.limit)
		switch {
		case err != nil:
			return fmt.Errorf("%w in %s: %v", enrich.ErrBudgetUnrecorded, d.store.Path(), err)
		case !ok:
			return fmt.Errorf("%w (%d)", enrich.ErrBudgetSpent, d.limit)
		}
		return nil
	}
	for {
		n := d.spent.Load()
		if d.limit > 0 && n >= int64(d.limit) {
			return fmt.Errorf("%w (%d)", enrich.ErrBudgetSpent, d.limit)
		}
		if d.spent.CompareAndSwap(n, n+1) {
			return nil
		}
	}
}

// Refund gives back a lookup Spend reserved whose request was not sent.
func (d *Daily) Refund() {
	if d.store != nil {
		_ = d.store.Refund(d.now()) // at worst the day's count is one too high
		return
	}
	d.spent.Add(-1)
}

// Used returns the lookups spent today (by every user of the store).
func (d *Daily) Used() int {
	if d.store != nil {
		return d.store.UsedToday(d.now())
	}
	return int(d.spent.Load())
}

// Limit returns the daily limit (0: no cap).
func (d *Daily) Limit() int { return d.limit }
