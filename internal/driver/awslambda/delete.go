package awslambda

import (
	"context"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// Delete implements driver.Driver, in three rounds whose members run concurrently: what feeds the
// function (mapping, subscription); the function, the queue and the topic; then what they used
// (dead-letter queue, table, log group, role). A failure does not stop later rounds: each component
// that can go goes, and the state returned holds only those that could not.
func (d *Driver) Delete(ctx context.Context, st driver.State) (driver.State, error) {
	queue := func(url string) error {
		if st[keyQueueSource] != "" {
			return d.restoreQueue(ctx, url, st[keyQueuePrevVisibility], st[keyQueuePrevRedrive])
		}
		return d.deleteQueue(ctx, driver.Queue, url)
	}
	return plumbing.DeleteRounds(st, ownedKeys,
		plumbing.Round{
			driver.Mapping:      func(id string) error { return d.deleteMapping(ctx, id) },
			driver.Subscription: func(id string) error { return d.unsubscribe(ctx, id) },
		},
		plumbing.Round{
			driver.Function: func(id string) error { return d.deleteFunction(ctx, id) },
			driver.Queue:    queue,
			driver.Topic:    func(id string) error { return d.deleteTopic(ctx, driver.Topic, id) },
		},
		plumbing.Round{
			driver.DeadLetter: func(id string) error { return d.deleteQueue(ctx, driver.DeadLetter, id) },
			driver.DedupTable: func(id string) error { return d.deleteTable(ctx, driver.DedupTable, id) },
			driver.Logs:       func(id string) error { return d.deleteLogGroup(ctx, id) },
			driver.Identity:   func(id string) error { return d.deleteRole(ctx, id) },
		},
	)
}
