package modrun

import (
	"testing"

	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunktest"
	"github.com/vtsync/vtsync/internal/vttest"
)

// The first run of a new input gets the key typed into the stanza; it must
// move it to storage/passwords and mask the stanza whatever else goes
// wrong, and never write it anywhere else. env.run checks stdout, stderr,
// the KV store and every file under checkpoint_dir after each run; the
// fault matrix covers the masked key read back from storage/passwords.
func TestTypedKeyNeverLeaks(t *testing.T) {
	cases := []struct {
		name   string
		splunk []splunktest.Option
		setup  func(e *env)
		status string
	}{
		{"success", nil, func(e *env) {}, pipeline.StatusOK},
		{"VirusTotal 401", nil, func(e *env) { e.vt.revoked.Store(true) }, pipeline.StatusFailed},
		{"VirusTotal faults", nil, func(e *env) { e.vt.FailNext(vttest.HTMLError, vttest.Reset, vttest.EmptyOK) }, pipeline.StatusOK},
		{"splunkd session expires mid-run", []splunktest.Option{splunktest.WithUser("admin", "changeme")}, func(e *env) {
			e.vt.onPaid = func(n int) {
				if n == 3 {
					e.splunk.Expire()
				}
			}
		}, pipeline.StatusPartial},
		{"search FATAL", []splunktest.Option{splunktest.WithExportFatal("Error in 'search' command: Unable to parse the search.")}, func(e *env) {}, pipeline.StatusPartial},
		{"invalid parameter", nil, func(e *env) { e.params["refresh_days"] = vttest.APIKey }, pipeline.StatusFailed},
		{"key in the wrong parameter", nil, func(e *env) {
			e.params["earliest_time"] = vttest.APIKey
			e.params["domain_field"] = vttest.APIKey + "!"
		}, pipeline.StatusFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rows(10, "secret%d.com"), append(c.splunk, splunktest.WithInput(app, Scheme, "default", map[string]string{"api_key": vttest.APIKey})))
			e.key = vttest.APIKey
			c.setup(e)
			r := e.run() // checks every output and file for the keys
			if r.summary.Status != c.status {
				t.Errorf("status %s, want %s; errors %q", r.summary.Status, c.status, r.summary.Errors)
			}
			if c.status == pipeline.StatusFailed && r.summary.QuotaState == pipeline.QuotaOK && len(r.summary.Errors) == 0 {
				t.Errorf("a failed run without errors")
			}
		})
	}
}
