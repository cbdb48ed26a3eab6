package modrun

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vtsync/vtsync/internal/pipeline"
	"github.com/vtsync/vtsync/internal/splunktest"
	"github.com/vtsync/vtsync/internal/vttest"
)

// Hashes of a file VirusTotal knows, and of one it does not.
const (
	knownSHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
	knownSHA1   = "3395856ce81f2b7382dee72602f798b642f14140"
	knownMD5    = "44d88612fea8a8f36de82e1278abb02f"
	unknownMD5  = "0123456789abcdef0123456789abcdef"
)

// An input configured with ip_field and hash_field, run as splunkd runs
// it, reads domains, IP addresses and file hashes from one search and
// stores each kind in its own collection with the contract's fields.
// Private, loopback, CGNAT and documentation addresses and malformed
// hashes never reach VirusTotal: the fake's request log holds exactly the
// public addresses and well-formed hashes.
func TestOneInputSeveralKinds(t *testing.T) {
	t.Parallel()
	rows := []map[string]any{
		{"ut_domain": "known0.com", "dest_ip": "8.8.8.8"},
		{"dest_ip": []string{"10.0.0.1", "192.168.1.5", "127.0.0.1", "100.64.0.1", "192.0.2.7", "1.1.1.1"}},
		{"dest_ip": "[2001:4860:4860::8888]:443"},
		{"Hashes": "SHA1=" + strings.ToUpper(knownSHA1) + ",MD5=" + knownMD5 + ",SHA256=" + strings.ToUpper(knownSHA256) + ",IMPHASH=00000000000000000000000000000000"},
		{"Hashes": []string{unknownMD5, "not-a-hash", "12345", knownMD5 + "0"}},
		{"ut_domain": "known0.com", "count": "2"},
		{"count": "1"},
	}
	e := newEnv(t, rows, []splunktest.Option{
		splunktest.WithCollection(app, "vtsync_ips"), splunktest.WithCollection(app, "vtsync_files"),
	})
	e.params["ip_field"] = "dest_ip"
	e.params["hash_field"] = "Hashes"
	e.vt.AddDomain("known0.com", json.RawMessage(`{"creation_date": 1700000000, "last_analysis_stats": {"malicious": 3}}`))
	e.vt.AddIPAddress("8.8.8.8", json.RawMessage(`{"asn": 15169, "as_owner": "GOOGLE", "country": "US", "network": "8.8.8.0/24",
		"reputation": 5, "tags": ["dns"], "last_analysis_stats": {"malicious": 0, "suspicious": 1}, "last_analysis_date": 1771000000}`))
	e.vt.AddIPAddress("2001:4860:4860::8888", json.RawMessage(`{"asn": 15169, "as_owner": "GOOGLE", "last_analysis_stats": {"malicious": 2}}`))
	e.vt.AddFileObject(json.RawMessage(`{"sha256": "` + knownSHA256 + `", "sha1": "` + knownSHA1 + `", "md5": "` + knownMD5 + `",
		"type_description": "Win32 EXE", "meaningful_name": "eicar.exe", "size": 68, "last_analysis_stats": {"malicious": 60},
		"popular_threat_classification": {"suggested_threat_label": "trojan.eicar/test"}, "first_submission_date": 1600000000}`))

	r := e.run()
	s := r.summary
	if r.code != 0 || s.Status != pipeline.StatusOK {
		t.Fatalf("exit %d, status %s, errors %q\n%s", r.code, s.Status, s.Errors, r.stderr)
	}

	wantPaths := []string{
		"domains/known0.com",
		"files/" + knownSHA256, "files/" + unknownMD5,
		"ip_addresses/1.1.1.1", "ip_addresses/2001:4860:4860::8888", "ip_addresses/8.8.8.8",
	}
	got := e.vt.Paths()
	slices.Sort(got)
	slices.Sort(wantPaths)
	if !slices.Equal(got, wantPaths) {
		t.Errorf("VirusTotal was asked for\n%q\nwant exactly\n%q", got, wantPaths)
	}

	ips := e.splunk.Documents(app, "vtsync_ips")
	g := ips["8.8.8.8"]
	if len(ips) != 3 || g["ip"] != "8.8.8.8" || g["vt_found"] != true || g["asn"] != float64(15169) || g["as_owner"] != "GOOGLE" ||
		g["country"] != "US" || g["network"] != "8.8.8.0/24" || g["last_analysis_positive"] != float64(0) ||
		g["last_analysis_suspicious"] != float64(1) || g["last_analysis_time"] != float64(1771000000) || g["enriched_time"] == nil {
		t.Errorf("vtsync_ips = %v", ips)
	}
	if v6 := ips["2001:4860:4860::8888"]; v6["vt_found"] != true || v6["last_analysis_positive"] != float64(2) {
		t.Errorf("the IPv6 record (brackets and port stripped) = %v", v6)
	}
	if nx := ips["1.1.1.1"]; nx["vt_found"] != false || nx["enriched_time"] == nil {
		t.Errorf("the negative IP record = %v", nx)
	}
	files := e.splunk.Documents(app, "vtsync_files")
	f := files[knownSHA256]
	if len(files) != 2 || f["sha256"] != knownSHA256 || f["sha1"] != knownSHA1 || f["md5"] != knownMD5 || f["vt_found"] != true ||
		f["last_analysis_positive"] != float64(60) || f["popular_threat_label"] != "trojan.eicar/test" || f["meaningful_name"] != "eicar.exe" ||
		f["size"] != float64(68) || f["type_description"] != "Win32 EXE" || f["first_submission_time"] != float64(1600000000) {
		t.Errorf("vtsync_files = %v", files)
	}
	if nx := files[unknownMD5]; nx["md5"] != unknownMD5 || nx["vt_found"] != false {
		t.Errorf("the negative file record holds the queried hash: %v", nx)
	}
	if d := e.splunk.Documents(app, collection); len(d) != 1 || d["known0.com"]["vt_found"] != true {
		t.Errorf("vtsync_domains = %v", d)
	}

	ip, file, dom := s.Kinds["ip"], s.Kinds["file"], s.Kinds["domain"]
	if ip == nil || file == nil || dom == nil {
		t.Fatalf("summary kinds %v", s.Kinds)
	}
	if ip.Distinct != 3 || ip.RejectedTotal != 5 || ip.KVWrites != 3 || file.Distinct != 2 || file.RejectedTotal != 3 ||
		file.Found != 1 || file.NotFound != 1 || dom.Distinct != 1 || s.KVWrites != 6 || s.Distinct != 6 || s.Flagged != 3 {
		t.Errorf("summary: totals %+v\nip %+v\nfile %+v\ndomain %+v", s, *ip, *file, *dom)
	}
	if _, ok := r.raw["distinct_domains"]; !ok {
		t.Error("the summary lost distinct_domains, which the dashboards read")
	}
}

