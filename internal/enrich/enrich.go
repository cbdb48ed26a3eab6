// Package enrich defines the enrichment stage's contract: turning one
// normalised indicator of a kind into its record, and the errors that tell
// the pipeline to stop looking up.
package enrich

import (
	"context"
	"errors"

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
// the gate refusing): nothing was paid for, and the domain is still due.
var ErrNotSent = errors.New("no request was sent")

type gateKey struct{}

type gates struct {
	gate   func() error
	refund func()
}

// WithGate returns a context under which enrichers call gate before each
// request they mean to send, retries included, and refund when a request
// that passed the gate is not sent after all (the run stopped while it
// waited for a request slot). The pipeline counts requests against the
// daily lookup budget there. A non-nil error from gate means "do not
// send", and the enricher returns it (wrapping ErrNotSent if no request was
// sent for the domain yet).
func WithGate(ctx context.Context, gate func() error, refund func()) context.Context {
	return context.WithValue(ctx, gateKey{}, gates{gate, refund})
}

// Gate calls ctx's gate, if any. Enrichers that send paid requests call it
// before waiting for each request's slot.
func Gate(ctx context.Context) error {
	if g, ok := ctx.Value(gateKey{}).(gates); ok && g.gate != nil {
		return g.gate()
	}
	return nil
}

// Refund gives back what Gate took for a request that was not sent.
func Refund(ctx context.Context) {
	if g, ok := ctx.Value(gateKey{}).(gates); ok && g.refund != nil {
		g.refund()
	}
}
