package wire_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/config"
	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/params"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunkd"
	"github.com/vtsync/vtsync/internal/splunktest"
	"github.com/vtsync/vtsync/internal/standalone"
	"github.com/vtsync/vtsync/internal/wire"
)

// urlKind is a fourth indicator kind that exists only in this test binary:
// URLs, looked up at GET /urls/{sha256 of the URL}, stored in vtsync_urls.
// It is what a kind package holds, and nothing outside it names url_field:
// the tests below show that the parameter table, both configuration
// decoders, the composition root, the search source, the pipeline and the
// KV store take it as they take the shipped kinds.
type urlKind struct{}

func init() { kind.Register(urlKind{}) }

type urlRecord struct {
	Key          string `json:"_key"`
	URL          string `json:"url,omitempty"`
	VTFound      bool   `json:"vt_found"`
	Positives    *int64 `json:"last_analysis_positive,omitempty"`
	EnrichedTime int64  `json:"enriched_time"`
}

func (r urlRecord) ID() string      { return r.Key }
func (r urlRecord) Found() bool     { return r.VTFound }
func (r urlRecord) Enriched() int64 { return r.EnrichedTime }

func (urlKind) Name() string       { return "url" }
func (urlKind) Collection() string { return "vtsync_urls" }

// Normalize keys a URL by VirusTotal's URL identifier, the SHA-256 of the
// URL (scheme and host in lower case); an identifier is its own key.
func (urlKind) Normalize(raw string) (string, string) {
	raw = strings.TrimSpace(raw)
	if isURLID(raw) {
		return strings.ToLower(raw), ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "not_a_url"
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	sum := sha256.Sum256([]byte(u.String()))
	return hex.EncodeToString(sum[:]), ""
}

func isURLID(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == 64 && err == nil
}

func (urlKind) Path(key string) string { return "urls/" + key }

func (urlKind) Map(key string, body []byte, now time.Time) (kind.Record, error) {
	var env struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				URL   string `json:"url"`
				Stats struct {
					Malicious *int64 `json:"malicious"`
				} `json:"last_analysis_stats"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	if env.Data.Type != "url" {
		return nil, errors.New("not a url object: " + env.Data.Type)
	}
	a := env.Data.Attributes
	return urlRecord{Key: key, URL: a.URL, VTFound: true, Positives: a.Stats.Malicious, EnrichedTime: now.Unix()}, nil
}

func (urlKind) NotFound(key string, now time.Time) kind.Record {
	return urlRecord{Key: key, EnrichedTime: now.Unix()}
}

func (urlKind) Decode(doc []byte) (kind.Record, error) {
	var r urlRecord
	err := json.Unmarshal(doc, &r)
	return r, err
}

func (urlKind) Fields() []kind.Field {
	return []kind.Field{{Name: "_key", Type: "string"}, {Name: "url", Type: "string"}, {Name: "vt_found", Type: "bool"},
		{Name: "last_analysis_positive", Type: "number"}, {Name: "enriched_time", Type: "number", Accelerated: true}}
}

func (urlKind) Param() kind.Param {
	return kind.Param{Name: "url_field", Title: "URL field", Example: "url", Holds: "URLs", Order: 4,
		Description: "Result field holding URLs (stored in vtsync_urls). Empty: no URLs are collected.",
		EventFields: []string{"url"}}
}

// urlID is the test's own reckoning of a URL's key.
func urlID(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:])
}

// The registered fourth kind's parameter joins the parameter table after
// the shipped kinds', and the messages that list the field parameters
// list it.
func TestANewKindsParameter(t *testing.T) {
	var names []string
	for _, a := range params.Args() {
		names = append(names, a.Name)
	}
	i := slices.Index(names, "domain_field")
	if i < 0 || !slices.Equal(names[i:i+4], []string{"domain_field", "ip_field", "hash_field", "url_field"}) {
		t.Fatalf("parameters %v", names)
	}
	if d := params.Args()[0].Description; !strings.Contains(d, "named by domain_field, ip_field, hash_field and url_field.") {
		t.Errorf("the search's description: %q", d)
	}
	if got := params.Default("url_field"); got != "" {
		t.Errorf("url_field's default %q", got)
	}

	// The inputs.conf decoder reads it, and checks it as a field name.
	_, err := config.FromInputs("in", t.TempDir(), map[string]string{"url_field": "bad field!"})
	var ce config.Errors
	if !errors.As(err, &ce) || len(ce) != 1 || ce[0].Setting != "url_field" || !strings.Contains(ce[0].Msg, "is not a field name") || !strings.Contains(ce[0].Msg, "for example url") {
		t.Errorf("a bad url_field: %v", err)
	}
	// Setting no field of any kind is refused at domain_field, naming
	// every other kind's parameter.
	_, err = config.FromInputs("in", t.TempDir(), map[string]string{"domain_field": ""})
	if err == nil || err.Error() != "parameter domain_field: is empty and none of ip_field, hash_field or url_field is set: nothing would be looked up; name the result field of at least one kind" {
		t.Errorf("no field: %v", err)
	}
	// A search source with no field names them too.
	err = (&splunkd.SearchSource{}).Candidates(context.Background(), func(kind.Kind, string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "none of ip_field, hash_field or url_field is set") || !strings.Contains(err.Error(), "host names, IP addresses, file hashes or URLs") {
		t.Errorf("a search source without fields: %v", err)
	}
}

// A fourth kind, configured by its inputs.conf parameter, runs end to end:
// the search's url field feeds it, the enricher answers it at its path,
// and its records land in its own collection, next to the domains of the
// same search.
func TestANewKindRunsEndToEnd(t *testing.T) {
	const app = "vtsync"
	known, unknown := "https://Example.COM/login?next=%2Fhome", "http://203.0.113.9/x.exe"
	knownID, unknownID := urlID("https://example.com/login?next=%2Fhome"), urlID(unknown)
	fake := splunktest.New(t,
		splunktest.WithCollection(app, "vtsync_urls"), splunktest.WithCollection(app, "vtsync_domains"),
		splunktest.WithExportRows(
			map[string]any{"url": known, "ut_domain": "example.com"},
			map[string]any{"url": []string{unknown, known, "javascript:alert(1)"}},
			map[string]any{"url": knownID}, // an identifier is a URL's key too
			map[string]any{"count": "3"},
		))
	client, err := splunkd.New(splunkd.Config{BaseURL: fake.URL(), SessionKey: fake.SessionKey(), HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}

	// Saved VirusTotal answers, read at <dir>/<the kind's Path>.json.
	answers := t.TempDir()
	if err := os.MkdirAll(filepath.Join(answers, "urls"), 0o700); err != nil {
		t.Fatal(err)
	}
	body := `{"data": {"id": "` + knownID + `", "type": "url", "attributes": {"url": "https://example.com/login?next=%2Fhome", "last_analysis_stats": {"malicious": 7}}}}`
	if err := os.WriteFile(filepath.Join(answers, "urls", knownID+".json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg, err := config.FromInputs("urls", filepath.Join(t.TempDir(), "state"), map[string]string{
		"search": "index=proxy", "url_field": "url", "api_key": "********", "interval": "900",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source.Fields["url"] != "url" || cfg.Source.Fields["domain"] != "ut_domain" {
		t.Fatalf("fields %v", cfg.Source.Fields)
	}
	// inputs.conf has no offline enricher; the YAML's enrich.offline.dir
	// sets these two.
	cfg.Enrich.Type, cfg.Enrich.OfflineDir = config.EnrichOffline, answers
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	fields, err := wire.SearchFields(cfg)
	if err != nil || len(fields) != 2 || fields[1].Name != "url" || fields[1].Param != "url_field" || fields[1].Kind.Name() != "url" {
		t.Fatalf("search fields %+v, %v", fields, err)
	}

	ctx := context.Background()
	run, err := wire.Build(ctx, cfg, wire.Deps{Search: client, KVStore: client})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	sum, err := pipeline.Run(ctx, run.Options, run.Source, run.Store, run.Enricher)
	if err != nil {
		t.Fatal(err)
	}

	docs := fake.Documents(app, "vtsync_urls")
	if len(docs) != 2 {
		t.Fatalf("vtsync_urls = %v", docs)
	}
	if d := docs[knownID]; d["url"] != "https://example.com/login?next=%2Fhome" || d["vt_found"] != true ||
		d["last_analysis_positive"] != float64(7) || d["enriched_time"] == nil {
		t.Errorf("the found record = %v", d)
	}
	if d := docs[unknownID]; d["vt_found"] != false || d["enriched_time"] == nil || d["url"] != nil {
		t.Errorf("the negative record = %v", d)
	}
	if d := fake.Documents(app, "vtsync_domains"); len(d) != 1 || d["example.com"] == nil {
		t.Errorf("vtsync_domains = %v", d)
	}
	u := sum.Kinds["url"]
	if u == nil {
		t.Fatalf("summary kinds %v", sum.Kinds)
	}
	if u.Candidates != 5 || u.Distinct != 2 || u.Rejected["not_a_url"] != 1 || u.Found != 1 || u.NotFound != 1 || u.KVWrites != 2 {
		t.Errorf("url summary %+v", *u)
	}
}

// The standalone YAML reads the fourth kind's parameter under
// source.splunk, and places its errors at the key and line.
func TestANewKindsYAMLKey(t *testing.T) {
	dir := t.TempDir()
	base := "source:\n  splunk:\n    url: https://127.0.0.1:8089\n    token_env: T\n"
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := standalone.Load(write("urls.yaml", base+"    domain_field: \"\"\n    url_field: request_url\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Source.Fields; f["url"] != "request_url" || f["domain"] != "" {
		t.Errorf("fields %v", f)
	}
	_, err = standalone.Load(write("bad.yaml", base+"    url_field: \"two words\"\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:5: source.splunk.url_field: \"two words\" is not a field name") {
		t.Errorf("a bad url_field: %v", err)
	}
	_, err = standalone.Load(write("typo.yaml", base+"    urls_field: x\n"))
	if err == nil || !strings.Contains(err.Error(), "typo.yaml:5: source.splunk.urls_field: unknown key") || !strings.Contains(err.Error(), "url_field") {
		t.Errorf("a misspelt key: %v", err)
	}
}
