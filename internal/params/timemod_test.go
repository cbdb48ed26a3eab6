package params

import (
	"errors"
	"strings"
	"testing"
)

// Values splunkd accepts for earliest_time and latest_time: Splunk's
// documented relative-time grammar, epoch seconds and the two absolute
// formats (the search language's %m/%d/%Y:%H:%M:%S and the REST time_format
// default, ISO 8601).
var splunkTimes = []string{
	"now", "0", "1", "1714521600", "1714521600.250",
	"-20m", "-20m@m", "-15m@m", "-24h", "+1d", "-0s", "-h", "-mon", "+q",
	"@d", "@w0", "@w1", "@w7", "@mon", "@q", "@y",
	"-1d@d+8h", "@d-2h", "-mon@mon+7d", "-7d@w1", "@d+2h", "-1d@d@h", "-30m@h-5m+10s",
	"-2seconds", "-5min", "-3hrs", "-1week", "-2months", "-1qtr", "-1yr", "-2years",
	"-500ms", "-10us", "-3cs", "-1ds",
	"-20M", "NOW", "-1D@D",
	"05/01/2024:00:00:00", "5/1/2024:8:30:00", "12/31/2023:23:59:59",
	"2024-05-01T00:00:00", "2024-05-01T00:00:00Z", "2024-05-01T00:00:00.000+02:00",
	"2024-05-01T08:30:00.5-0500", "2024-05-01T08:30:00.123456Z",
}

// Values splunkd refuses ("Invalid earliest_time.") or that make no sense
// for a historical export.
var notSplunkTimes = []string{
	"-20x", "20m", "-20", "-1.5h", "-m20", "-20m@", "@", "@x", "@w8", "-20m@m+", "-", "+",
	"-1w0", "yesterday", "now-1d", "1714521600.", ".5", "1e9", "-20 m", "- 20m",
	"rt", "rt-5m", "-rt-5m", "rtnow", "RT-1h",
	"13/01/2024:00:00:00", "05/01/2024", "05/01/2024 00:00:00", "2024-05-01", "2024-13-01T00:00:00Z",
	"2024-05-01T25:00:00Z", "2024-05-01T00:00:00+2", "-20m\x00",
}

func TestTimeAcceptsWhatSplunkdAccepts(t *testing.T) {
	for _, v := range splunkTimes {
		for _, name := range []string{"earliest_time", "latest_time"} {
			if err := ValidTime(name, v); err != nil {
				t.Errorf("%s=%q refused: %v", name, v, err)
			}
		}
	}
}

func TestTimeRefusesWhatSplunkdRefuses(t *testing.T) {
	for _, v := range notSplunkTimes {
		for _, name := range []string{"earliest_time", "latest_time"} {
			err := ValidTime(name, v)
			var pe *Error
			if !errors.As(err, &pe) || pe.Param != name {
				t.Errorf("%s=%q: got %v, want an error naming %s", name, v, err, name)
				continue
			}
			// The admin is shown what to write instead.
			if !strings.Contains(err.Error(), "-20m") {
				t.Errorf("%s=%q: the error gives no valid example: %v", name, v, err)
			}
		}
	}
}

func TestTimeErrorSaysWhatIsWrong(t *testing.T) {
	cases := map[string]string{
		"-20x":   `unknown time unit "x"`,
		"@w8":    `unknown snap-to unit "w8"`,
		"20m":    "sign",
		"-20":    "no time unit",
		"rt-5m":  "real-time",
		"-rt-5m": "real-time",
	}
	for v, want := range cases {
		err := ValidTime("earliest_time", v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("earliest_time=%q: error %v does not say %q", v, err, want)
		}
	}
}

func FuzzTime(f *testing.F) {
	for _, v := range append(append([]string{}, splunkTimes...), notSplunkTimes...) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		err := validTime("earliest_time", v)
		if err == nil {
			return
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Param != "earliest_time" || !strings.Contains(pe.Msg, "-20m") {
			t.Fatalf("%q: error %v does not name the parameter and show an example", v, err)
		}
	})
}
