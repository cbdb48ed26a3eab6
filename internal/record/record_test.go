package record

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestFresh(t *testing.T) {
	const now = 1_800_000_000
	day, hour := int64(86400), int64(3600)
	cases := []struct {
		name string
		r    Record
		want bool
	}{
		{"found, 6 days old", Record{VTFound: true, EnrichedTime: now - 6*day}, true},
		{"found, exactly 7 days old", Record{VTFound: true, EnrichedTime: now - 7*day}, false},
		{"found, 8 days old", Record{VTFound: true, EnrichedTime: now - 8*day}, false},
		{"negative, 23 hours old", NotFound("x.example", now-23*hour), true},
		{"negative, 25 hours old", NotFound("x.example", now-25*hour), false},
		{"never enriched", Record{VTFound: true}, false},
		{"enriched in the future (clock skew)", Record{VTFound: true, EnrichedTime: now + hour}, false},
	}
	for _, c := range cases {
		if got := c.r.Fresh(now, 7, 24); got != c.want {
			t.Errorf("%s: Fresh = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestFieldsMatchJSON keeps Fields (used for transforms.conf, collections.conf
// and CSV export) equal to the record's JSON names, in order.
func TestFieldsMatchJSON(t *testing.T) {
	rt := reflect.TypeOf(Record{})
	var names []string
	for i := 0; i < rt.NumField(); i++ {
		names = append(names, strings.Split(rt.Field(i).Tag.Get("json"), ",")[0])
	}
	if !reflect.DeepEqual(names, Fields) {
		t.Errorf("Fields = %v\nJSON  = %v", Fields, names)
	}
}

// TestMissingAttributesAreOmitted: fields VirusTotal did not give must be
// absent (null in Splunk), never zero; vt_found and enriched_time always are.
func TestMissingAttributesAreOmitted(t *testing.T) {
	b, err := json.Marshal(NotFound("new.example", 1_800_000_000))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_key":"new.example","domain":"new.example","vt_found":false,"enriched_time":1800000000}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	zero := int64(0)
	b, _ = json.Marshal(Record{Key: "a.example", Domain: "a.example", VTFound: true, LastAnalysisPositive: &zero})
	if !strings.Contains(string(b), `"last_analysis_positive":0`) {
		t.Errorf("a known zero must be kept: %s", b)
	}
}
