package vt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/record"
)

// Offline enriches from saved API responses, for air-gapped sites and the
// demo: <Dir>/<domain>.json holds the body of GET /api/v3/domains/<domain>
// as VirusTotal returned it ({"data":{…}}). A missing file, or a saved
// NotFoundError response, means VirusTotal does not know the domain.
type Offline struct {
	Dir string
	Now func() time.Time // stamps enriched_time; nil is time.Now
}

var _ enrich.Enricher = Offline{}

// Enrich reads and maps domain's file.
func (o Offline) Enrich(ctx context.Context, domain string) (record.Record, error) {
	if err := ctx.Err(); err != nil {
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %s: %w", domain, err)
	}
	if !validName(domain) {
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %q: not a domain name", domain)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	path := filepath.Join(o.Dir, domain+".json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return record.NotFound(domain, now().Unix()), nil
	}
	if err != nil {
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %s: %w", domain, err)
	}
	var env struct {
		Data  json.RawMessage `json:"data"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %s: %s is not valid JSON: %v", domain, path, err)
	}
	if env.Error.Code == "NotFoundError" {
		return record.NotFound(domain, now().Unix()), nil
	}
	if !isObject(env.Data) {
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %s: %s has no \"data\" object; save the whole response of GET /api/v3/domains/%s",
			domain, path, domain)
	}
	rec, err := Map(env.Data, now())
	if err != nil {
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %s: %s: %v", domain, path, err)
	}
	rec.Key, rec.Domain = domain, domain
	return rec, nil
}
