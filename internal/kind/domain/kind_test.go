package domain

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/vtsync/vtsync/internal/kind"
	"github.com/vtsync/vtsync/internal/record"
)

func TestRegistered(t *testing.T) {
	k, ok := kind.Lookup(Name)
	if !ok || k.Name() != "domain" || k.Collection() != "vtsync_domains" {
		t.Fatalf("kind.Lookup(%q) = %v, %v", Name, k, ok)
	}
}

func TestNormalizeAndPath(t *testing.T) {
	k := Kind{}
	for _, tc := range []struct{ raw, key, reason string }{
		{"WWW.Example.COM.", "example.com", ""},
		{"https://a.b.example.co.uk:8443/x", "example.co.uk", ""},
		{"10.0.0.1", "", "ip"},
		{"", "", "empty"},
		{"wpad", "", "single_label"},
	} {
		key, reason := k.Normalize(tc.raw)
		if key != tc.key || reason != tc.reason {
			t.Errorf("Normalize(%q) = %q, %q; want %q, %q", tc.raw, key, reason, tc.key, tc.reason)
		}
	}
	if p := k.Path("example.com"); p != "domains/example.com" {
		t.Errorf("Path = %q", p)
	}
}

// Map reads a whole response body and stores the record under the key
// asked for; it agrees with MapObject on the object.
func TestMapResponseBody(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(fixtureDir, "opencti_vt_test_domain.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Kind{}.Map("tawuhoju.com", body, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want, err := MapObject(fixtureData(t, "opencti_vt_test_domain.json"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map:\n got %s\nwant %s", show(got), show(want))
	}
	if got.ID() != "tawuhoju.com" || !got.Found() || got.Enriched() != testNow.Unix() {
		t.Errorf("ID %q Found %v Enriched %d", got.ID(), got.Found(), got.Enriched())
	}

	got, err = Kind{}.Map("example.com", []byte(`{"data":{"id":"EXAMPLE.com","type":"domain","attributes":{"reputation":4}}}`), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.(record.Record); r.Key != "example.com" || r.Domain != "example.com" || *r.Reputation != 4 {
		t.Errorf("got %s", show(r))
	}

	for _, body := range []string{
		``, `[]`, `{}`, `{"data":null}`, `{"data":"x"}`, `{"data":{"type":"domain"}}`,
		`{"data":{"id":"1.2.3.4","type":"ip_address","attributes":{}}}`,
		`{"error":{"code":"NotFoundError","message":"x"}}`,
		// The object alone, without its envelope, is not a response.
		`{"id":"example.com","type":"domain","attributes":{}}`,
	} {
		if r, err := (Kind{}).Map("example.com", []byte(body), testNow); err == nil {
			t.Errorf("Map(%s) = %s, want an error", body, show(r))
		}
	}
}

func TestNotFoundAndDecode(t *testing.T) {
	k := Kind{}
	nf := k.NotFound("example.com", testNow)
	if nf.ID() != "example.com" || nf.Found() || nf.Enriched() != testNow.Unix() {
		t.Errorf("NotFound = %s", show(nf))
	}
	if want := record.NotFound("example.com", testNow.Unix()); !reflect.DeepEqual(nf, want) {
		t.Errorf("NotFound = %s, want %s", show(nf), show(want))
	}
	got, err := k.Decode([]byte(`{"_key":"example.com","vt_found":"1","reputation":"-3","tags":"dga","enriched_time":1.7e9}`))
	if err != nil {
		t.Fatal(err)
	}
	r := got.(record.Record)
	if r.ID() != "example.com" || !r.Found() || r.Enriched() != 1.7e9 || *r.Reputation != -3 || !slices.Equal(r.Tags, []string{"dga"}) {
		t.Errorf("Decode = %s", show(r))
	}
	if _, err := k.Decode([]byte(`{"_key":"example.com","reputation":{"x":1}}`)); err == nil {
		t.Error("a document Decode cannot read gave no error")
	}
}

func TestFieldsAreTheRecordContract(t *testing.T) {
	fields := Kind{}.Fields()
	var names []string
	for _, f := range fields {
		names = append(names, f.Name)
		switch f.Type {
		case "string", "number", "bool", "array":
		default:
			t.Errorf("%s has type %q", f.Name, f.Type)
		}
		if f.Accelerated != (f.Name == "domain") {
			t.Errorf("%s accelerated = %v", f.Name, f.Accelerated)
		}
	}
	if !slices.Equal(names, record.Fields) {
		t.Errorf("Fields %v, record.Fields %v", names, record.Fields)
	}
}
