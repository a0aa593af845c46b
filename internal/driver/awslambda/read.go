package awslambda

import (
	"cmp"
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// seen is what one read of the recorded components found; a nil field is a component that is gone
// or not recorded.
type seen struct {
	role       *roleSeen
	logs       *logsSeen
	fn         *fnSeen
	mapping    *mappingSeen
	queue, dlq *queueSeen
	table      *tableSeen
	topic      *topicSeen
	sub        *subSeen
}

// see reads every component st records, concurrently, once each (plus its tags where the read lacks
// them): 14 calls for a queue handler, 17 for a topic handler. It returns the components found gone.
func (d *Driver) see(ctx context.Context, st driver.State) (*seen, []driver.Component, error) {
	s := &seen{}
	reads := plumbing.NewReads(st)
	read := reads.Add
	read(driver.Identity, func(id string) (_ bool, err error) { s.role, err = d.readRole(ctx, id); return s.role != nil, err })
	read(driver.Logs, func(id string) (_ bool, err error) { s.logs, err = d.readLogGroup(ctx, id); return s.logs != nil, err })
	read(driver.Function, func(id string) (_ bool, err error) { s.fn, err = d.readFunction(ctx, id); return s.fn != nil, err })
	read(driver.Mapping, func(id string) (_ bool, err error) {
		s.mapping, err = d.readMapping(ctx, id)
		return s.mapping != nil, err
	})
	read(driver.Queue, func(id string) (_ bool, err error) {
		s.queue, err = d.readQueue(ctx, driver.Queue, id, st[keyQueueSource] == "")
		return s.queue != nil, err
	})
	read(driver.DeadLetter, func(id string) (_ bool, err error) {
		s.dlq, err = d.readQueue(ctx, driver.DeadLetter, id, true)
		return s.dlq != nil, err
	})
	read(driver.DedupTable, func(id string) (_ bool, err error) {
		s.table, err = d.readTable(ctx, driver.DedupTable, id)
		return s.table != nil, err
	})
	read(driver.Topic, func(id string) (_ bool, err error) {
		s.topic, err = d.readTopic(ctx, driver.Topic, id)
		return s.topic != nil, err
	})
	read(driver.Subscription, func(id string) (_ bool, err error) {
		s.sub, err = d.readSubscription(ctx, id)
		return s.sub != nil, err
	})

	missing, err := reads.Run(order)
	return s, missing, err
}

// Read implements driver.Driver.
func (d *Driver) Read(ctx context.Context, st driver.State) (*driver.Observed, error) {
	return plumbing.Observe(st, ownedKeys, func(st driver.State) (*seen, []driver.Component, error) { return d.see(ctx, st) },
		d.handlerOf, d.drifted, d.outputs)
}

// handlerOf rebuilds the handler from what the cloud holds.
func (d *Driver) handlerOf(st driver.State, s *seen) spec.Handler {
	h := spec.Handler{Name: d.nameOf(st), Cloud: Name}
	h.Trigger.Kind = kindOf(st)
	h.Trigger.Source = sourceOf(st)
	if f := s.fn; f != nil {
		c := f.cfg
		h.Function.Runtime = neutralRuntime(c.Runtime)
		h.Function.EntryPoint = aws.ToString(c.Handler)
		h.Function.SourceHash = f.codeHash()
		h.Function.MemoryMB = int64(aws.ToInt32(c.MemorySize))
		h.Function.TimeoutS = int64(aws.ToInt32(c.Timeout))
		h.Function.Architecture = f.arch()
		for k, v := range f.env() {
			if !strings.HasPrefix(k, spec.EnvPrefix) {
				if h.Function.Environment == nil {
					h.Function.Environment = map[string]string{}
				}
				h.Function.Environment[k] = v
			}
		}
		h.Dedup.TTLS, _ = strconv.ParseInt(f.env()[spec.EnvDedupTTL], 10, 64)
		h.Function.Tables = d.grantsOf(f.env(), s.role, st.Get(driver.Identity))
	}
	if s.logs != nil {
		h.Function.LogRetentionDays = s.logs.retention
	}
	if m := s.mapping; m != nil {
		h.Trigger.BatchSize = int64(aws.ToInt32(m.out.BatchSize))
		h.Trigger.BatchWindowS = int64(aws.ToInt32(m.out.MaximumBatchingWindowInSeconds))
		h.Trigger.Paused = mappingPaused(aws.ToString(m.out.State))
		if sc := m.out.ScalingConfig; sc != nil {
			h.Function.MaxConcurrency = int64(aws.ToInt32(sc.MaximumConcurrency))
		}
	}
	if sub := s.sub; sub != nil {
		h.Trigger.Filter, _ = filterOf(sub.filter)
	}
	if q := s.queue; q != nil {
		h.Trigger.VisibilityTimeoutS, _ = strconv.ParseInt(q.attrs[attrVisibility], 10, 64)
		_, h.Retry.MaxAttempts = parseRedrive(q.attrs[attrRedrive])
	}
	if q := s.dlq; q != nil {
		retention, _ := strconv.ParseInt(q.attrs[attrRetention], 10, 64)
		h.DeadLetter.RetentionDays = retention / 86400
	}
	h.Tags = userTagsOf(refTags(s.tagSets()))
	return h
}

// grantsOf rebuilds function.tables from the variables that locate each table and the role's policy
// (which holds the table's ARN and the access); a grant the policy lacks shows with no access.
func (d *Driver) grantsOf(env map[string]string, role *roleSeen, roleARN string) map[string]spec.TableGrant {
	var gs map[string]spec.TableGrant
	for name, v := range spec.TableStores(env) {
		var g spec.TableGrant
		if u, err := url.Parse(v); err == nil { // StoreURL's dynamodb://<table>?region=<region>
			region := cmp.Or(u.Query().Get("region"), d.region)
			g.TableID = "arn:" + d.partition + ":dynamodb:" + region + ":" + accountOf(roleARN) + ":table/" + u.Host
		}
		if role != nil {
			if id, access := grantOf(role.policy, name); id != "" {
				g = spec.TableGrant{TableID: id, Access: access}
			}
		}
		if gs == nil {
			gs = map[string]spec.TableGrant{}
		}
		gs[name] = g
	}
	return gs
}

// refTags are the handler's tags as the cloud holds them: the function's, or else those of the first
// component found in creation order.
func refTags(sets map[driver.Component]map[string]string) map[string]string {
	if t, ok := sets[driver.Function]; ok {
		return t
	}
	for _, c := range order {
		if t, ok := sets[c]; ok {
			return t
		}
	}
	return nil
}

// tagSets are the tags of every owned component found (an adopted queue's are its owner's).
func (s *seen) tagSets() map[driver.Component]map[string]string {
	m := map[driver.Component]map[string]string{}
	add := func(c driver.Component, ok bool, tags func() map[string]string) {
		if ok {
			m[c] = tags()
		}
	}
	add(driver.Function, s.fn != nil, func() map[string]string { return s.fn.tags })
	add(driver.Identity, s.role != nil, func() map[string]string { return s.role.tags })
	add(driver.Logs, s.logs != nil, func() map[string]string { return s.logs.tags })
	add(driver.Mapping, s.mapping != nil, func() map[string]string { return s.mapping.tags })
	add(driver.Queue, s.queue != nil && s.queue.tags != nil, func() map[string]string { return s.queue.tags })
	add(driver.DeadLetter, s.dlq != nil, func() map[string]string { return s.dlq.tags })
	add(driver.DedupTable, s.table != nil, func() map[string]string { return s.table.tags })
	add(driver.Topic, s.topic != nil, func() map[string]string { return s.topic.tags })
	return m
}
