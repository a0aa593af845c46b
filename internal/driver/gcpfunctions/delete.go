package gcpfunctions

import (
	"context"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// Delete implements driver.Driver, in three rounds whose members run concurrently: what feeds the
// function and the grant; the function and what it used from Pub/Sub; then the dead-letter topic,
// the database and the account. The Pub/Sub service agent's and run.invoker's bindings go with the
// resources that hold them.
func (d *Driver) Delete(ctx context.Context, st driver.State) (driver.State, error) {
	return plumbing.DeleteRounds(st, owned,
		plumbing.Round{
			driver.Subscription: func(id string) error { return d.deleteSubscription(ctx, driver.Subscription, id) },
			DedupGrant: func(id string) error {
				email, _, _ := strings.Cut(id, " ")
				return fail(DedupGrant, "revoking", id, d.setFirestoreGrants(ctx, "serviceAccount:"+email, nil))
			},
		},
		plumbing.Round{
			driver.Function:        func(id string) error { return d.deleteFunction(ctx, id) },
			DeadLetterSubscription: func(id string) error { return d.deleteSubscription(ctx, DeadLetterSubscription, id) },
			driver.Topic:           func(id string) error { return d.deleteTopic(ctx, driver.Topic, id) },
			driver.Queue:           func(id string) error { return d.deleteTopic(ctx, driver.Queue, id) },
		},
		plumbing.Round{
			driver.DeadLetter: func(id string) error { return d.deleteTopic(ctx, driver.DeadLetter, id) },
			driver.DedupTable: func(id string) error { return d.deleteDatabase(ctx, driver.DedupTable, id) },
			driver.Identity:   func(id string) error { return d.deleteAccount(ctx, id) },
		},
	)
}
