package vt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/jsonerr"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	"github.com/vtsync/vtsync/internal/kind/vtjson"
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
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %s: %s: %s; save the whole response of GET /api/v3/domains/%s", domain, path, jsonerr.Describe(err), domain)
	}
	if env.Error.Code == "NotFoundError" {
		return record.NotFound(domain, now().Unix()), nil
	}
	if !vtjson.IsObject(env.Data) {
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %s: %s has no \"data\" object; save the whole response of GET /api/v3/domains/%s",
			domain, path, domain)
	}
	if err := checkIdentity(env.Data, domain); err != nil {
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %s: %s %v; a file holds the response for the domain it is named after, so rename or replace it", domain, path, err)
	}
	rec, err := domainkind.MapObject(env.Data, now())
	if err != nil {
		return record.Record{}, fmt.Errorf("offline VirusTotal lookup of %s: %s: %v", domain, path, err)
	}
	rec.Key, rec.Domain = domain, domain
	return rec, nil
}

// checkIdentity checks that a saved object is the domain object of domain:
// its "type" is "domain" and its "id" is domain (VirusTotal's ids are
// lower-case; a trailing dot, or an IDN in Unicode, is the same name). A file is trusted by its
// content, not its name: innocent.example.json holding another domain's
// object is refused rather than stored as innocent.example.
func checkIdentity(data json.RawMessage, domain string) error {
	var obj struct {
		ID   any `json:"id"`
		Type any `json:"type"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("is not a VirusTotal object: %s", jsonerr.Describe(err))
	}
	typ, _ := obj.Type.(string)
	if typ != "domain" {
		return fmt.Errorf("holds an object of type %s, not a domain", quoteJSON(obj.Type))
	}
	id, _ := obj.ID.(string)
	id = strings.TrimSuffix(id, ".")
	if a, err := idna.Lookup.ToASCII(id); err == nil {
		id = a // an IDN's id in Unicode is the same name as its punycode
	}
	if id == "" || !strings.EqualFold(id, domain) {
		return fmt.Errorf("holds the object of %s (its data.id), not of %s", quoteJSON(obj.ID), domain)
	}
	return nil
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
