package gcpfunctions

import (
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// keyTopicSource, a private state key beside the component ids, is the existing topic
// (trigger.source) the push subscription consumes; it lives and dies with the subscription.
const keyTopicSource = "topic_source"

// TriggerLabel, on the push subscription, says the trigger kind: with an existing source, neither
// topic component exists to tell.
const TriggerLabel = LabelPrefix + "trigger"

var owned = plumbing.OwnedKeys{driver.Subscription: {keyTopicSource}}

// consumed is the topic the push subscription reads: the handler's own, or the existing source.
func consumed(st driver.State) string {
	for _, c := range []driver.Component{driver.Queue, driver.Topic} {
		if t := st.Get(c); t != "" {
			return t
		}
	}
	return st[keyTopicSource]
}

func (d *Driver) outputs(st driver.State) driver.Outputs {
	return driver.Outputs{
		FunctionID: st.Get(driver.Function), IdentityID: st.Get(driver.Identity), DedupTableID: st.Get(driver.DedupTable),
		DeadLetterID: st.Get(driver.DeadLetter), TriggerSourceID: consumed(st), PublishTarget: consumed(st),
	}
}

// wantedTopic is the component of the topic the handler makes for itself, if any.
func wantedTopic(h *spec.Handler) (driver.Component, bool) {
	switch {
	case h.Trigger.Source != "":
		return "", false
	case h.Trigger.Kind == spec.Topic:
		return driver.Topic, true
	}
	return driver.Queue, true
}
