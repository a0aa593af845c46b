package azurefake

import (
	"fmt"
	"strings"
)

// Publish sends a message with application properties props to a topic, as a producer would, and
// returns how many subscriptions took a copy: a subscription takes a message when one of its rules'
// SQL filters matches (a correlation filter never does here). The fake keeps no messages, only each
// subscription's count, which GET reports as messageCount and countDetails.activeMessageCount, as
// Service Bus does for messages nobody has received yet.
func (s *Server) Publish(topicID string, props map[string]string) (int, error) {
	s.lock()
	defer s.mu.Unlock()
	topic := s.st.get(topicID)
	if topic == nil || !strings.EqualFold(topic.typ, typeTopics) {
		return 0, fmt.Errorf("publishing to %s: no such topic", topicID)
	}
	prefix := strings.ToLower(topic.id) + "/subscriptions/"
	took := 0
	for key, sub := range s.st.res {
		if !strings.EqualFold(sub.typ, typeSubscriptions) || !strings.HasPrefix(key, prefix) {
			continue
		}
		if s.matches(sub, props) {
			n, _ := sub.extra["messages"].(int)
			sub.extra["messages"] = n + 1
			took++
		}
	}
	return took, nil
}

// matches reports whether one of sub's rules takes a message with props.
func (s *Server) matches(sub *resource, props map[string]string) bool {
	prefix := strings.ToLower(sub.id) + "/rules/"
	for key, rule := range s.st.res {
		if !strings.HasPrefix(key, prefix) || str(rule.body, "properties", "filterType") != "SqlFilter" {
			continue
		}
		if e, err := parseSQL(str(rule.body, "properties", "sqlFilter", "sqlExpression")); err == nil && e(props) {
			return true
		}
	}
	return false
}

// renderCounts adds a queue's or subscription's message counts.
func renderCounts(_ *Server, r *resource, out map[string]any) {
	n, _ := r.extra["messages"].(int)
	p := obj(out, "properties")
	p["messageCount"] = float64(n)
	p["countDetails"] = map[string]any{"activeMessageCount": float64(n), "deadLetterMessageCount": float64(0),
		"scheduledMessageCount": float64(0), "transferMessageCount": float64(0), "transferDeadLetterMessageCount": float64(0)}
}
