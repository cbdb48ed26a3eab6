package pipeline

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vtsync/vtsync/internal/enrich"
	"github.com/vtsync/vtsync/internal/logging"
	"github.com/vtsync/vtsync/internal/vt"
	"github.com/vtsync/vtsync/internal/vttest"
)

// VirusTotal refusing every connection: the run stops looking up after a
// few lookups with one ERROR, looks nothing up, spends no budget, defers
// every due domain and fails, well within a few request slots rather than
// one slot per attempt. (A synctest bubble: its clock measures the run.)
// At a fast pace the lookups still retrying when the run stops are not
// looked up either.
func TestUnreachableVirusTotalEndsTheRun(t *testing.T) {
	for _, rpm := range []int{4, 1000} {
		t.Run(strconv.Itoa(rpm)+" a minute", func(t *testing.T) { unreachableEndsTheRun(t, rpm) })
	}
}

func unreachableEndsTheRun(t *testing.T, rpm int) {
	synctest.Test(t, func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + ln.Addr().String() + "/api/v3"
		ln.Close() // connections are refused
		var logs bytes.Buffer
		log := slog.New(logging.NewHandler(&logs, slog.LevelInfo, nil))
		opt := opts(t)
		opt.Now = time.Now
		opt.Logger = log
		opt.StateDir = t.TempDir()
		opt.DailyLookupBudget = 100
		daily := testBudget(t, opt)
		opt.Budget = daily
		enr, err := vt.New(vt.Config{APIKey: vttest.APIKey, BaseURL: base, RequestsPerMinute: rpm, MaxConns: 4, Logger: log, Budget: daily})
		if err != nil {
			t.Fatal(err)
		}
		const n = 40
		start := time.Now()
		s, err := Run(t.Context(), opt, &rows{values: domains(n, "site%d.com")}, newStore(), enr)
		took := time.Since(start)
		checkSummary(t, s)
		if !errors.Is(err, enrich.ErrUnreachable) || s.Status != StatusFailed || s.LookedUp != 0 || s.VTCalls != 0 || s.BudgetUsed != 0 || s.Deferred != n {
			t.Errorf("%v\n%+v\nwant a failed run: nothing looked up, no budget spent, every domain deferred", err, s)
		}
		if lines := strings.Count(logs.String(), "ERROR "); lines != 1 || !strings.Contains(logs.String(), "cannot be reached") {
			t.Errorf("%d ERROR lines; want one saying VirusTotal cannot be reached:\n%s", lines, logs.String())
		}
		// At 4 a minute one slot is about 15 s: a few lookups' slots, not
		// one per attempt of every domain.
		if slot := (time.Minute + time.Second) / 4; rpm == 4 && took > 4*slot {
			t.Errorf("the run took %s on the bubble's clock; want at most %s (4 request slots)", took, 4*slot)
		}
	})
}
