package kvdoc

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		in  string
		n   int64
		set bool
		err bool
	}{
		{`1700000000`, 1700000000, true, false},
		{`1.7e+09`, 1700000000, true, false},
		{`1700000000.0`, 1700000000, true, false},
		{`"1700000000"`, 1700000000, true, false},
		{`-3`, -3, true, false},
		{`"-3"`, -3, true, false},
		{`2.5`, 3, true, false},
		{`null`, 0, false, false},
		{`""`, 0, false, false},
		{`"soon"`, 0, false, true},
		{`1e300`, 0, false, true},
		{`true`, 0, false, true},
		{`[1]`, 0, false, true},
	} {
		var n Int
		err := json.Unmarshal([]byte(tc.in), &n)
		if (err != nil) != tc.err || n.N != tc.n || n.Set != tc.set || (n.Ptr() != nil) != tc.set {
			t.Errorf("%s: got %+v, %v", tc.in, n, err)
		}
	}
}

func TestBool(t *testing.T) {
	for in, want := range map[string]bool{`true`: true, `1`: true, `"true"`: true, `"True"`: true, `"1"`: true,
		`false`: false, `0`: false, `"0"`: false, `null`: false, `""`: false} {
		var b Bool
		if err := json.Unmarshal([]byte(in), &b); err != nil || bool(b) != want {
			t.Errorf("%s: got %v, %v", in, b, err)
		}
	}
	for _, in := range []string{`"maybe"`, `2`, `[]`} {
		var b Bool
		if err := json.Unmarshal([]byte(in), &b); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func TestStrings(t *testing.T) {
	for in, want := range map[string][]string{`["a","b"]`: {"a", "b"}, `"a"`: {"a"}, `""`: nil, `null`: nil,
		`[null,"x"]`: {"", "x"}} {
		var s Strings
		if err := json.Unmarshal([]byte(in), &s); err != nil || !slices.Equal(s, want) {
			t.Errorf("%s: got %q, %v", in, s, err)
		}
	}
	for _, in := range []string{`{"a":1}`, `[1]`, `3`} {
		var s Strings
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

func TestOptBool(t *testing.T) {
	for in, want := range map[string]*bool{`true`: new(true), `"0"`: new(false), `null`: nil, `""`: nil} {
		var b OptBool
		if err := json.Unmarshal([]byte(in), &b); err != nil || (b.Ptr() == nil) != (want == nil) || (want != nil && *b.Ptr() != *want) {
			t.Errorf("%s: got %+v, %v", in, b, err)
		}
	}
	var b OptBool
	if err := json.Unmarshal([]byte(`"maybe"`), &b); err == nil {
		t.Error("no error")
	}
}
