// Package enrich defines the enrichment stage's contract: turning one
// normalised indicator of a kind into its record, and the errors that tell
// the pipeline to stop looking up.
package enrich

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
)

// Enricher looks up one normalised key of kind k. A key the source does not
// know yields k's negative record (k.NotFound) and a nil error. The
// record's ID is key. Implementations are safe for concurrent use and
// honour ctx.
type Enricher interface {
	Enrich(ctx context.Context, k kind.Kind, key string) (kind.Record, error)
}

// Counter is implemented by enrichers that count the API requests they
// sent (retries included), for the run summary.
type Counter interface {
	Calls() int64
}

var (
	// ErrQuotaExceeded means the key's quota is spent: stop looking up for
	// this run and keep everything already fetched.
	ErrQuotaExceeded = errors.New("VirusTotal quota exceeded")
	// ErrUnauthorized means the key was rejected: stop at once.
	ErrUnauthorized = errors.New("VirusTotal rejected the API key")
	// ErrUnreachable means several lookups in a row could not reach the
	// API at all (connection refused, DNS, proxy or TLS failure): stop
	// looking up for this run rather than spend it on more of the same.
	ErrUnreachable = errors.New("VirusTotal cannot be reached")
)

// Func adapts a function to Enricher.
type Func func(ctx context.Context, k kind.Kind, key string) (kind.Record, error)

// Enrich calls f.
func (f Func) Enrich(ctx context.Context, k kind.Kind, key string) (kind.Record, error) {
	return f(ctx, k, key)
}

// ErrNotSent is wrapped by errors of lookups that ended before their first
// request was sent (no request slot before the deadline, the run stopping,
// the budget refusing): nothing was paid for, and the key is still due.
var ErrNotSent = errors.New("no request was sent")

// Budget is what an enricher that sends paid requests spends before each
// one, retries included: the daily lookup budget. It is given to the
// enricher when it is built (internal/budget), never through a context.
type Budget interface {
	// Spend reserves one request, durably. A non-nil error (wrapping
	// ErrBudgetSpent or ErrBudgetUnrecorded) means: do not send.
	Spend() error
	// Refund gives back a reservation whose request was not sent.
	Refund()
}

var (
	// ErrBudgetSpent is wrapped by the errors of lookups not sent because
	// the day's lookup budget is spent: the pipeline stops looking up.
	ErrBudgetSpent = errors.New("the daily lookup budget is spent")
	// ErrBudgetUnrecorded is wrapped by the errors of lookups not sent
	// because the budget could not record the request (its file).
	ErrBudgetUnrecorded = errors.New("cannot record a lookup in the daily budget")
)

// HeldError is the error of a lookup not sent because the key's quota is
// held: VirusTotal said it was exceeded, and the key sends nothing until
// Until. It wraps ErrQuotaExceeded and ErrNotSent.
type HeldError struct {
	Until  time.Time
	Streak int // quota stops in a row
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%v in an earlier run (%d stops in a row): no lookups until %s",
		ErrQuotaExceeded, e.Streak, e.Until.UTC().Format(time.DateTime+" MST"))
}

// Is reports ErrQuotaExceeded and ErrNotSent.
func (e *HeldError) Is(target error) bool { return target == ErrQuotaExceeded || target == ErrNotSent }
