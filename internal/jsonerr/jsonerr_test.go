package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	var env struct {
		Data  json.RawMessage `json:"data"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	var rec map[string]json.RawMessage
	var n struct {
		Data struct {
			Attributes struct {
				Stats struct {
					Malicious int64 `json:"malicious"`
				} `json:"stats"`
			} `json:"attributes"`
		} `json:"data"`
	}
	var list []string
	cases := []struct {
		in   string
		into any
		want string
	}{
		{`[1, 2]`, &env, "the document is a JSON list where an object is expected"},
		{`"x"`, &rec, "the document is a JSON string where an object is expected"},
		{`{"error": {"code": 5}}`, &env, "error.code is a JSON number where a string is expected"},
		{`{"data": {"attributes": {"stats": {"malicious": "x"}}}}`, &n, "data.attributes.stats.malicious is a JSON string where a whole number is expected"},
		{`{"data": {"attributes": {"stats": {"malicious": 1.5}}}}`, &n, "data.attributes.stats.malicious is a JSON number where a whole number is expected"},
		{`{"a": 1}`, &list, "the document is a JSON object where a list is expected"},
		{`{not json`, &env, "not valid JSON at byte 2: invalid character 'n' looking for beginning of object key string"},
		{`{"data": `, &env, "the JSON ends too early (cut short?)"},
	}
	for _, c := range cases {
		err := json.Unmarshal([]byte(c.in), c.into)
		got := Describe(err)
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "Go ") || strings.Contains(got, "struct") || strings.Contains(got, "json:") {
			t.Errorf("%s: %q speaks Go", c.in, got)
		}
	}
	// A stream cut in a record.
	dec := json.NewDecoder(strings.NewReader(`{"data": [1,`))
	if got := Describe(dec.Decode(&env)); got != "the JSON ends too early (cut short?)" {
		t.Errorf("cut stream: %q", got)
	}
	other := errors.New("read /x: input/output error")
	if Describe(other) != other.Error() || Describe(nil) != "" {
		t.Error("errors that are not about JSON are kept as they are")
	}
	var te *json.UnmarshalTypeError
	wrapped := Error(json.Unmarshal([]byte(`[1]`), &env))
	if !errors.As(wrapped, &te) || wrapped.Error() != "the document is a JSON list where an object is expected" ||
		fmt.Sprintf("%v", wrapped) != wrapped.Error() || Error(nil) != nil {
		t.Errorf("Error: %v", wrapped)
	}
}
