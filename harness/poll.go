package harness

import (
	"context"
	"errors"
	"fmt"
	"time"
)

type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent wraps an error that Poll must return at once instead of
// retrying.
func Permanent(err error) error { return permanent{err} }

// Poll calls check every interval until it returns nil, returns a
// Permanent error, or ctx ends. check's error says why the state is not
// reached yet; on timeout Poll returns ctx's error with that last reason,
// so a failed wait says what it was waiting for.
func Poll(ctx context.Context, interval time.Duration, check func(ctx context.Context) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}
