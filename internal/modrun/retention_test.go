package modrun

import (
	"testing"
	"time"
)

// TestRetentionDeletesStaleRecords: run as splunkd runs it, the input
// deletes the records of its collection not refreshed for retention_days
// (here 30), keeps the others and the ones it refreshed, and counts the
// deletions in the summary event.
func TestRetentionDeletesStaleRecords(t *testing.T) {
	t.Parallel()
	rs := rows(3, "live%d.com")
	e := newEnv(t, rs, nil)
	addKnown(e.vt, rs)
	e.params["retention_days"] = "30"
	day := int64(24 * time.Hour / time.Second)
	now := time.Now().Unix()
	for _, d := range []struct {
		key string
		age int64
	}{{"gone1.example", 31}, {"gone2.example", 400}, {"kept.example", 20}, {"live0.com", 60}} {
		e.splunk.PutDocument(app, collection, map[string]any{"_key": d.key, "domain": d.key, "vt_found": true, "enriched_time": now - d.age*day})
	}
	r := e.run()
	if r.summary.Status != "ok" || r.summary.Purged != 2 {
		t.Fatalf("summary %+v; want ok with 2 purged", r.summary)
	}
	if _, ok := r.raw["purged"]; !ok {
		t.Error("the summary event has no purged field")
	}
	docs := e.splunk.Documents(app, collection)
	for _, k := range []string{"kept.example", "live0.com", "live1.com", "live2.com"} {
		if docs[k] == nil {
			t.Errorf("%s was deleted", k)
		}
	}
	for _, k := range []string{"gone1.example", "gone2.example"} {
		if docs[k] != nil {
			t.Errorf("%s was kept", k)
		}
	}
	if e.splunk.Count("kv_delete") != 1 {
		t.Errorf("%d DELETE requests, want 1", e.splunk.Count("kv_delete"))
	}
}
