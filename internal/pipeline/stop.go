package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reason is why a run stopped looking up, failed, or met a problem its
// user can act on. The edge that runs the pipeline turns each into advice
// in its own words (which parameter, which file).
type Reason int

const (
	// StopKeyRejected: VirusTotal refused the API key. Lookups stop at once
	// and the run fails.
	StopKeyRejected Reason = iota + 1
	// StopQuotaExceeded: VirusTotal said the key's quota is exceeded, in this
	// run, or in an earlier one whose hold is still in force (Stop.Until).
	// Lookups stop; those already sent bring in their answers.
	StopQuotaExceeded
	// StopBudgetSpent: the daily lookup budget is spent. No new lookups start;
	// those already past the budget go on.
	StopBudgetSpent
	// StopUnreachable: VirusTotal could not be reached. Lookups stop.
	StopUnreachable
	// StopStoreFailed: the store refused a save. Lookups stop; the answers
	// stay journaled when there is a state directory.
	StopStoreFailed
	// StopStoreUnread: the store failed a freshness check: those keys are
	// not looked up this run. The run goes on.
	StopStoreUnread
	// StopStateFailed: the state directory could not be opened, or a journal
	// or budget write failed. Lookups stop.
	StopStateFailed
	// StopStateDamaged: the state file was damaged and set aside, or journal
	// entries could not be read: answers journaled there are lost. The run
	// goes on.
	StopStateDamaged
	// StopSourceFailed: reading the source failed.
	StopSourceFailed
	// StopNothingToLookUp: the source was read but yields nothing to look up
	// (Stop.Err says what to change), or every candidate was rejected.
	StopNothingToLookUp
	// StopOverlap: another run of the input holds its state: this one is
	// skipped.
	StopOverlap
	// StopDeadline: the run's deadline ended it before it finished.
	StopDeadline
	// StopCancelled: the run was cancelled (a signal) before it finished.
	StopCancelled
)

var reasonNames = [...]string{"", "key_rejected", "quota_exceeded", "budget_spent", "unreachable", "store_failed", "store_unread",
	"state_failed", "state_damaged", "source_failed", "nothing_to_look_up", "overlap", "deadline", "cancelled"}

func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Stop is one cause of a run's trouble: why it stopped looking up, why it
// failed, or what else went wrong that its user can act on. The first
// Stop that halts the lookups is the cause (context.Cause) of the run's
// "start no more lookups" context; every Stop of the run is in
// Summary.Stops, and a failed run's error wraps one.
type Stop struct {
	Reason Reason
	Err    error     // what happened; nil for StopOverlap and StopDeadline
	Until  time.Time // StopQuotaExceeded by a hold: no lookups until then
	// Rejected is, for StopNothingToLookUp because every candidate was
	// rejected, the count per reason ("ip 2, empty 1").
	Rejected string
}

func (s *Stop) Error() string {
	if s.Err == nil {
		return s.Reason.String()
	}
	return s.Err.Error()
}

func (s *Stop) Unwrap() error { return s.Err }

// halting reports whether a Stop of this reason stops the lookups.
func (r Reason) halting() bool {
	switch r {
	case StopKeyRejected, StopQuotaExceeded, StopBudgetSpent, StopUnreachable, StopStoreFailed, StopStateFailed:
		return true
	}
	return false
}

// callsOff reports whether a Stop of this reason also calls off the
// lookups waiting for a request slot or a retry: all but a spent budget,
// whose lookups already past it hold their share and go ahead.
func (r Reason) callsOff() bool { return r.halting() && r != StopBudgetSpent }

// stopOf returns the Stop of a run whose context ended: StopDeadline or
// StopCancelled, with ctx's cause.
func stopOf(ctx context.Context) *Stop {
	cause := context.Cause(ctx)
	if errors.Is(cause, context.DeadlineExceeded) {
		return &Stop{Reason: StopDeadline, Err: cause}
	}
	return &Stop{Reason: StopCancelled, Err: cause}
}

// Stop returns the first Stop of reason r in s, or nil.
func (s *Summary) Stop(r Reason) *Stop {
	for _, st := range s.Stops {
		if st.Reason == r {
			return st
		}
	}
	return nil
}
