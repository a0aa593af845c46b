package awslambda

import (
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// drifted lists the components present whose settings differ from what Apply makes in ways the
// handler cannot show: a policy, the wiring between components, encryption, TTL, a component's tags
// that differ from the function's. Apply puts them right.
func (d *Driver) drifted(st driver.State, s *seen, h *spec.Handler) []driver.Component {
	var out []driver.Component
	mark := func(c driver.Component, drifted bool) {
		if drifted {
			out = append(out, c)
		}
	}
	wantTags := tagsFor(h)
	for c, tags := range s.tagSets() {
		mark(c, !maps.Equal(tags, wantTags))
	}
	roleARN, queueURL, dlqURL := st.Get(driver.Identity), st.Get(driver.Queue), st.Get(driver.DeadLetter)
	queueARN, dlqARN := d.queueARN(queueURL), d.queueARN(dlqURL)
	topicARN := topicOf(st)

	if r := s.role; r != nil {
		want := rolePolicy(grants{
			logGroupARN: d.logGroupARN(accountOf(roleARN), logGroupName(h.Name)),
			queueARN:    queueARN, kmsKeyARN: st[keyQueueKMSKey], tableARN: st.Get(driver.DedupTable), tables: h.Function.Tables,
		})
		complete := queueURL != "" && st.Has(driver.DedupTable)
		mark(driver.Identity, !sameJSON(r.trust, trustPolicy()) || (complete && !sameJSON(r.policy, want)))
	}
	if f := s.fn; f != nil {
		mark(driver.Function, aws.ToString(f.cfg.Role) != roleARN && roleARN != "")
	}
	if m := s.mapping; m != nil {
		o := m.out
		mark(driver.Mapping, (queueURL != "" && aws.ToString(o.EventSourceArn) != queueARN) ||
			!hasReportFailures(o.FunctionResponseTypes) || (st.Has(driver.Function) && aws.ToString(o.FunctionArn) != st.Get(driver.Function)))
	}
	if q := s.queue; q != nil {
		target, _ := parseRedrive(q.attrs[attrRedrive])
		wrong := dlqURL != "" && target != dlqARN
		if st[keyQueueSource] == "" {
			policy := ""
			if h.Trigger.Kind == spec.Topic && topicARN != "" {
				policy = queuePolicy(queueARN, topicARN)
			}
			wrong = wrong || q.attrs[attrSSE] != "true" || !sameJSON(q.attrs[attrPolicy], policy) ||
				(s.dlq != nil && q.attrs[attrRetention] != s.dlq.attrs[attrRetention])
		}
		mark(driver.Queue, wrong)
	}
	if t := s.topic; t != nil {
		mark(driver.Topic, !t.encrypted)
	}
	if q := s.dlq; q != nil {
		mark(driver.DeadLetter, q.attrs[attrSSE] != "true")
	}
	if t := s.table; t != nil {
		mark(driver.DedupTable, !t.payPerRequest || t.ttlAttr != dedupTTL)
	}
	if sub := s.sub; sub != nil {
		_, expressible := filterOf(sub.filter)
		mark(driver.Subscription, !sub.raw || !expressible || (queueURL != "" && sub.endpoint != queueARN))
	}
	return slices.Compact(plumbing.SortComponents(out, order))
}
