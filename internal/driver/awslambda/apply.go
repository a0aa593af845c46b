package awslambda

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Apply implements driver.Driver. On an existing state it reads every component first (as Read
// does) and changes only what differs, so a second Apply of the same handler makes no writes.
// Components are made in four rounds, each waiting for the previous one:
//
//	role, log group, dead-letter queue, dedup table, topic (independent: concurrently)
//	queue (needs the dead-letter queue and the topic)
//	role policy, subscription, function (need the queue; the function goes after the queue so that
//	a longer timeout never meets a shorter visibility timeout, which Lambda refuses)
//	mapping (needs function, queue and the policy that lets the role read the queue)
//
// then deletes what the handler no longer uses (a topic after a swap to kind queue).
func (d *Driver) Apply(ctx context.Context, h *spec.Handler, code *driver.Code, st driver.State) (driver.State, driver.Outputs, error) {
	final, err := plumbing.Apply(st, ownedKeys, &seen{}, func(st driver.State) (*seen, []driver.Component, error) { return d.see(ctx, st) },
		func(l *plumbing.Ledger, cur *seen) error { return d.apply(ctx, h, code, l, cur) })
	return final, d.outputs(final), err
}

func (d *Driver) apply(ctx context.Context, h *spec.Handler, code *driver.Code, l *plumbing.Ledger, cur *seen) error {
	names := d.names(h.Name)
	tags := tagsFor(h)
	adopt := ""
	if h.Trigger.Kind == spec.Queue {
		adopt = h.Trigger.Source
	}
	topicSource := ""
	if h.Trigger.Kind == spec.Topic {
		topicSource = h.Trigger.Source
	}
	wantTopic := h.Trigger.Kind == spec.Topic && topicSource == ""

	// A queue other than the one wanted (created versus adopted, or another source) goes first, with
	// its mapping: a mapping's event source cannot change.
	if l.Get(string(driver.Queue)) != "" && l.Get(keyQueueSource) != adopt {
		if err := d.releaseQueue(ctx, l); err != nil {
			return err
		}
		cur.queue, cur.mapping = nil, nil
	}

	err := plumbing.Concurrently(
		func() error {
			if cur.role != nil {
				return d.updateRole(ctx, cur.role, tags)
			}
			arn, err := d.createRole(ctx, names.Identity, tags)
			l.Set(string(driver.Identity), arn)
			return err
		},
		func() error {
			name := logGroupName(names.Function)
			if cur.logs == nil {
				if err := d.createLogGroup(ctx, name, tags); err != nil {
					return err
				}
				l.Set(string(driver.Logs), name)
				return d.setLogRetention(ctx, name, h.Function.LogRetentionDays)
			}
			if cur.logs.retention != h.Function.LogRetentionDays {
				if err := d.setLogRetention(ctx, name, h.Function.LogRetentionDays); err != nil {
					return err
				}
			}
			return d.tagLogGroup(ctx, cur.logs, tags)
		},
		func() error {
			want := dlqAttrs(h)
			if cur.dlq == nil {
				url, err := d.createQueue(ctx, driver.DeadLetter, names.DeadLetter, want, tags)
				l.Set(string(driver.DeadLetter), url)
				return err
			}
			if attrsDiffer(want, cur.dlq.attrs) {
				if err := d.setQueueAttrs(ctx, driver.DeadLetter, cur.dlq.url, want); err != nil {
					return err
				}
			}
			return d.tagQueue(ctx, driver.DeadLetter, cur.dlq, tags)
		},
		func() error {
			t := dedupTable(names.DedupTable)
			if cur.table != nil {
				return d.updateTable(ctx, t, cur.table, dedupTTL, tags)
			}
			arn, err := d.createTable(ctx, t, tags)
			l.Set(string(driver.DedupTable), arn)
			if err != nil {
				return err
			}
			return d.setTTL(ctx, t, dedupTTL, true)
		},
		func() error {
			switch {
			case !wantTopic:
				return nil
			case cur.topic != nil:
				return d.updateTopic(ctx, driver.Topic, cur.topic, tags)
			}
			arn, err := d.createTopic(ctx, driver.Topic, names.Topic, tags)
			l.Set(string(driver.Topic), arn)
			return err
		},
	)
	if err != nil {
		return err
	}

	roleARN := l.Get(string(driver.Identity))
	topicARN := l.Get(string(driver.Topic))
	if topicSource != "" {
		topicARN = topicSource
	}
	if adopt != "" {
		err = d.applyAdoptedQueue(ctx, h, l, cur)
	} else {
		err = d.applyQueue(ctx, h, l, cur, accountOf(roleARN), topicARN, tags)
	}
	if err != nil {
		return err
	}
	queueARN := d.queueARN(l.Get(string(driver.Queue)))

	err = plumbing.Concurrently(
		func() error {
			doc := rolePolicy(grants{
				logGroupARN: d.logGroupARN(accountOf(roleARN), logGroupName(names.Function)),
				queueARN:    queueARN,
				kmsKeyARN:   l.Get(keyQueueKMSKey),
				tableARN:    l.Get(string(driver.DedupTable)),
				tables:      h.Function.Tables,
			})
			if cur.role != nil && sameJSON(cur.role.policy, doc) {
				return nil
			}
			return d.putRolePolicy(ctx, roleARN, doc)
		},
		func() error {
			if h.Trigger.Kind != spec.Topic {
				return nil
			}
			return d.applySubscription(ctx, l, cur, topicARN, topicSource, queueARN, filterPolicy(h.Trigger.Filter))
		},
		func() error { return d.applyFunction(ctx, h, code, l, cur, roleARN, tags) },
	)
	if err != nil {
		return err
	}

	if err := d.applyMapping(ctx, h, l, cur, queueARN, tags); err != nil {
		return err
	}

	if sub := l.Get(string(driver.Subscription)); sub != "" && h.Trigger.Kind != spec.Topic {
		if err := d.unsubscribe(ctx, sub); err != nil {
			return err
		}
		l.Forget(driver.Subscription)
	}
	if topic := l.Get(string(driver.Topic)); topic != "" && !wantTopic {
		if err := d.deleteTopic(ctx, driver.Topic, topic); err != nil {
			return err
		}
		l.Set(string(driver.Topic), "")
	}
	return nil
}

// applyQueue creates the handler's own queue, or brings it to the handler's settings.
func (d *Driver) applyQueue(ctx context.Context, h *spec.Handler, l *plumbing.Ledger, cur *seen, account, topicARN string, tags map[string]string) error {
	name := d.names(h.Name).Queue
	queueARN := "arn:" + d.partition + ":sqs:" + d.region + ":" + account + ":" + name
	policy := ""
	if h.Trigger.Kind == spec.Topic {
		policy = queuePolicy(queueARN, topicARN)
	}
	want := queueAttrs(h, d.queueARN(l.Get(string(driver.DeadLetter))), policy)
	if cur.queue == nil {
		url, err := d.createQueue(ctx, driver.Queue, name, want, tags)
		l.Set(string(driver.Queue), url)
		return err
	}
	if attrsDiffer(want, cur.queue.attrs) {
		if err := d.setQueueAttrs(ctx, driver.Queue, cur.queue.url, want); err != nil {
			return err
		}
	}
	return d.tagQueue(ctx, driver.Queue, cur.queue, tags)
}

// applyAdoptedQueue consumes the existing queue trigger.source names: it keeps the queue's previous
// visibility timeout and redrive policy in state (for Delete to restore) and sets the handler's.
// The queue's tags stay its owner's.
func (d *Driver) applyAdoptedQueue(ctx context.Context, h *spec.Handler, l *plumbing.Ledger, cur *seen) error {
	source := h.Trigger.Source
	if cur.queue == nil {
		url, err := d.queueURL(ctx, driver.Queue, source)
		if err != nil {
			return err
		}
		q, err := d.readQueue(ctx, driver.Queue, url, false)
		if err == nil && q == nil {
			err = driver.Errorf(driver.Queue, "adopting", source, driver.NotFound, errors.New("the queue does not exist"))
		}
		if err != nil {
			return err
		}
		key := ""
		if k := q.attrs[attrKMSKey]; k != "" {
			if key, err = d.keyARN(ctx, k); err != nil {
				return err
			}
		}
		l.Set(string(driver.Queue), url)
		l.Set(keyQueueSource, source)
		l.Set(keyQueuePrevVisibility, q.attrs[attrVisibility])
		l.Set(keyQueuePrevRedrive, q.attrs[attrRedrive])
		l.Set(keyQueueKMSKey, key)
		cur.queue = q
	}
	want := adoptedAttrs(h, d.queueARN(l.Get(string(driver.DeadLetter))))
	if !attrsDiffer(want, cur.queue.attrs) {
		return nil
	}
	// moto drops a queue's policy on an update without one: send the owner's back.
	if p := cur.queue.attrs[attrPolicy]; p != "" {
		want[attrPolicy] = p
	}
	return d.setQueueAttrs(ctx, driver.Queue, cur.queue.url, want)
}

// releaseQueue deletes the mapping and the queue recorded in l, or restores an adopted queue.
func (d *Driver) releaseQueue(ctx context.Context, l *plumbing.Ledger) error {
	if m := l.Get(string(driver.Mapping)); m != "" {
		if err := d.deleteMapping(ctx, m); err != nil {
			return err
		}
		l.Set(string(driver.Mapping), "")
	}
	url := l.Get(string(driver.Queue))
	var err error
	if l.Get(keyQueueSource) != "" {
		err = d.restoreQueue(ctx, url, l.Get(keyQueuePrevVisibility), l.Get(keyQueuePrevRedrive))
	} else {
		err = d.deleteQueue(ctx, driver.Queue, url)
	}
	if err != nil {
		return err
	}
	l.Forget(driver.Queue)
	return nil
}

func (d *Driver) applySubscription(ctx context.Context, l *plumbing.Ledger, cur *seen, topicARN, topicSource, queueARN, filter string) error {
	if sub := l.Get(string(driver.Subscription)); sub != "" {
		if cur.sub != nil && subscriptionTopic(sub) == topicARN && cur.sub.endpoint == queueARN {
			if !cur.sub.raw {
				if err := d.setSubscription(ctx, sub, "RawMessageDelivery", "true"); err != nil {
					return err
				}
			}
			if sameJSON(cur.sub.filter, filter) {
				return nil
			}
			return d.setSubscription(ctx, sub, "FilterPolicy", filter)
		}
		if err := d.unsubscribe(ctx, sub); err != nil {
			return err
		}
		l.Forget(driver.Subscription)
	}
	arn, err := d.subscribe(ctx, topicARN, queueARN, filter)
	if err != nil {
		return err
	}
	l.Set(string(driver.Subscription), arn)
	l.Set(keyTopicSource, topicSource)
	return nil
}

func (d *Driver) applyFunction(ctx context.Context, h *spec.Handler, code *driver.Code, l *plumbing.Ledger, cur *seen, roleARN string, tags map[string]string) error {
	w := d.fnConfig(h, roleARN)
	if cur.fn != nil {
		err := d.updateFunction(ctx, cur.fn, w, h.Function.SourceHash, code, tags)
		if !errors.Is(err, errReplace) {
			return err
		}
		// Its ARN, and so its mapping, survive the replacement.
		if err := d.deleteFunction(ctx, aws.ToString(cur.fn.cfg.FunctionArn)); err != nil {
			return err
		}
		l.Set(string(driver.Function), "")
	}
	if code == nil {
		return driver.Errorf(driver.Function, "creating", w.name, driver.InvalidArgument, errors.New("no code package was given"))
	}
	arn, cfg, err := d.createFunction(ctx, w, code.Zip, tags)
	if err != nil {
		return err
	}
	l.Set(string(driver.Function), arn)
	_, err = d.settle(ctx, w.name, cfg)
	return err
}

func (d *Driver) applyMapping(ctx context.Context, h *spec.Handler, l *plumbing.Ledger, cur *seen, queueARN string, tags map[string]string) error {
	fnARN := l.Get(string(driver.Function))
	m := mappingOf(h)
	if cur.mapping != nil && aws.ToString(cur.mapping.out.EventSourceArn) != queueARN {
		if err := d.deleteMapping(ctx, aws.ToString(cur.mapping.out.UUID)); err != nil {
			return err
		}
		l.Set(string(driver.Mapping), "")
		cur.mapping = nil
	}
	if cur.mapping != nil {
		return d.updateMapping(ctx, cur.mapping, fnARN, m, tags)
	}
	uuid, state, err := d.createMapping(ctx, fnARN, queueARN, m, tags)
	if uuid != "" {
		l.Set(string(driver.Mapping), uuid) // made, even if settling a retried create failed after
	}
	if err != nil {
		return err
	}
	if mappingReady(state) {
		return nil
	}
	return d.waitMapping(ctx, uuid)
}
