package azurefunctions

import (
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

// Private state keys beside the component ids, each living and dying with its component.
const (
	// keyClientID and keyPrincipalID are the identity's, which settings and role assignments name.
	keyClientID    = "identity_client_id"
	keyPrincipalID = "identity_principal_id"
	// keyNamespaceShared and keyCosmosShared mark an account the handler uses and does not own
	// (the provider's shared one, or an adopted source's namespace): destroy leaves it.
	keyNamespaceShared = "namespace_shared"
	// keyNamespacePrev is the handler's own namespace it is moving out of (to a source's), deleted
	// once the move is done, or with the handler.
	keyNamespacePrev = "namespace_previous"
	keyCosmosShared  = "cosmos_shared"
	// keyQueueSource marks an adopted queue (trigger.source); keyQueuePrev holds the settings it had
	// (JSON of entity), restored on destroy.
	keyQueueSource = "queue_source"
	keyQueuePrev   = "queue_prev"
	// keyTopicSource is the existing topic (trigger.source) the subscription is on.
	keyTopicSource = "topic_source"
	// keyTableGrants are the SQL role assignments of function.tables (JSON of tableGrant by name),
	// made for the identity's principal.
	keyTableGrants = "table_grants"
)

var owned = plumbing.OwnedKeys{
	driver.Identity:     {keyClientID, keyPrincipalID, keyTableGrants},
	Namespace:           {keyNamespaceShared, keyNamespacePrev},
	CosmosAccount:       {keyCosmosShared},
	driver.Queue:        {keyQueueSource, keyQueuePrev},
	driver.Subscription: {keyTopicSource},
}

// consumed is the queue or topic the handler reads.
func consumed(st driver.State) string {
	if q := st.Get(driver.Queue); q != "" {
		return q
	}
	if t := st.Get(driver.Topic); t != "" {
		return t
	}
	return st[keyTopicSource]
}

func (d *Driver) outputs(st driver.State) driver.Outputs {
	return driver.Outputs{
		FunctionID: st.Get(driver.Function), IdentityID: st.Get(driver.Identity), DedupTableID: st.Get(driver.DedupTable),
		DeadLetterID: st.Get(driver.DeadLetter), TriggerSourceID: consumed(st), PublishTarget: consumed(st),
	}
}
