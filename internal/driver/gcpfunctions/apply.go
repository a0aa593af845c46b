package gcpfunctions

import (
	"context"
	"errors"
	"maps"

	"cloud.google.com/go/functions/apiv2/functionspb"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Apply implements driver.Driver. On an existing state it reads every component first (as Read
// does) and changes only what differs. Components are made in three rounds, each waiting for the
// previous one:
//
//	service account, dedup database (with its TTL), dead-letter topic, the handler's own topic
//	dead-letter subscription and the service agent's publisher grant, Firestore grants, function
//	run.invoker on the function, push subscription and the service agent's subscriber grant
//
// then deletes what the handler no longer uses (its own topic after a swap).
func (d *Driver) Apply(ctx context.Context, h *spec.Handler, code *driver.Code, st driver.State) (driver.State, driver.Outputs, error) {
	final, err := plumbing.Apply(st, owned, &seen{}, func(st driver.State) (*seen, []driver.Component, error) { return d.see(ctx, st) },
		func(l *plumbing.Ledger, cur *seen) error { return d.apply(ctx, h, code, l, cur) })
	return final, d.outputs(final), err
}

func (d *Driver) apply(ctx context.Context, h *spec.Handler, code *driver.Code, l *plumbing.Ledger, cur *seen) error {
	n := d.names(h.Name)
	labels := labelsFor(h)
	own, wantOwn := wantedTopic(h)

	err := plumbing.Concurrently(
		func() error {
			if cur.account != nil {
				return nil
			}
			email, err := d.createAccount(ctx, h.Name)
			l.Set(string(driver.Identity), email)
			return err
		},
		func() error {
			if cur.database != nil {
				if cur.database.ttlOn {
					return nil
				}
				return d.enableTTL(ctx, cur.database.name)
			}
			name, err := d.createDatabase(ctx, driver.DedupTable, n.Database)
			l.Set(string(driver.DedupTable), name)
			if err != nil {
				return err
			}
			return d.enableTTL(ctx, name)
		},
		func() error {
			if cur.deadLetter != nil {
				return d.relabelTopic(ctx, driver.DeadLetter, cur.deadLetter, labels)
			}
			name, err := d.createTopic(ctx, driver.DeadLetter, n.DeadLetter, labels)
			l.Set(string(driver.DeadLetter), name)
			return err
		},
		func() error {
			if !wantOwn {
				return nil
			}
			if t := map[driver.Component]*topicSeen{driver.Topic: cur.topic, driver.Queue: cur.queue}[own]; t != nil {
				return d.relabelTopic(ctx, own, t, labels)
			}
			id := n.Queue
			if own == driver.Topic {
				id = n.Topic
			}
			name, err := d.createTopic(ctx, own, id, labels)
			l.Set(string(own), name)
			return err
		},
	)
	if err != nil {
		return err
	}

	email, database, deadLetter := l.Get(string(driver.Identity)), l.Get(string(driver.DedupTable)), l.Get(string(driver.DeadLetter))
	topic := h.Trigger.Source
	if wantOwn {
		topic = l.Get(string(own))
	}
	var fn *functionspb.Function
	err = plumbing.Concurrently(
		func() error {
			want := d.deadLetterSubscription(h, deadLetter)
			// A subscription whose topic was deleted reads "_deleted-topic_" and cannot be moved.
			if cur.deadLetters != nil && cur.deadLetters.sub.GetTopic() != deadLetter {
				if err := d.deleteSubscription(ctx, DeadLetterSubscription, cur.deadLetters.sub.GetName()); err != nil {
					return err
				}
				l.Forget(DeadLetterSubscription)
				cur.deadLetters = nil
			}
			if cur.deadLetters == nil {
				name, err := d.createSubscription(ctx, DeadLetterSubscription, want)
				l.Set(string(DeadLetterSubscription), name)
				if err != nil {
					return err
				}
			} else if err := d.updateSubscription(ctx, DeadLetterSubscription, cur.deadLetters.sub, want); err != nil {
				return err
			}
			if cur.deadLetter != nil && cur.deadLetter.agentOK {
				return nil
			}
			return d.grantAgent(ctx, d.topics, driver.DeadLetter, deadLetter, publisher)
		},
		func() error {
			if cur.grant && maps.Equal(cur.tables, h.Function.Tables) {
				return nil
			}
			err := plumbing.RetryWhile(ctx, propagationTimeout, isPropagating, func() error {
				return d.setFirestoreGrants(ctx, "serviceAccount:"+email, firestoreGrants(email, database, h.Function.Tables))
			})
			if err != nil {
				return fail(DedupGrant, "creating", database, err)
			}
			l.Set(string(DedupGrant), grantID(email, database))
			return nil
		},
		func() error {
			var err error
			fn, err = d.applyFunction(ctx, h, code, l, cur, email, database)
			return err
		},
	)
	if err != nil {
		return err
	}

	if cur.fn == nil || !cur.fn.invokerOK || cur.fn.fn.GetServiceConfig().GetService() != fn.GetServiceConfig().GetService() {
		if err := plumbing.RetryWhile(ctx, propagationTimeout, isPropagating, func() error { return d.grantInvoker(ctx, fn) }); err != nil {
			return err
		}
	}
	if err := d.applyPush(ctx, h, l, cur, topic, deadLetter, fn.GetServiceConfig().GetUri(), email); err != nil {
		return err
	}

	for _, c := range []driver.Component{driver.Queue, driver.Topic} {
		if name := l.Get(string(c)); name != "" && (!wantOwn || c != own) {
			if err := d.deleteTopic(ctx, c, name); err != nil {
				return err
			}
			l.Forget(c)
		}
	}
	return nil
}

func (d *Driver) relabelTopic(ctx context.Context, c driver.Component, t *topicSeen, labels map[string]string) error {
	if maps.Equal(t.labels, labels) {
		return nil
	}
	return d.setTopicLabels(ctx, c, t.name, labels)
}

// applyFunction creates the function, or brings it to the handler's settings (with new code when
// code is given).
func (d *Driver) applyFunction(ctx context.Context, h *spec.Handler, code *driver.Code, l *plumbing.Ledger, cur *seen, email, database string) (*functionspb.Function, error) {
	if cur.fn != nil {
		return d.updateFunction(ctx, cur.fn.fn, h, code, email, database)
	}
	if code == nil {
		return nil, driver.Errorf(driver.Function, "creating", h.Name, driver.InvalidArgument, errors.New("no code package was given"))
	}
	var fn *functionspb.Function
	err := plumbing.RetryWhile(ctx, propagationTimeout, isPropagating, func() error {
		var err error
		fn, err = d.createFunction(ctx, h, code, email, database)
		return err
	})
	if fn != nil {
		l.Set(string(driver.Function), fn.GetName())
	}
	return fn, err
}

// applyPush creates the push subscription, or brings it to the handler's settings; one reading
// another topic or with another filter is replaced, since neither can change.
func (d *Driver) applyPush(ctx context.Context, h *spec.Handler, l *plumbing.Ledger, cur *seen, topic, deadLetter, uri, email string) error {
	want := d.pushSubscription(h, topic, deadLetter, uri, email)
	want.Labels[TriggerLabel] = string(h.Trigger.Kind)
	if name := l.Get(string(driver.Subscription)); name != "" && (cur.push == nil || cur.push.sub.GetTopic() != topic || cur.push.sub.GetFilter() != want.GetFilter()) {
		if err := d.deleteSubscription(ctx, driver.Subscription, name); err != nil {
			return err
		}
		l.Forget(driver.Subscription)
		cur.push = nil
	}
	if cur.push == nil {
		name, err := d.createSubscription(ctx, driver.Subscription, want)
		if err != nil {
			return err
		}
		l.Set(string(driver.Subscription), name)
		l.Set(keyTopicSource, h.Trigger.Source)
	} else if err := d.updateSubscription(ctx, driver.Subscription, cur.push.sub, want); err != nil {
		return err
	}
	if cur.push != nil && cur.push.agentOK {
		return nil
	}
	return d.grantAgent(ctx, d.subs, driver.Subscription, want.GetName(), subscriber)
}
