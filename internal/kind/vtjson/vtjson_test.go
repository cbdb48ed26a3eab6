package vtjson

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

type attrs struct {
	Reputation json.RawMessage `json:"reputation"`
}

func TestObjectAndResponse(t *testing.T) {
	for _, tc := range []struct {
		data, id, rep, err string
	}{
		{`{"id":"a.example","type":"domain","attributes":{"reputation":3}}`, "a.example", "3", ""},
		{`{"id":"a.example","type":"domain","attributes":null}`, "a.example", "", ""},
		{`{"id":"a.example","type":"domain","attributes":[1]}`, "a.example", "", ""},
		{`{"id":"a.example","type":"domain","attributes":"x"}`, "a.example", "", ""},
		{`{"id":"a.example","type":"domain"}`, "a.example", "", ""},
		{`{"id":"a.example","type":"ip_address","attributes":{}}`, "", "", "not of type domain"},
		{`{"id":"","type":"domain"}`, "", "", "no id"},
		{`{"id":7,"type":"domain"}`, "", "", "no id"},
		{`{"type":"domain"}`, "", "", "no id"},
		{`[]`, "", "", "not a JSON object"},
		{``, "", "", "not a JSON object"},
		{`{"id":"a.example",`, "", "", "not a VirusTotal object"},
	} {
		var a attrs
		id, err := Object([]byte(tc.data), "domain", &a)
		if id != tc.id || string(a.Reputation) != tc.rep || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Object(%s) = %q, reputation %s, %v; want %q, %s, %q", tc.data, id, a.Reputation, err, tc.id, tc.rep, tc.err)
		}
		// The same object in a response envelope reads the same.
		var b attrs
		body := `{"data":` + tc.data + `}`
		if tc.data == `` {
			body = `{"data":}`
		}
		id2, err2 := Response([]byte(body), "domain", &b)
		if id2 != id || string(b.Reputation) != string(a.Reputation) || (err2 == nil) != (err == nil) {
			t.Errorf("Response(%s) = %q, %s, %v; Object gave %q, %v", body, id2, b.Reputation, err2, id, err)
		}
	}
	for _, body := range []string{`{}`, `{"data":null}`, `{"error":{"code":"NotFoundError"}}`, `null`, `[{"data":{}}]`} {
		var a attrs
		if id, err := Response([]byte(body), "domain", &a); err == nil {
			t.Errorf("Response(%s) = %q, want an error", body, id)
		}
	}
}

func TestScalars(t *testing.T) {
	if s, ok := Str(json.RawMessage(` "a\u00e9" `)); !ok || s != "aé" {
		t.Errorf("Str = %q, %v", s, ok)
	}
	if _, ok := Str(json.RawMessage(`5`)); ok {
		t.Error("Str accepted a number")
	}
	for raw, want := range map[string]bool{`1`: true, `1.0`: false, `"1"`: false, `1e3`: false, `null`: false} {
		if _, ok := Integer(json.RawMessage(raw)); ok != want {
			t.Errorf("Integer(%s) ok = %v", raw, ok)
		}
	}
	if Count(json.RawMessage(`-1`)) != nil || *Count(json.RawMessage(`0`)) != 0 {
		t.Error("Count")
	}
	for raw, want := range map[string]bool{`1483018099`: true, `0`: false, `-5`: false, `253402300799`: true, `253402300800`: false} {
		if _, ok := Timestamp(json.RawMessage(raw)); ok != want {
			t.Errorf("Timestamp(%s) ok = %v", raw, ok)
		}
	}
	if got := StringList(json.RawMessage(`["a",1,null,"","b"]`)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("StringList = %q", got)
	}
	if got := MapValues(json.RawMessage(`{"x":"b","y":"a","z":"b","w":3}`)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("MapValues = %q", got)
	}
	m, s := Stats(json.RawMessage(`{"malicious":4,"suspicious":"1"}`))
	if *m != 4 || s != nil {
		t.Errorf("Stats = %v, %v", m, s)
	}
}

func TestCert(t *testing.T) {
	c := Cert(json.RawMessage(`{"issuer":{"CN":"R10","O":"Let's Encrypt","C":"US"},"validity":{"not_before":"2025-01-01 00:00:00"}}`))
	if c.Issuer != "C=US, O=Let's Encrypt, CN=R10" || c.IssuerOrg != "Let's Encrypt" || c.NotBefore == nil || *c.NotBefore != 1735689600 {
		t.Errorf("Cert = %+v", c)
	}
	if c := Cert(json.RawMessage(`"x"`)); c.Issuer != "" || c.NotBefore != nil {
		t.Errorf("Cert of a string = %+v", c)
	}
}
