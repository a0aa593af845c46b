package dlq

import (
	"context"
	"fmt"
	"slices"
)

// letters are a dead-letter queue's (or subscription's) messages of type M, as a replay takes them.
type letters[M any] interface {
	// where names the dead letters' queue or subscription, for errors.
	where() string
	// receive takes a few messages, hidden from other receivers while the replay holds them.
	receive(ctx context.Context) ([]M, error)
	id(m M) string
	// release makes a message not asked for visible again at once.
	release(ctx context.Context, m M)
	// replay sends a copy of m back to the handler's trigger, then removes m: never the other way,
	// so that a failure leaves m where it was (the copy failed) or in both places (the removal
	// failed), never in neither; its error says which.
	replay(ctx context.Context, m M) error
}

// replay moves the messages with ids (every message when ids is empty) back, one at a time, and
// returns the ids moved. It stops at the first error, and ends when a receive brings no message it
// has not seen.
func replay[M any](ctx context.Context, l letters[M], ids []string) (moved []string, err error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	seen := map[string]bool{}
	for {
		msgs, err := l.receive(ctx)
		if err != nil {
			return moved, err
		}
		progress := false
		for _, m := range msgs {
			id := l.id(m)
			if seen[id] {
				continue
			}
			seen[id], progress = true, true
			if len(want) > 0 && !want[id] {
				l.release(ctx, m)
				continue
			}
			if err := l.replay(ctx, m); err != nil {
				return moved, err
			}
			moved = append(moved, id)
		}
		if !progress || (len(want) > 0 && len(moved) == len(want)) {
			break
		}
	}
	if missing := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return slices.Contains(moved, id) }); len(missing) > 0 {
		return moved, fmt.Errorf("not in %s (or held by another receiver): %v", l.where(), missing)
	}
	return moved, nil
}