// Two inputs with one key, run at the same time (two processes, sharing
// the checkpoint directory as splunkd gives it to every vtsync input)
// against a VirusTotal that allows the key requests_per_minute requests a
// minute, together stay within it: no 429. Without the shared quota file
// (each input with a checkpoint directory of its own) the same runs draw
// 429s, so the test can tell.
func TestTwoInputsShareTheKeysQuota(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared=%t", shared), func(t *testing.T) {
			t.Parallel()
			const perMinute, each = 20, 30
			vt := newPaidVT(t, vttest.WithMinuteQuota(perMinute))
			var envs []*env
			for _, name := range []string{"alpha", "beta"} {
				rs := rows(each, name+"%d.com")
				e := newEnvNamed(t, name, rs, nil)
				e.vt = vt
				addKnown(vt, rs)
				e.params["requests_per_minute"] = fmt.Sprint(perMinute)
				e.params["max_run_seconds"] = "600"
				if shared && len(envs) > 0 {
					e.checkpoint = envs[0].checkpoint
				}
				e.inMemory()
				envs = append(envs, e)
			}
			synctest.Test(t, func(t *testing.T) {
				var wg sync.WaitGroup
				results := make([]result, len(envs))
				for i, e := range envs {
					wg.Go(func() { results[i] = e.runWithin(t.Context(), 20*time.Minute) })
				}
				wg.Wait()
				if !shared {
					if vt.Rejected() == 0 {
						t.Errorf("two inputs pacing alone drew no 429 at %d/min each: the test cannot tell sharing from not", perMinute)
					}
					return
				}
				if n := vt.Rejected(); n != 0 {
					t.Errorf("two inputs sharing a key drew %d answers 429", n)
				}
				for i, r := range results {
					if s := r.summary; s.Status != pipeline.StatusOK || s.LookedUp != each || s.QuotaState != pipeline.QuotaOK {
						t.Errorf("input %s: status %s, looked up %d of %d, quota %s\n%s", envs[i].stanza, s.Status, s.LookedUp, each, s.QuotaState, r.stderr)
					}
				}
				if n := vt.Requests(); n != 2*each {
					t.Errorf("%d requests, want %d", n, 2*each)
				}
			})
		})
	}
}

