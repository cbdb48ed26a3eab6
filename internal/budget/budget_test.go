package budget

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vtsync/vtsync/internal/enrich"
)

// failing is a Store whose file cannot be written.
type failing struct{}

func (failing) Take(time.Time, int) (bool, error) { return false, errors.New("disk full") }
func (failing) Refund(time.Time) error            { return nil }
func (failing) UsedToday(time.Time) int           { return 0 }
func (failing) Path() string                      { return "state/key-x.quota" }

// Concurrent spenders never pass the limit; a refund makes room again; a
// spent budget and an unrecordable one say which they are.
func TestDaily(t *testing.T) {
	d := New(10, nil, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, spent := 0, 0
	for range 30 {
		wg.Go(func() {
			err := d.Spend()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, enrich.ErrBudgetSpent):
				spent++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok != 10 || spent != 20 || d.Used() != 10 || d.Limit() != 10 {
		t.Fatalf("%d spent, %d refused, used %d", ok, spent, d.Used())
	}
	d.Refund()
	if err := d.Spend(); err != nil || d.Used() != 10 {
		t.Errorf("after a refund: %v, used %d", err, d.Used())
	}
	if err := New(0, nil, nil).Spend(); err != nil {
		t.Errorf("no cap: %v", err)
	}
	err := New(5, failing{}, nil).Spend()
	if !errors.Is(err, enrich.ErrBudgetUnrecorded) || errors.Is(err, enrich.ErrBudgetSpent) {
		t.Errorf("unrecordable: %v", err)
	}
}
