package gcptest

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
)

// Pull stands in for the Pub/Sub emulator where it lacks what the real service does: it stores a
// subscription's filter but delivers every message. Pull takes what the subscription holds now
// (the emulator routes a message to its subscriptions before Publish returns), acknowledges the
// messages its filter does not match, as Pub/Sub does, and returns the others unacknowledged.
func (h *Harness) Pull(ctx context.Context, subscription string) ([]*pubsubpb.ReceivedMessage, error) {
	sub, err := h.Subs.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: subscription})
	if err != nil {
		return nil, err
	}
	match, err := parseFilter(sub.GetFilter())
	if err != nil {
		return nil, fmt.Errorf("subscription %s: filter %q: %w", subscription, sub.GetFilter(), err)
	}
	out, err := h.Subs.Pull(ctx, &pubsubpb.PullRequest{Subscription: subscription, MaxMessages: 100, ReturnImmediately: true}) //nolint:staticcheck // a one-shot read of what is there is the point
	if err != nil {
		return nil, err
	}
	var kept []*pubsubpb.ReceivedMessage
	var dropped []string
	for _, m := range out.GetReceivedMessages() {
		if match(m.GetMessage().GetAttributes()) {
			kept = append(kept, m)
		} else {
			dropped = append(dropped, m.GetAckId())
		}
	}
	if len(dropped) > 0 {
		err = h.Subs.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: subscription, AckIds: dropped})
	}
	return kept, err
}

// parseFilter parses a Pub/Sub filter of the forms attributes.<key> = "v", != "v", attributes:<key>
// (has the key), with NOT, AND, OR and parentheses, and refuses AND and OR mixed without them, as
// Pub/Sub does. "" matches every message.
func parseFilter(filter string) (func(map[string]string) bool, error) {
	p := &filterParser{s: filter}
	if strings.TrimSpace(filter) == "" {
		return func(map[string]string) bool { return true }, nil
	}
	m, err := p.expr()
	if p.skip(); err == nil && p.i < len(p.s) {
		err = fmt.Errorf("unexpected %q at %d", p.s[p.i:], p.i)
	}
	return m, err
}

type filterParser struct {
	s string
	i int
}

type matcher = func(map[string]string) bool

func (p *filterParser) skip() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// word consumes w if it comes next.
func (p *filterParser) word(w string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *filterParser) expr() (matcher, error) {
	left, err := p.term()
	if err != nil {
		return nil, err
	}
	op := ""
	for {
		var next string
		switch {
		case p.word("AND "):
			next = "AND"
		case p.word("OR "):
			next = "OR"
		default:
			return left, nil
		}
		if op != "" && op != next {
			return nil, fmt.Errorf("AND and OR mixed without parentheses")
		}
		op = next
		right, err := p.term()
		if err != nil {
			return nil, err
		}
		l := left
		if op == "AND" {
			left = func(a map[string]string) bool { return l(a) && right(a) }
		} else {
			left = func(a map[string]string) bool { return l(a) || right(a) }
		}
	}
}

func (p *filterParser) term() (matcher, error) {
	switch {
	case p.word("NOT "):
		m, err := p.term()
		return func(a map[string]string) bool { return !m(a) }, err
	case p.word("("):
		m, err := p.expr()
		if err == nil && !p.word(")") {
			err = fmt.Errorf("missing ) at %d", p.i)
		}
		return m, err
	case p.word("attributes:"):
		key := p.key()
		return func(a map[string]string) bool { _, ok := a[key]; return ok }, nil
	case p.word("attributes."):
		key := p.key()
		neq := p.word("!=")
		if !neq && !p.word("=") {
			return nil, fmt.Errorf("want = or != at %d", p.i)
		}
		v, err := p.str()
		return func(a map[string]string) bool { got, ok := a[key]; return ok && (got == v) != neq }, err
	}
	return nil, fmt.Errorf("unexpected %q at %d", p.s[p.i:], p.i)
}

func (p *filterParser) key() string {
	start := p.i
	for p.i < len(p.s) && (unicode.IsLetter(rune(p.s[p.i])) || unicode.IsDigit(rune(p.s[p.i])) || p.s[p.i] == '_' || p.s[p.i] == '-') {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *filterParser) str() (string, error) {
	p.skip()
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", fmt.Errorf("want a string at %d", p.i)
	}
	var b strings.Builder
	for p.i++; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '\\' && p.i+1 < len(p.s):
			p.i++
			b.WriteByte(p.s[p.i])
		case c == '"':
			p.i++
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated string")
}
