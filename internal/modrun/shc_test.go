package modrun

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vtsync/vtsync/internal/checkpoint"
	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/record"
	"github.com/vtsync/vtsync/internal/splunktest"
)

// Every search head cluster member runs enabled inputs; only the one the
// shc_lookup policy names may spend VirusTotal quota.
func TestSearchHeadClusterRoles(t *testing.T) {
	cases := []struct {
		name    string
		roles   []string
		policy  string
		role    string
		lookups bool
	}{
		{"member", []string{"search_head", "shc_member", "kv_store"}, "", "shc_member", false},
		{"captain", []string{"search_head", "shc_member", "shc_captain", "kv_store"}, "", "shc_captain", true},
		{"member with shc_lookup=all", []string{"search_head", "shc_member"}, "all", "shc_member", true},
		{"captain with shc_lookup=all", []string{"shc_captain", "shc_member"}, "all", "shc_captain", true},
		{"standalone search head", []string{"indexer", "search_head", "kv_store"}, "", "standalone", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rs := rows(5, "shc%d.com")
			e := newEnv(t, rs, []splunktest.Option{splunktest.WithServerRoles(c.roles...)})
			if c.policy != "" {
				e.params["shc_lookup"] = c.policy
			}
			r := e.run()
			if r.summary.Role != c.role {
				t.Errorf("summary role %q, want %q", r.summary.Role, c.role)
			}
			policy := c.policy
			if policy == "" {
				policy = "captain"
			}
			line := []string{"search head role", "role=" + c.role, "shc_lookup=" + policy, fmt.Sprintf("lookups=%t", c.lookups)}
			if !hasLine(r.stderr, []string{"INFO"}, line...) {
				t.Errorf("no INFO line with %q in stderr:\n%s", line, r.stderr)
			}
			if c.lookups {
				wantStatus(t, r, pipeline.StatusOK, pipeline.QuotaOK)
				if n := e.vt.Requests(); n != 5 {
					t.Errorf("%d VirusTotal requests, want 5", n)
				}
				return
			}
			if r.summary.Status != pipeline.StatusSkipped || r.code != 0 {
				t.Errorf("status %s exit %d, want skipped and 0", r.summary.Status, r.code)
			}
			if n := e.vt.Requests(); n != 0 {
				t.Errorf("a member that is not the captain sent %d VirusTotal requests", n)
			}
			if n := e.splunk.Count("export"); n != 0 {
				t.Errorf("a member that is not the captain ran the search %d times", n)
			}
		})
	}
}

// A search head that cannot read its roles does not look up under
// shc_lookup=captain (it may be a member), but does under shc_lookup=all.
func TestUnknownRoleFailsClosed(t *testing.T) {
	for _, policy := range []string{"captain", "all"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rows(3, "role%d.com"), []splunktest.Option{splunktest.WithServerInfoDown()})
			e.params["shc_lookup"] = policy
			r := e.run()
			if !hasLine(r.stderr, []string{"WARN"}, "cannot read server roles") {
				t.Errorf("no WARN line about the roles:\n%s", r.stderr)
			}
			want := map[string]int64{"captain": 0, "all": 3}[policy]
			if n := e.vt.Requests(); n != want {
				t.Errorf("shc_lookup=%s: %d VirusTotal requests, want %d", policy, n, want)
			}
			if policy == "captain" && r.summary.Status != pipeline.StatusSkipped {
				t.Errorf("status %s, want skipped", r.summary.Status)
			}
		})
	}
}

// A server/info answer without server_roles (missing or null) does not say
// whether this is a cluster member: under shc_lookup=captain the input does
// not look up, and says why.
func TestServerInfoWithoutRolesFailsClosed(t *testing.T) {
	for name, raw := range map[string]string{"missing": "", "null": "null"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rows(3, "noroles%d.com"), []splunktest.Option{splunktest.WithServerRolesJSON(raw)})
			r := e.run()
			if !hasLine(r.stderr, []string{"WARN"}, "server_roles") || !hasLine(r.stderr, []string{"WARN"}, "not looking up this run") {
				t.Errorf("no WARN line saying server_roles is unknown and no lookups are made:\n%s", r.stderr)
			}
			if n := e.vt.Requests(); n != 0 {
				t.Errorf("%d VirusTotal requests without known roles under shc_lookup=captain, want 0", n)
			}
			if r.summary.Status != pipeline.StatusSkipped || r.summary.Role != "unknown" || r.code != 0 {
				t.Errorf("status %s role %q exit %d, want skipped, unknown, 0", r.summary.Status, r.summary.Role, r.code)
			}
		})
	}
}

// A member that is no longer the captain still saves the answers its last
// run as captain journaled, without spending anything.
func TestSearchHeadClusterMemberReplaysItsJournal(t *testing.T) {
	e := newEnv(t, rows(5, "shc%d.com"), []splunktest.Option{splunktest.WithServerRoles("search_head", "shc_member")})
	st, err := checkpoint.Open(e.checkpoint, "default")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(record.NotFound("paid-before.com", 1700000000))
	if err := st.Journal([]checkpoint.Entry{{Kind: "domain", Key: "paid-before.com", Doc: doc}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	r := e.run()
	if r.summary.Status != pipeline.StatusSkipped || r.summary.Replayed != 1 || r.summary.KVWrites != 1 {
		t.Errorf("status %s replayed %d kv_writes %d; want skipped, 1, 1", r.summary.Status, r.summary.Replayed, r.summary.KVWrites)
	}
	if _, ok := e.splunk.Documents(app, collection)["paid-before.com"]; !ok {
		t.Errorf("the journaled answer was not saved")
	}
	if e.vt.Requests() != 0 {
		t.Errorf("the member spent VirusTotal quota")
	}
	wantJournaled(t, e, 0)
}
