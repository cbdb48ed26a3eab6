package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/kind"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
	"github.com/vtsync/vtsync/internal/vt"
)

// The IP and file half of the demo tells its story through the kinds and
// the offline enricher: every address and hash in the events normalises
// or is rejected as intended, and the saved answers are found where the
// offline enricher looks.
func TestKindStory(t *testing.T) {
	dir := t.TempDir()
	for name, b := range Generate() {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	events, err := os.ReadFile(filepath.Join(dir, "events.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		EventID                      int
		Image, DestinationIp, Hashes string
		DestinationHostname, UtcTime string
	}
	ips, hashes := map[string]bool{}, map[string]bool{}
	rejected := map[string]int{}
	images := map[string]string{} // hash key → image
	sc := bufio.NewScanner(bytes.NewReader(events))
	for sc.Scan() {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		switch r.EventID {
		case 3:
			if key, why := ipkind.Normalize(r.DestinationIp); why != "" {
				rejected["ip:"+why]++
			} else {
				ips[key] = true
			}
		case 1:
			if key, why := filekind.Normalize(r.Hashes); why != "" {
				rejected["file:"+why]++
			} else {
				hashes[key] = true
				images[key] = r.Image
			}
		default:
			t.Fatalf("event %s has EventID %d", r.UtcTime, r.EventID)
		}
	}
	// The domain events' addresses are documentation ranges; the junk is
	// what a site's own traffic looks like; host 34 hashes IMPHASH only.
	for _, why := range []string{"ip:documentation", "ip:private", "ip:link_local", "ip:loopback", "ip:unspecified",
		"ip:multicast", "ip:cgnat", "ip:empty", "file:no_file_hash"} {
		if rejected[why] == 0 {
			t.Errorf("no %s rejection in the events (got %v)", why, rejected)
		}
	}

	o := vt.Offline{Dir: filepath.Join(dir, "vt")}
	lookup := func(k kind.Kind, key string) kind.Record {
		t.Helper()
		r, err := o.Lookup(context.Background(), k, key)
		if err != nil {
			t.Fatalf("%s %s: %v", k.Name(), key, err)
		}
		return r
	}
	found := map[string]bool{}
	for ip := range ips {
		r := lookup(ipkind.Kind{}, ip)
		found[ip] = r.Found()
		if rec := r.(ipkind.Record); r.Found() && (rec.ASN == nil || rec.ASOwner == "" || rec.LastAnalysisPositive == nil) {
			t.Errorf("%s: sparse record %+v", ip, rec)
		}
	}
	for _, want := range []struct {
		ip    string
		found bool
	}{{"193.142.146.35", true}, {"45.141.215.19", true}, {"13.107.4.52", true}, {"2606:4700:4700::1111", true}, {unknownIP, false}} {
		if f, seen := found[want.ip]; !seen || f != want.found {
			t.Errorf("%s: in events %v, found %v; want found %v", want.ip, seen, f, want.found)
		}
	}
	flagged := map[string]bool{}
	for h := range hashes {
		r := lookup(filekind.Kind{}, h)
		rec := r.(filekind.Record)
		if !r.Found() {
			if images[h] != helperTool {
				t.Errorf("%s (%s) not found", h, images[h])
			}
			continue
		}
		if rec.MD5 == "" || rec.SHA1 == "" || rec.SHA256 == "" {
			t.Errorf("%s (%s): hashes missing in %+v", h, images[h], rec)
		}
		if *rec.LastAnalysisPositive >= 2 {
			flagged[images[h][strings.LastIndexByte(images[h], '\\')+1:]] = true
		}
		if len(h) == 40 && images[h] != svchost && images[h] != powershell {
			t.Errorf("SHA-1 key %s for %s: only host 35 hashes without SHA-256", h, images[h])
		}
	}
	if len(flagged) != 2 || !flagged["eicar.com"] || !flagged["Invoice_2025-0314_viewer.exe"] {
		t.Errorf("flagged images %v", flagged)
	}
}
