package gcpfunctions

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Locate implements driver.Driver. Every component is found by the name the handler's name
// derives; the push subscription's topic and label tell the trigger. Without a function (an apply
// killed before it made one) the service account stands in for it, if its description names this
// handler.
func (d *Driver) Locate(ctx context.Context, name string) (driver.State, error) {
	n := d.names(name)
	l := plumbing.NewLedger(driver.State{}, owned)
	fn, err := d.readFunction(ctx, d.functionName(n.Function), false)
	if err != nil {
		return nil, err
	}
	email := d.accountEmail(n.Account)
	account, err := d.readAccount(ctx, email)
	if err != nil {
		return nil, err
	}
	if fn == nil && (account == nil || account.handler != name) {
		return nil, driver.Errorf(driver.Function, "finding", name, driver.NotFound, errors.New("no such function in "+d.parent()))
	}
	if fn != nil {
		l.Set(string(driver.Function), fn.fn.GetName())
		email = fn.fn.GetServiceConfig().GetServiceAccountEmail()
	}
	if account != nil {
		l.Set(string(driver.Identity), email)
	}
	found := func(c driver.Component, name string, read func() (bool, error)) func() error {
		return func() error {
			ok, err := read()
			if ok {
				l.Set(string(c), name)
			}
			return err
		}
	}
	topic := func(c driver.Component, id string) func() error {
		name := d.topicName(id)
		return found(c, name, func() (bool, error) { t, err := d.readTopic(ctx, c, name, false); return t != nil, err })
	}
	database := d.databaseName(n.Database)
	err = plumbing.Concurrently(
		found(driver.DedupTable, database, func() (bool, error) { db, err := d.readDatabase(ctx, database); return db != nil, err }),
		found(DedupGrant, grantID(email, database), func() (bool, error) {
			ok, _, err := d.readGrant(ctx, grantID(email, database))
			return ok, err
		}),
		topic(driver.DeadLetter, n.DeadLetter),
		topic(driver.Queue, n.Queue),
		topic(driver.Topic, n.Topic),
		found(DeadLetterSubscription, d.subscriptionName(n.DeadLetters), func() (bool, error) {
			s, err := d.readSubscription(ctx, DeadLetterSubscription, d.subscriptionName(n.DeadLetters), false)
			return s != nil, err
		}),
		func() error {
			s, err := d.readSubscription(ctx, driver.Subscription, d.subscriptionName(n.Push), false)
			if s == nil || err != nil {
				return err
			}
			l.Set(string(driver.Subscription), s.sub.GetName())
			if t := s.sub.GetTopic(); t != d.topicName(n.Queue) && t != d.topicName(n.Topic) {
				l.Set(keyTopicSource, t)
			}
			return nil
		},
	)
	return l.Snapshot(), err
}

// Check implements driver.Driver: an existing trigger source must exist.
func (d *Driver) Check(ctx context.Context, h *spec.Handler) []spec.Problem {
	src := h.Trigger.Source
	if src == "" || !topicRE.MatchString(src) {
		return nil // spec.Validate reports a malformed source
	}
	_, err := d.topics.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: src}, d.retry)
	problem := func(warning bool, summary, detail string) []spec.Problem {
		return []spec.Problem{{Path: []string{"trigger", "source"}, Warning: warning, Summary: summary, Detail: detail}}
	}
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return problem(false, "Trigger source not found", fmt.Sprintf("trigger.source %q does not exist: create the topic first, or leave trigger.source unset to let the provider create one.", src))
	}
	return problem(true, "Trigger source not checked", fmt.Sprintf("Could not check that trigger.source %q exists: %v", src, err))
}
