package vt

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/kind"
)

// Offline enriches from saved API responses, for air-gapped sites and the
// demo: see Lookup for where each kind's answers are read from. A missing
// file, or a saved NotFoundError response, means VirusTotal does not know
// the key.
type Offline struct {
	Dir string
	Now func() time.Time // stamps enriched_time; nil is time.Now
}

var _ enrich.Enricher = Offline{}

// Enrich reads and maps key's saved answer (Lookup).
func (o Offline) Enrich(ctx context.Context, k kind.Kind, key string) (kind.Record, error) {
	return o.Lookup(ctx, k, key)
}

// quoteJSON shows a JSON value from a file in a message, quoted and
// escaped, and short.
func quoteJSON(v any) string {
	if v == nil {
		return "(none)"
	}
	s := fmt.Sprint(v)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}
