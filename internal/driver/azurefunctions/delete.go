package azurefunctions

import (
	"context"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// Delete implements driver.Driver, in three rounds whose members run concurrently: the function
// app, the role assignments (they outlive the identity) and the trigger entities (an adopted queue
// gets its settings back); then the plan, the topic, the dedup database, the dead-letter queue, the
// storage account, the Application Insights component and the identity; then the namespace and the
// Cosmos DB account the handler owns (shared ones are only forgotten) and the Log Analytics
// workspace, for good.
func (d *Driver) Delete(ctx context.Context, st driver.State) (driver.State, error) {
	// The table grants first: like role assignments, they outlive the identity.
	if err := d.deleteTableGrants(ctx, st); err != nil {
		return st, err
	}
	st = st.Clone()
	delete(st, keyTableGrants)
	shared := func(key string, del func(string) error) func(string) error {
		return func(id string) error {
			if st[key] != "" {
				return nil
			}
			return del(id)
		}
	}
	return plumbing.DeleteRounds(st, owned,
		plumbing.Round{
			driver.Function:     func(id string) error { return d.deleteSite(ctx, id) },
			ReceiverGrant:       func(id string) error { return d.deleteAssignment(ctx, ReceiverGrant, id) },
			StorageGrant:        func(id string) error { return d.deleteAssignment(ctx, StorageGrant, id) },
			DedupGrant:          func(id string) error { return d.deleteSQLAssignment(ctx, DedupGrant, id) },
			MetricsGrant:        func(id string) error { return d.deleteAssignment(ctx, MetricsGrant, id) },
			driver.Subscription: func(id string) error { return d.deleteEntity(ctx, driver.Subscription, id) },
			driver.Queue: func(id string) error {
				return d.releaseQueue(ctx, id, st[keyQueueSource] != "", st[keyQueuePrev])
			},
		},
		plumbing.Round{
			Plan:              func(id string) error { return d.deletePlan(ctx, id) },
			driver.Topic:      func(id string) error { return d.deleteEntity(ctx, driver.Topic, id) },
			driver.DedupTable: func(id string) error { return d.deleteDedup(ctx, id) },
			driver.DeadLetter: func(id string) error { return d.deleteEntity(ctx, driver.DeadLetter, id) },
			StorageAccount:    func(id string) error { return d.deleteStorage(ctx, id) },
			driver.Identity:   func(id string) error { return d.deleteIdentity(ctx, id) },
			driver.Logs:       func(id string) error { return d.deleteInsights(ctx, id) },
		},
		plumbing.Round{
			Namespace: func(id string) error {
				if prev := st[keyNamespacePrev]; prev != "" {
					if err := d.deleteNamespace(ctx, prev); err != nil {
						return err
					}
				}
				return shared(keyNamespaceShared, func(id string) error { return d.deleteNamespace(ctx, id) })(id)
			},
			CosmosAccount: shared(keyCosmosShared, func(id string) error { return d.deleteCosmos(ctx, CosmosAccount, id) }),
			Workspace:     func(id string) error { return d.deleteWorkspace(ctx, id) },
		},
	)
}