// The quota hold is the key's: when VirusTotal tells one input that the
// key's quota is exceeded, the next run of another input with the same
// key (sharing the checkpoint directory) sends nothing until the hold
// ends, and says so; an input with another checkpoint directory (another
// key's file) is not held.
func TestTwoInputsShareTheQuotaHold(t *testing.T) {
	t.Parallel()
	vt := newPaidVT(t)
	alpha := newEnvNamed(t, "alpha", rows(3, "alpha%d.com"), nil)
	alpha.vt = vt
	alpha.params["max_concurrency"] = "1"
	vt.FailDomain("alpha0.com", vttest.QuotaExceeded)
	if r := alpha.run(); r.summary.QuotaState != pipeline.QuotaExceeded {
		t.Fatalf("alpha: quota_state %s, want quota_exceeded\n%s", r.summary.QuotaState, r.stderr)
	}
	for _, shared := range []bool{true, false} {
		rs := rows(4, "beta%d.com")
		beta := newEnvNamed(t, "beta", rs, nil)
		beta.vt = vt
		addKnown(vt, rs)
		if shared {
			beta.checkpoint = alpha.checkpoint
		}
		before := vt.Requests()
		r := beta.run()
		s := r.summary
		switch {
		case shared && (vt.Requests() != before || s.QuotaState != pipeline.QuotaExceeded || s.Deferred != 4 || s.Status != pipeline.StatusPartial):
			t.Errorf("beta, same key's file: %d requests, quota_state %s, deferred %d, status %s; want none, quota_exceeded, 4, partial\n%s",
				vt.Requests()-before, s.QuotaState, s.Deferred, s.Status, r.stderr)
		case shared:
			wantLine(t, r, []string{"WARN"}, "quota", "no lookups until")
		case !shared && (s.QuotaState != pipeline.QuotaOK || s.LookedUp != 4):
			t.Errorf("beta, another checkpoint directory: quota_state %s, looked up %d; want ok, 4\n%s", s.QuotaState, s.LookedUp, r.stderr)
		}
	}
}

// A search whose rows carry none of the configured fields yields nothing
// to look up: the run says so in a WARN line naming the parameters, and
// its summary is partial with that message, not a silent ok nor a
// failure. Nothing reaches VirusTotal.
func TestSearchWithoutConfiguredFieldsWarns(t *testing.T) {
	t.Parallel()
	rows := []map[string]any{{"dest": "known0.com", "count": "3"}, {"dest": "known1.com"}}
	e := newEnv(t, rows, []splunktest.Option{
		splunktest.WithCollection(app, "vtsync_ips"), splunktest.WithCollection(app, "vtsync_files"),
	})
	e.params["ip_field"] = "dest_ip"
	e.params["hash_field"] = "Hashes"
	r := e.run()
	s := r.summary
	if r.code != 0 || s.Status != pipeline.StatusPartial || len(s.Errors) != 1 ||
		!strings.Contains(s.Errors[0], "yields nothing to look up") || !strings.Contains(s.Errors[0], `"dest_ip"`) {
		t.Fatalf("exit %d, status %s, errors %q; want exit 0, partial, one error saying the search yields nothing to look up\n%s", r.code, s.Status, s.Errors, r.stderr)
	}
	if !hasLine(r.stderr, []string{"WARN"}, "yields nothing to look up", "ut_domain", "ip_field", "hash_field") || hasLine(r.stderr, []string{"ERROR", "FATAL"}) {
		t.Errorf("want one WARN line naming the fields and parameters, no ERROR:\n%s", r.stderr)
	}
	if got := e.vt.Paths(); len(got) != 0 {
		t.Errorf("VirusTotal was asked for %q", got)
	}
}
