package awslambda

import (
	"context"
	"errors"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// Delete implements driver.Driver, in three rounds whose members run concurrently: what feeds the
// function (mapping, subscription); the function, the queue and the topic; then what they used
// (dead-letter queue, table, log group, role). A failure does not stop later rounds: each component
// that can go goes, and the state returned holds only those that could not.
func (d *Driver) Delete(ctx context.Context, st driver.State) (driver.State, error) {
	l := &ledger{st: st.Clone()}
	del := func(c driver.Component, f func(id string) error) func() error {
		return func() error {
			id := l.get(string(c))
			if id == "" {
				return nil
			}
			if err := f(id); err != nil {
				return err
			}
			l.forget(c)
			return nil
		}
	}
	queue := func(url string) error {
		if l.get(keyQueueSource) != "" {
			return d.restoreQueue(ctx, url, l.get(keyQueuePrevVisibility), l.get(keyQueuePrevRedrive))
		}
		return d.deleteQueue(ctx, driver.Queue, url)
	}
	err := errors.Join(
		concurrently(
			del(driver.Mapping, func(id string) error { return d.deleteMapping(ctx, id) }),
			del(driver.Subscription, func(id string) error { return d.unsubscribe(ctx, id) }),
		),
		concurrently(
			del(driver.Function, func(id string) error { return d.deleteFunction(ctx, id) }),
			del(driver.Queue, queue),
			del(driver.Topic, func(id string) error { return d.deleteTopic(ctx, id) }),
		),
		concurrently(
			del(driver.DeadLetter, func(id string) error { return d.deleteQueue(ctx, driver.DeadLetter, id) }),
			del(driver.DedupTable, func(id string) error { return d.deleteTable(ctx, id) }),
			del(driver.Logs, func(id string) error { return d.deleteLogGroup(ctx, id) }),
			del(driver.Identity, func(id string) error { return d.deleteRole(ctx, id) }),
		),
	)
	return l.snapshot(), err
}
