package vt

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/kind"
	domainkind "github.com/vtsync/vtsync/internal/kind/domain"
	filekind "github.com/vtsync/vtsync/internal/kind/file"
	ipkind "github.com/vtsync/vtsync/internal/kind/ip"
	"github.com/vtsync/vtsync/internal/record"
)

const (
	eicarMD5    = "44d88612fea8a8f36de82e1278abb02f"
	eicarSHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
)

func TestOfflineLookupPerKind(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	eicar := `{"data":{"id":"` + eicarSHA256 + `","type":"file","attributes":{"md5":"` + eicarMD5 + `","sha256":"` + eicarSHA256 + `","size":68}}}`
	write("ip_addresses/8.8.8.8.json", `{"data":{"id":"8.8.8.8","type":"ip_address","attributes":{"asn":15169}}}`)
	write("ip_addresses/2606_4700_4700__1111.json", `{"data":{"id":"2606:4700:4700:0:0:0:0:1111","type":"ip_address","attributes":{"asn":13335}}}`)
	write("files/"+eicarSHA256+".json", eicar)
	write("files/"+eicarMD5+".json", eicar) // saved when it was asked for by its MD5
	write("domains/example.com.json", `{"data":{"id":"example.com","type":"domain","attributes":{"reputation":2}}}`)
	write("flat.example.json", `{"data":{"id":"flat.example","type":"domain","attributes":{"reputation":3}}}`)
	write("1.0.0.1.json", `{"data":{"id":"1.0.0.1","type":"ip_address","attributes":{"asn":13335}}}`)
	write("ip_addresses/9.9.9.9.json", `{"error":{"code":"NotFoundError","message":"IP address \"9.9.9.9\" not found"}}`)
	o := Offline{Dir: dir, Now: func() time.Time { return testNow }}
	ctx := context.Background()

	for _, tc := range []struct {
		k     kind.Kind
		key   string
		found bool
	}{
		{ipkind.Kind{}, "8.8.8.8", true},
		{ipkind.Kind{}, "2606:4700:4700::1111", true},
		{ipkind.Kind{}, "1.0.0.1", true},
		{ipkind.Kind{}, "9.9.9.9", false},
		{ipkind.Kind{}, "8.8.4.4", false},
		{filekind.Kind{}, eicarSHA256, true},
		{filekind.Kind{}, eicarMD5, true},
		{filekind.Kind{}, strings.Repeat("a", 40), false},
		{domainkind.Kind{}, "example.com", true},
		{domainkind.Kind{}, "flat.example", true},
		{domainkind.Kind{}, "unknown.example", false},
	} {
		r, err := o.Lookup(ctx, tc.k, tc.key)
		if err != nil {
			t.Errorf("%s %s: %v", tc.k.Name(), tc.key, err)
			continue
		}
		if r.ID() != tc.key || r.Found() != tc.found || r.Enriched() != testNow.Unix() {
			t.Errorf("%s %s: %s", tc.k.Name(), tc.key, show(r))
		}
	}
	r, _ := o.Lookup(ctx, filekind.Kind{}, eicarMD5)
	if f := r.(filekind.Record); f.SHA256 != eicarSHA256 || f.MD5 != eicarMD5 || *f.Size != 68 {
		t.Errorf("file by MD5: %s", show(f))
	}
	r, _ = o.Lookup(ctx, domainkind.Kind{}, "flat.example")
	if d := r.(record.Record); *d.Reputation != 3 {
		t.Errorf("flat domain: %s", show(d))
	}
}

// A file is trusted by its content: another object, another type, a key
// that is not normalised, or a cancelled context are errors.
func TestOfflineLookupRefuses(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ip_addresses"), 0o755)
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	os.WriteFile(filepath.Join(dir, "ip_addresses", "8.8.8.8.json"), []byte(`{"data":{"id":"8.8.4.4","type":"ip_address","attributes":{}}}`), 0o600)
	os.WriteFile(filepath.Join(dir, "ip_addresses", "1.1.1.1.json"), []byte(`{"data":{"id":"1.1.1.1","type":"domain","attributes":{}}}`), 0o600)
	os.WriteFile(filepath.Join(dir, "ip_addresses", "1.0.0.1.json"), []byte(`{"id":"1.0.0.1","type":"ip_address","attributes":{}}`), 0o600)
	os.WriteFile(filepath.Join(dir, "files", eicarMD5+".json"), []byte(`{"data":{"id":"`+eicarSHA256+`","type":"file","attributes":{"md5":"ffffffffffffffffffffffffffffffff"}}}`), 0o600)
	o := Offline{Dir: dir}
	ctx := context.Background()
	for _, tc := range []struct {
		k        kind.Kind
		key, msg string
	}{
		{ipkind.Kind{}, "8.8.8.8", `holds the object of "8.8.4.4"`},
		{ipkind.Kind{}, "1.1.1.1", "not of type ip_address"},
		{ipkind.Kind{}, "1.0.0.1", `no "data" object`},
		{filekind.Kind{}, eicarMD5, "not of " + eicarMD5},
		{ipkind.Kind{}, "10.0.0.1", "not a normalised ip"},
		{ipkind.Kind{}, "../files/x", "not a normalised ip"},
		{filekind.Kind{}, strings.ToUpper(eicarMD5), "not a normalised file"},
		{domainkind.Kind{}, "www.example.com", "not a normalised domain"},
	} {
		if r, err := o.Lookup(ctx, tc.k, tc.key); err == nil || !strings.Contains(err.Error(), tc.msg) || r != nil {
			t.Errorf("%s %s: %s, %v; want an error with %q", tc.k.Name(), tc.key, show(r), err, tc.msg)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := o.Lookup(cancelled, ipkind.Kind{}, "8.8.8.8"); err == nil {
		t.Error("cancelled context ignored")
	}
}
