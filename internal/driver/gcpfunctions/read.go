package gcpfunctions

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// seen is what one read of the recorded components found; a nil field is a component that is gone
// or not recorded.
type seen struct {
	account      *accountSeen
	database     *databaseSeen
	deadLetter   *topicSeen
	deadLetters  *subscriptionSeen
	topic, queue *topicSeen
	grant        bool
	// tables are the table grants the project's policy holds for the account.
	tables map[string]spec.TableGrant
	fn     *functionSeen
	push   *subscriptionSeen
}

// see reads every component st records, concurrently, once each, plus the IAM policy that holds its
// grants where it has one (12 calls for a handler of either kind, and the project's number once per
// driver). It returns the components found gone.
func (d *Driver) see(ctx context.Context, st driver.State) (*seen, []driver.Component, error) {
	s := &seen{}
	reads := plumbing.NewReads(st)
	read := reads.Add
	read(driver.Identity, func(id string) (_ bool, err error) {
		s.account, err = d.readAccount(ctx, id)
		return s.account != nil, err
	})
	read(driver.DedupTable, func(id string) (_ bool, err error) {
		s.database, err = d.readDatabase(ctx, id)
		return s.database != nil, err
	})
	read(driver.DeadLetter, func(id string) (_ bool, err error) {
		s.deadLetter, err = d.readTopic(ctx, driver.DeadLetter, id, true)
		return s.deadLetter != nil, err
	})
	read(DeadLetterSubscription, func(id string) (_ bool, err error) {
		s.deadLetters, err = d.readSubscription(ctx, DeadLetterSubscription, id, false)
		return s.deadLetters != nil, err
	})
	read(driver.Topic, func(id string) (_ bool, err error) {
		s.topic, err = d.readTopic(ctx, driver.Topic, id, false)
		return s.topic != nil, err
	})
	read(driver.Queue, func(id string) (_ bool, err error) {
		s.queue, err = d.readTopic(ctx, driver.Queue, id, false)
		return s.queue != nil, err
	})
	read(DedupGrant, func(id string) (_ bool, err error) {
		s.grant, s.tables, err = d.readGrant(ctx, id)
		return s.grant, err
	})
	read(driver.Function, func(id string) (_ bool, err error) {
		s.fn, err = d.readFunction(ctx, id, true)
		return s.fn != nil, err
	})
	read(driver.Subscription, func(id string) (_ bool, err error) {
		s.push, err = d.readSubscription(ctx, driver.Subscription, id, true)
		return s.push != nil, err
	})
	missing, err := reads.Run(order)
	return s, missing, err
}

// readGrant reports whether the project's policy holds the dedup grant id records, and returns
// the table grants it holds for the same account.
func (d *Driver) readGrant(ctx context.Context, id string) (bool, map[string]spec.TableGrant, error) {
	p, err := getPolicy(ctx, d.projects, "projects/"+d.project, d.retry)
	if err != nil {
		return false, nil, fail(DedupGrant, "reading the IAM policy of", "projects/"+d.project, err)
	}
	email, _, _ := strings.Cut(id, " ")
	return grantOf(id).in(p), tablesHeld(p, email), nil
}

// Read implements driver.Driver.
func (d *Driver) Read(ctx context.Context, st driver.State) (*driver.Observed, error) {
	return plumbing.Observe(st, owned, func(st driver.State) (*seen, []driver.Component, error) { return d.see(ctx, st) },
		d.handlerOf, d.drifted, d.outputs)
}

// handlerOf rebuilds the handler from what Google holds.
func (d *Driver) handlerOf(st driver.State, s *seen) spec.Handler {
	h := spec.Handler{Name: d.nameOf(st), Cloud: Name}
	h.Trigger.Source = st[keyTopicSource]
	switch {
	case st.Has(driver.Topic):
		h.Trigger.Kind = spec.Topic
	case st.Has(driver.Queue):
		h.Trigger.Kind = spec.Queue
	}
	if f := s.fn; f != nil {
		fn, sc := f.fn, f.fn.GetServiceConfig()
		h.Function.Runtime = runtimeOf(fn.GetBuildConfig().GetRuntime())
		h.Function.EntryPoint = fn.GetBuildConfig().GetEntryPoint()
		_, hash, maxUnset := described(fn.GetDescription())
		h.Function.SourceHash = hash
		h.Function.MemoryMB = memoryOf(sc.GetAvailableMemory())
		h.Function.TimeoutS = int64(sc.GetTimeoutSeconds())
		if !maxUnset {
			h.Function.MaxConcurrency = int64(sc.GetMaxInstanceCount())
		}
		h.Function.Environment = userEnv(sc.GetEnvironmentVariables())
		h.Dedup.TTLS, _ = strconv.ParseInt(sc.GetEnvironmentVariables()[spec.EnvDedupTTL], 10, 64)
		h.Function.Tables = grantsOf(sc.GetEnvironmentVariables(), s.tables)
		h.Tags = userLabels(fn.GetLabels())
	}
	if p := s.push; p != nil {
		sub := p.sub
		h.Trigger.Kind = spec.TriggerKind(sub.GetLabels()[TriggerLabel])
		h.Trigger.BatchSize = 1
		h.Trigger.VisibilityTimeoutS = int64(sub.GetAckDeadlineSeconds())
		h.Trigger.Paused = sub.GetPushConfig().GetPushEndpoint() == ""
		h.Retry.MaxAttempts = int64(sub.GetDeadLetterPolicy().GetMaxDeliveryAttempts())
		h.Retry.MinBackoffS = int64(sub.GetRetryPolicy().GetMinimumBackoff().AsDuration().Seconds())
		h.Trigger.Filter, _ = filterOf(sub.GetFilter())
	}
	if p := s.deadLetters; p != nil {
		h.DeadLetter.RetentionDays = int64(p.sub.GetMessageRetentionDuration().AsDuration().Hours() / 24)
	}
	return h
}

