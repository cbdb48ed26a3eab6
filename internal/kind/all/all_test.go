package all

import (
	"slices"
	"testing"

	"github.com/vtsync/vtsync/internal/kind"
)

// Every kind is registered once, with a distinct collection, and a record
// contract that starts with _key and names each field once.
func TestEveryKindRegistered(t *testing.T) {
	var names, colls []string
	for _, k := range kind.All() {
		names = append(names, k.Name())
		colls = append(colls, k.Collection())
		fields := k.Fields()
		if len(fields) == 0 || fields[0].Name != "_key" {
			t.Errorf("%s: Fields does not start with _key: %v", k.Name(), fields)
		}
		seen := map[string]bool{}
		for _, f := range fields {
			if seen[f.Name] {
				t.Errorf("%s: field %s twice", k.Name(), f.Name)
			}
			seen[f.Name] = true
		}
		for _, f := range []string{"vt_found", "enriched_time"} {
			if !seen[f] {
				t.Errorf("%s: no %s field", k.Name(), f)
			}
		}
	}
	if !slices.Equal(names, []string{"domain", "file", "ip"}) {
		t.Errorf("kinds %v", names)
	}
	if !slices.Equal(colls, []string{"vtsync_domains", "vtsync_files", "vtsync_ips"}) {
		t.Errorf("collections %v", colls)
	}
}
