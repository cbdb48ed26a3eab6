package params

import (
	"fmt"
	"strings"
	"time"
)

// timeExamples ends every earliest_time/latest_time error: what to write.
const timeExamples = "use a relative time such as -20m, -1d@d or -1d@d+8h, now, epoch seconds such as 1714521600, " +
	"or an absolute time such as 05/01/2024:00:00:00 or 2024-05-01T00:00:00Z"

// offsetUnits are Splunk's time units for an offset such as -20m (names are
// matched case-insensitively).
var offsetUnits = map[string]bool{
	"s": true, "sec": true, "secs": true, "second": true, "seconds": true,
	"m": true, "min": true, "minute": true, "minutes": true,
	"h": true, "hr": true, "hrs": true, "hour": true, "hours": true,
	"d": true, "day": true, "days": true,
	"w": true, "week": true, "weeks": true,
	"mon": true, "month": true, "months": true,
	"q": true, "qtr": true, "qtrs": true, "quarter": true, "quarters": true,
	"y": true, "yr": true, "yrs": true, "year": true, "years": true,
	"us": true, "ms": true, "cs": true, "ds": true, // subseconds
}

// ValidTime checks v, the value of parameter name (earliest_time or
// latest_time), as validTime does.
func ValidTime(name, v string) error { return validTime(name, v) }

// validTime checks v, the value of parameter name (earliest_time or
// latest_time), against the time formats splunkd accepts for a search's
// time bounds, and returns an *Error saying what is wrong and what to write.
// Accepted: now; epoch seconds, possibly with decimals (0 is the beginning of
// time); a relative time, a chain of offsets ([+|-][<integer>]<unit>, -h
// being -1h) and snaps (@<unit>, or @w0 to @w7 for a day of the week), as in
// -20m, @d, -1d@d+8h; an absolute time as the search language writes it,
// %m/%d/%Y:%H:%M:%S, or as ISO 8601 (the REST API's default time_format).
// Real-time times (rt, rt-5m) are refused: an export is a historical search.
func validTime(name, v string) error {
	bad := func(format string, a ...any) error {
		return &Error{name, fmt.Sprintf("%q is not a Splunk time: ", v) + fmt.Sprintf(format, a...) + "; " + timeExamples}
	}
	l := strings.ToLower(v)
	switch {
	case l == "now", isEpoch(v), isAbsolute(v):
		return nil
	case l == "":
		return bad("it is empty")
	case strings.HasPrefix(strings.TrimLeft(l, "+-"), "rt"):
		return bad("it is a real-time time, and vtsync runs a historical search of a past window")
	}
	for rest := l; rest != ""; {
		switch c := rest[0]; {
		case c == '+' || c == '-':
			i := 1 + digits(rest[1:])
			j := i + letters(rest[i:])
			unit := rest[i:j]
			if unit == "" {
				return bad("the offset %q has no time unit (s, m, h, d, w, mon, q, y)", rest[:j])
			}
			if !offsetUnits[unit] {
				return bad("unknown time unit %q", unit)
			}
			rest = rest[j:]
		case c == '@':
			j := 1 + letters(rest[1:])
			j += digits(rest[j:])
			unit := rest[1:j]
			if unit == "" {
				return bad("@ is not followed by a time unit to snap to, as in @d")
			}
			if !offsetUnits[unit] && !(len(unit) == 2 && unit[0] == 'w' && '0' <= unit[1] && unit[1] <= '7') {
				return bad("unknown snap-to unit %q", unit)
			}
			rest = rest[j:]
		case rest == l && '0' <= c && c <= '9':
			if validTime(name, "-"+v) == nil {
				return bad("an offset needs a sign: -%s is in the past, +%s in the future", v, v)
			}
			return bad("it is neither epoch seconds nor a date and time in a known format")
		default:
			return bad("unexpected %q", rest[:1])
		}
	}
	return nil
}

// isEpoch reports whether s is epoch seconds: digits, optionally followed by
// a decimal point and more digits.
func isEpoch(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	return whole != "" && digits(whole) == len(whole) && (!dot || frac != "" && digits(frac) == len(frac))
}

// absoluteLayouts are the absolute time formats splunkd reads: the search
// language's default %m/%d/%Y:%H:%M:%S and ISO 8601 date-times (time.Parse
// also accepts fractional seconds after the seconds).
var absoluteLayouts = []string{
	"1/2/2006:15:4:5",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
}

func isAbsolute(s string) bool {
	for _, layout := range absoluteLayouts {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// digits returns the length of the run of ASCII digits that starts s.
func digits(s string) int {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// letters returns the length of the run of ASCII lower-case letters that
// starts s.
func letters(s string) int {
	i := 0
	for i < len(s) && 'a' <= s[i] && s[i] <= 'z' {
		i++
	}
	return i
}
