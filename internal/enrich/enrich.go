// Package enrich defines the enrichment stage's contract: turning one
// registered domain into a KV record, and the errors that tell the pipeline
// to stop looking up.
package enrich

import (
	"context"
	"errors"

	"github.com/vtsync/vtsync/internal/record"
)

// Enricher looks up one registered domain. A domain the source does not
// know yields a negative record (record.NotFound) and a nil error.
// Implementations are safe for concurrent use and honour ctx.
type Enricher interface {
	Enrich(ctx context.Context, domain string) (record.Record, error)
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
)

// Func adapts a function to Enricher.
type Func func(ctx context.Context, domain string) (record.Record, error)

// Enrich calls f.
func (f Func) Enrich(ctx context.Context, domain string) (record.Record, error) {
	return f(ctx, domain)
}

// ErrNotSent is wrapped by errors of lookups that ended before their first
// request was sent (no request slot before the deadline, the run stopping,
// the gate refusing): nothing was paid for, and the domain is still due.
var ErrNotSent = errors.New("no request was sent")

type gateKey struct{}

// WithGate returns a context under which enrichers call gate right before
// each request they send, retries included. The pipeline counts requests
// against the daily lookup budget there; a non-nil error means "do not
// send", and the enricher returns it (wrapping ErrNotSent if no request
// was sent for the domain yet).
func WithGate(ctx context.Context, gate func() error) context.Context {
	return context.WithValue(ctx, gateKey{}, gate)
}

// Gate calls ctx's gate, if any. Enrichers that send paid requests call it
// before each one.
func Gate(ctx context.Context) error {
	if g, ok := ctx.Value(gateKey{}).(func() error); ok {
		return g()
	}
	return nil
}