// grantsOf rebuilds function.tables from the variables that locate each table and the grants the
// project's policy holds: a table whose grant is missing, or names another database, shows with no
// access.
func grantsOf(env map[string]string, held map[string]spec.TableGrant) map[string]spec.TableGrant {
	stores := spec.TableStores(env)
	if stores == nil {
		return nil
	}
	gs := make(map[string]spec.TableGrant, len(stores))
	for name, url := range stores {
		g := spec.TableGrant{TableID: tableOf(url)}
		if h, ok := held[name]; ok && h.TableID == g.TableID {
			g.Access = h.Access
		}
		gs[name] = g
	}
	return gs
}

// userLabels are the labels less the provider's own.
func userLabels(labels map[string]string) map[string]string {
	var out map[string]string
	for k, v := range labels {
		if !strings.HasPrefix(k, LabelPrefix) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// drifted lists the components present whose settings differ from what Apply makes in ways the
// handler cannot show: the wiring between components, the grants, TTL, labels.
func (d *Driver) drifted(st driver.State, s *seen, h *spec.Handler) []driver.Component {
	var out []driver.Component
	mark := func(c driver.Component, drifted bool) {
		if drifted {
			out = append(out, c)
		}
	}
	labels := labelsFor(h)
	email, topic, deadLetter := st.Get(driver.Identity), consumed(st), st.Get(driver.DeadLetter)
	if db := s.database; db != nil {
		mark(driver.DedupTable, !db.ttlOn)
	}
	if t := s.deadLetter; t != nil {
		mark(driver.DeadLetter, !maps.Equal(t.labels, labels) || !t.agentOK)
	}
	if p := s.deadLetters; p != nil {
		mark(DeadLetterSubscription, (deadLetter != "" && p.sub.GetTopic() != deadLetter) || p.sub.GetExpirationPolicy().GetTtl() != nil ||
			!maps.Equal(p.sub.GetLabels(), labels))
	}
	for c, t := range map[driver.Component]*topicSeen{driver.Topic: s.topic, driver.Queue: s.queue} {
		if t != nil {
			mark(c, !maps.Equal(t.labels, labels))
		}
	}
	if s.grant && s.fn != nil {
		// A table grant the function's variables do not name is invisible in function.tables.
		mark(DedupGrant, slices.ContainsFunc(slices.Collect(maps.Keys(s.tables)), func(name string) bool { _, named := h.Function.Tables[name]; return !named }))
	}
	if f := s.fn; f != nil {
		sc := f.fn.GetServiceConfig()
		mark(driver.Function, (email != "" && sc.GetServiceAccountEmail() != email) || !f.invokerOK ||
			sc.GetIngressSettings() != d.function(h, email, "", nil).GetServiceConfig().GetIngressSettings())
	}
	if p := s.push; p != nil {
		sub := p.sub
		uri := ""
		if s.fn != nil {
			uri = s.fn.fn.GetServiceConfig().GetUri()
		}
		_, expressible := filterOf(sub.GetFilter())
		mark(driver.Subscription, !p.agentOK || !expressible || (topic != "" && sub.GetTopic() != topic) ||
			(deadLetter != "" && sub.GetDeadLetterPolicy().GetDeadLetterTopic() != deadLetter) ||
			(uri != "" && !h.Trigger.Paused && sub.GetPushConfig().GetPushEndpoint() != uri) ||
			(email != "" && !h.Trigger.Paused && sub.GetPushConfig().GetOidcToken().GetServiceAccountEmail() != email) ||
			sub.GetExpirationPolicy().GetTtl() != nil || !maps.Equal(userLabels(sub.GetLabels()), userLabels(labels)))
	}
	return plumbing.SortComponents(out, order)
}

// nameOf recovers the handler's name from whichever component ids the state holds.
func (d *Driver) nameOf(st driver.State) string {
	if f := st.Get(driver.Function); f != "" {
		return lastPart(f)
	}
	for _, c := range []driver.Component{driver.DedupTable, driver.DeadLetter, DeadLetterSubscription, driver.Subscription, driver.Queue, driver.Topic} {
		if id := st.Get(c); id != "" {
			return spec.HandlerOf(lastPart(id))
		}
	}
	return ""
}
