package azurefake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Publish sends a message with application properties props (and no body) to a topic, as a
// producer would, and returns how many subscriptions took a copy: a subscription takes a message
// when one of its rules' SQL filters matches (a correlation filter never does here). The copies
// wait in the subscriptions for the data plane (handleServiceBus) to receive them; GET reports
// them as messageCount and countDetails.
func (s *Server) Publish(topicID string, props map[string]string) (int, error) {
	s.lock()
	defer s.mu.Unlock()
	topic := s.st.get(topicID)
	if topic == nil || !strings.EqualFold(topic.typ, typeTopics) {
		return 0, fmt.Errorf("publishing to %s: no such topic", topicID)
	}
	m := sbMessage{id: newLockToken(), props: map[string]string{}}
	for k, v := range props {
		m.props[k] = strconv.Quote(v) // as the HTTP API carries a string property
	}
	took := s.enqueue(topic, m, time.Now())
	s.wake()
	return took, nil
}

// matches reports whether one of sub's rules takes a message with props (application properties
// as the HTTP API carries them: JSON values). Names are matched without case: HTTP headers, which
// carry them, are case-insensitive.
func (s *Server) matches(sub *resource, props map[string]string) bool {
	values := make(map[string]string, len(props))
	for k, v := range props {
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		values[strings.ToLower(k)] = v
	}
	prefix := strings.ToLower(sub.id) + "/rules/"
	for key, rule := range s.st.res {
		if !strings.HasPrefix(key, prefix) || str(rule.body, "properties", "filterType") != "SqlFilter" {
			continue
		}
		if e, err := parseSQL(str(rule.body, "properties", "sqlFilter", "sqlExpression")); err == nil && e(values) {
			return true
		}
	}
	return false
}

// renderCounts adds a queue's or subscription's message counts.
func renderCounts(s *Server, r *resource, out map[string]any) {
	s.settleMessages(r, time.Now())
	active, dead := len(messagesOf(r, false).msgs), len(messagesOf(r, true).msgs)
	p := obj(out, "properties")
	p["messageCount"] = float64(active + dead)
	p["countDetails"] = map[string]any{"activeMessageCount": float64(active), "deadLetterMessageCount": float64(dead),
		"scheduledMessageCount": float64(0), "transferMessageCount": float64(0), "transferDeadLetterMessageCount": float64(0)}
}

// sbOp names a data-plane request for Calls and Fault.Op.
func sbOp(r *http.Request) string {
	path := strings.ToLower(r.URL.Path)
	switch {
	case !strings.Contains(path, "/messages"):
		return "servicebus/describe"
	case strings.HasSuffix(path, "/messages") || strings.HasSuffix(path, "/messages/"):
		return "servicebus/send"
	case strings.HasSuffix(path, "/messages/head") && r.Method == http.MethodDelete:
		return "servicebus/receiveAndDelete"
	case strings.HasSuffix(path, "/messages/head"):
		return "servicebus/peekLock"
	case r.Method == http.MethodDelete:
		return "servicebus/complete"
	}
	return "servicebus/abandon"
}
