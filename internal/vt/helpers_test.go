package vt

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/vttest"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// conformanceDir holds the saved VirusTotal domain responses the domain
// kind's tests map (its testdata/README.md says where they come from).
var conformanceDir = filepath.Join("..", "kind", "domain", "testdata")

// fixtureData returns the domain object ("data") of a saved response,
// unwrapping the {"data":…} envelope or the {"request_info","response"}
// wrapper of the anonymised fixture.
func fixtureData(t testing.TB, name string) []byte {
	t.Helper()
	return vttest.Object(t, filepath.Join(conformanceDir, name))
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// domainEnricher is what enrichDomain asks of an enricher.
type domainEnricher interface {
	Enrich(ctx context.Context, k kind.Kind, key string) (kind.Record, error)
}

// enrichDomain looks domain up as a run does, and returns its domain
// record (the zero record on error).
func enrichDomain(e domainEnricher, ctx context.Context, domain string) (record.Record, error) {
	rec, err := e.Enrich(ctx, domainkind.Kind{}, domain)
	if rec == nil {
		return record.Record{}, err
	}
	return rec.(record.Record), err
}

// funcBudget is an enrich.Budget of two functions.
type funcBudget struct {
	spend  func() error
	refund func()
}

func (b *funcBudget) Spend() error { return b.spend() }
func (b *funcBudget) Refund()      { b.refund() }
