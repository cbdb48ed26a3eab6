package modinput

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/vtsync/vtsync/internal/params"
)

func TestWriteScheme(t *testing.T) {
	var out bytes.Buffer
	if err := WriteScheme(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no UTF-8 declaration: %.60q", out.String())
	}
	got := parseTree(t, out.Bytes())

	// Same top-level shape as the SDK's scheme with all elements.
	sdk := parseTree(t, fixture(t, "splunk-sdk-python/modularinput/scheme_without_defaults.xml"))
	if got.Name != "scheme" || !slices.Equal(got.childNames(), sdk.childNames()) {
		t.Errorf("scheme children %v, want %v", got.childNames(), sdk.childNames())
	}
	// Values of the SDK defaults fixture, which our scheme keeps.
	defaults := parseTree(t, fixture(t, "splunk-sdk-python/modularinput/scheme_with_defaults.xml"))
	for _, name := range []string{"use_external_validation", "use_single_instance", "streaming_mode"} {
		if g, w := got.child(name).Text, defaults.child(name).Text; g != w {
			t.Errorf("<%s> = %q, want %q", name, g, w)
		}
	}
	if got.child("title").Text != SchemeTitle || got.child("description").Text != SchemeDescription {
		t.Errorf("title/description do not round-trip: %q / %q", got.child("title").Text, got.child("description").Text)
	}

	// Every <arg> uses the SDK's child order (title, description,
	// validation, data_type, required_on_edit, required_on_create).
	sdkArg := parseTree(t, fixture(t, "splunk-sdk-python/modularinput/scheme_without_defaults_and_argument_title.xml")).
		child("endpoint").child("args").Children[1]
	order := sdkArg.childNames()
	args := got.child("endpoint").child("args")
	if args == nil {
		t.Fatal("no <endpoint><args>")
	}
	if len(args.Children) != len(params.Args()) {
		t.Errorf("%d <arg> elements, want %d (one per params.Args() entry)", len(args.Children), len(params.Args()))
	}
	for i, a := range params.Args() {
		if i >= len(args.Children) {
			break
		}
		arg := args.Children[i]
		if arg.Name != "arg" || arg.Attr["name"] != a.Name {
			t.Errorf("arg %d: <%s name=%q>, want <arg name=%q>", i, arg.Name, arg.Attr["name"], a.Name)
			continue
		}
		if !isSubsequence(arg.childNames(), order) {
			t.Errorf("arg %s: children %v not in SDK order %v", a.Name, arg.childNames(), order)
		}
		want := map[string]string{
			"title":              a.Title,
			"description":        a.Description,
			"data_type":          a.DataType,
			"required_on_edit":   "false",
			"required_on_create": "false",
		}
		for name, w := range want {
			c := arg.child(name)
			if c == nil || c.Text != w {
				t.Errorf("arg %s: <%s> = %v, want %q", a.Name, name, c, w)
			}
		}
		switch a.DataType {
		case "string", "number", "boolean":
		default:
			t.Errorf("arg %s: data_type %q is not one splunkd knows", a.Name, a.DataType)
		}
	}
}

// isSubsequence reports whether every element of sub appears in seq, in
// order.
func isSubsequence(sub, seq []string) bool {
	i := 0
	for _, s := range seq {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}
