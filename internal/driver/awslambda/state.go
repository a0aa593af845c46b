package awslambda

import (
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Private state keys, beside the component ids.
const (
	// keyQueueSource is the ARN of an adopted queue (trigger.source of kind queue); the Queue
	// component is then that queue, which Delete restores instead of deleting.
	keyQueueSource = "queue_source"
	// keyQueuePrevVisibility and keyQueuePrevRedrive are the adopted queue's settings before adoption.
	keyQueuePrevVisibility = "queue_prev_visibility"
	keyQueuePrevRedrive    = "queue_prev_redrive"
	// keyQueueKMSKey is the key ARN of an adopted KMS-encrypted queue, which the role may decrypt with.
	keyQueueKMSKey = "queue_kms_key"
	// keyTopicSource is the ARN of the existing topic (trigger.source of kind topic) the Subscription
	// subscribes the queue to.
	keyTopicSource = "topic_source"
)

// ownedKeys are the private keys that live and die with a component.
var ownedKeys = plumbing.OwnedKeys{
	driver.Queue:        {keyQueueSource, keyQueuePrevVisibility, keyQueuePrevRedrive, keyQueueKMSKey},
	driver.Subscription: {keyTopicSource},
}

// kindOf is the trigger kind a state describes.
func kindOf(st driver.State) spec.TriggerKind {
	if st.Has(driver.Topic) || st.Has(driver.Subscription) || st[keyTopicSource] != "" {
		return spec.Topic
	}
	return spec.Queue
}

// topicOf is the topic the handler's queue is subscribed to: its own, or an existing one.
func topicOf(st driver.State) string {
	if t := st.Get(driver.Topic); t != "" {
		return t
	}
	return st[keyTopicSource]
}

// sourceOf is trigger.source as a state records it.
func sourceOf(st driver.State) string {
	if kindOf(st) == spec.Topic {
		return st[keyTopicSource]
	}
	return st[keyQueueSource]
}

func (d *Driver) outputs(st driver.State) driver.Outputs {
	o := driver.Outputs{FunctionID: st.Get(driver.Function), DedupTableID: st.Get(driver.DedupTable), IdentityID: st.Get(driver.Identity)}
	if st.Has(driver.DeadLetter) {
		o.DeadLetterID = d.queueARN(st.Get(driver.DeadLetter))
	}
	switch topic := topicOf(st); {
	case topic != "":
		o.TriggerSourceID, o.PublishTarget = topic, topic
	case st.Has(driver.Queue):
		o.TriggerSourceID, o.PublishTarget = d.queueARN(st.Get(driver.Queue)), st.Get(driver.Queue)
	}
	return o
}

// nameOf recovers the handler's name from whichever component ids the state holds.
func (d *Driver) nameOf(st driver.State) string {
	if arn := st.Get(driver.Function); arn != "" {
		return lastPart(arn)
	}
	if arn := st.Get(driver.Identity); arn != "" {
		return strings.TrimSuffix(lastPart(arn), "--"+d.region)
	}
	if arn := st.Get(driver.DedupTable); arn != "" {
		name, _, _ := strings.Cut(lastPart(arn), "--")
		return name
	}
	if g := st.Get(driver.Logs); g != "" {
		return strings.TrimPrefix(g, logGroupName(""))
	}
	if u := st.Get(driver.DeadLetter); u != "" {
		name, _, _ := strings.Cut(lastPart(u), "--")
		return name
	}
	return ""
}
