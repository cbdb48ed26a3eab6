package appcheck

import (
	"fmt"
	"strconv"
	"strings"
)

// cronFields are the ranges of the five fields of a Splunk cron schedule
// (minute, hour, day of month, month, day of week); Splunk accepts no
// month or day names.
var cronFields = []struct {
	name     string
	min, max int
}{{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 6}}

// ValidCron reports why s is not a valid five-field cron schedule, or nil.
func ValidCron(s string) error {
	f := strings.Fields(s)
	if len(f) != 5 {
		return fmt.Errorf("cron schedule %q has %d fields; want 5 (minute hour day-of-month month day-of-week)", s, len(f))
	}
	for i, field := range f {
		r := cronFields[i]
		for _, item := range strings.Split(field, ",") {
			if err := cronItem(item, r.min, r.max); err != nil {
				return fmt.Errorf("cron schedule %q, %s field: %v", s, r.name, err)
			}
		}
	}
	return nil
}

// cronItem checks one comma-separated item: *, n, a-b, each optionally /step.
func cronItem(item string, lo, hi int) error {
	rng, step, hasStep := strings.Cut(item, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 || n > hi {
			return fmt.Errorf("step %q is not a number from 1 to %d", step, hi)
		}
	}
	if rng == "*" {
		return nil
	}
	a, b, isRange := strings.Cut(rng, "-")
	from, err := cronNum(a, lo, hi)
	if err != nil {
		return err
	}
	if !isRange {
		return nil
	}
	to, err := cronNum(b, lo, hi)
	if err != nil {
		return err
	}
	if from > to {
		return fmt.Errorf("range %q runs backwards", rng)
	}
	return nil
}

func cronNum(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
	}
	return n, nil
}

// validInterval checks an inputs.conf interval: seconds (a decimal, 0 or -1)
// or a cron schedule.
func validInterval(s string) error {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 && f != -1 {
			return fmt.Errorf("interval %q: a negative interval must be -1 (run once at start-up)", s)
		}
		return nil
	}
	return ValidCron(s)
}
