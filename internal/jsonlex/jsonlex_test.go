package jsonlex

import "testing"

func TestValueEnd(t *testing.T) {
	cases := []struct {
		in   string
		at   int
		want int
	}{
		{`"abc",1`, 0, 5},
		{`"a\"b" `, 0, 6},
		{`{"a":[1,2,{"b":"}"}]},x`, 0, 21},
		{`[1, 2] `, 0, 6},
		{`123,`, 0, 3},
		{`true}`, 0, 4},
		{`-1.5e3`, 0, 6},
		{`{"a":1`, 0, -1},
		{`"never ends`, 0, -1},
		{`x: "v"`, 3, 6},
	}
	for _, c := range cases {
		if got := ValueEnd([]byte(c.in), c.at); got != c.want {
			t.Errorf("ValueEnd(%q, %d) = %d, want %d", c.in, c.at, got, c.want)
		}
	}
}

func TestStringEndAndUnquote(t *testing.T) {
	b := []byte(`"plain" "esc\"aped\u00e9"`)
	if end, esc := StringEnd(b, 0); end != 7 || esc {
		t.Errorf("StringEnd plain = %d, %t", end, esc)
	}
	end, esc := StringEnd(b, 8)
	if end != len(b) || !esc {
		t.Errorf("StringEnd escaped = %d, %t", end, esc)
	}
	if s, err := Unquote(b[8:end]); err != nil || s != `esc"apedé` {
		t.Errorf("Unquote = %q, %v", s, err)
	}
	if i := SkipSpace([]byte(" \t\r\n x"), 0); i != 5 {
		t.Errorf("SkipSpace = %d", i)
	}
	if v := ValueText([]byte(`{"k": 12, "z": 1}`), 6); string(v) != "12" {
		t.Errorf("ValueText = %q", v)
	}
}

func TestInt(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "-37": -37, "1483018099": 1483018099, "9223372036854775807": 1<<63 - 1} {
		if n, ok := Int([]byte(in)); !ok || n != want {
			t.Errorf("Int(%q) = %d, %t", in, n, ok)
		}
	}
	for _, in := range []string{"", "-", "1.0", "1e3", `"7"`, " 7", "9223372036854775808", "12345678901234567890"} {
		if _, ok := Int([]byte(in)); ok {
			t.Errorf("Int(%q) accepted", in)
		}
	}
}
