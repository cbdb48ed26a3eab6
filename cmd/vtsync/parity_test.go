package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vtsync/vtsync/internal/splunktest"
	"github.com/vtsync/vtsync/internal/vttest"
)

// TestStandaloneFillsCollectionLikeModularInput runs the same candidates
// once through the modular input and once through `vtsync run --config`
// against a remote splunkd: both must leave the same KV documents.
func TestStandaloneFillsCollectionLikeModularInput(t *testing.T) {
	rows := []map[string]any{
		{"ut_domain": "evil-example.com"},
		{"ut_domain": "cdn.evil-example.com"},
		{"ut_domain": "unknown-example.net"},
		{"ut_domain": []string{"10.0.0.1", "foo.bar.co.uk"}},
		{"ut_domain": "not a host"},
	}
	addDomains := func(s *vttest.Server) {
		s.AddDomain("evil-example.com", json.RawMessage(domainAttrs))
		s.AddDomain("bar.co.uk", json.RawMessage(`{"creation_date": 1700000000, "last_analysis_stats": {"malicious": 0}, "tags": null, "registrar": null}`))
	}

	mod := newEnv(t, rows)
	addDomains(mod.vt)
	mod.run(vttest.APIKey)

	const token = "eyJraWQiOiJzcGx1bmsuc2VjcmV0IiwiYWxnIjoiSFM1MTIifQ.test"
	splunk := splunktest.New(t, splunktest.WithToken(token), splunktest.WithCollection("vtsync", "vtsync_domains"),
		splunktest.WithExportRows(rows...))
	vtSrv := vttest.New()
	t.Cleanup(vtSrv.Close)
	addDomains(vtSrv)
	dir := t.TempDir()
	config := fmt.Sprintf(`name: parity
source:
  type: splunk
  splunk:
    url: %s
    token_env: PARITY_SPLUNK_TOKEN
    search: "| %s"
    domain_field: ut_domain
enrich:
  type: virustotal
  virustotal:
    api_key_env: PARITY_VT_KEY
    vt_api_url: %s
    requests_per_minute: 600000
    daily_lookup_budget: 0
store:
  type: kvstore
  kvstore:
    collection: vtsync_domains
`, splunk.URL(), "`vtsync_candidates`", vtSrv.URL())
	path := filepath.Join(dir, "vtsync.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "run", "--config", path, "--once")
	cmd.Env = append(os.Environ(), "PARITY_SPLUNK_TOKEN="+token, "PARITY_VT_KEY="+vttest.APIKey, "HTTPS_PROXY=", "HTTP_PROXY=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("vtsync run: %v\n%s", err, out)
	}

	want := withoutTimes(mod.splunk.Documents("vtsync", "vtsync_domains"))
	got := withoutTimes(splunk.Documents("vtsync", "vtsync_domains"))
	if len(want) != 3 || !reflect.DeepEqual(got, want) {
		t.Errorf("standalone documents differ from the modular input's:\n got %v\nwant %v", got, want)
	}
}

// withoutTimes drops enriched_time, the only field that depends on when a
// run happened.
func withoutTimes(docs map[string]map[string]any) map[string]map[string]any {
	for _, d := range docs {
		delete(d, "enriched_time")
	}
	return docs
}
