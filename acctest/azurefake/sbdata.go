package azurefake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServiceBusSuffix is the DNS suffix of Service Bus namespaces: the fake serves the data plane of
// namespace <ns> at https://<ns>.servicebus.windows.net.
const ServiceBusSuffix = "servicebus.windows.net"

// deadLetterQueue is the path segment of an entity's dead-letter sub-queue.
const deadLetterQueue = "$deadletterqueue"

// sbMessage is a message held by a queue or subscription.
type sbMessage struct {
	id, contentType string
	body            []byte
	props           map[string]string // application properties, as the HTTP API sends them (JSON values)
	seq             int64
	enqueued        time.Time
	expires         time.Time // zero: never
	deliveries      int
	lockToken       string
	lockedUntil     time.Time // zero: not locked
	deadLetterFrom  string
}

// sbQueue is the messages of an entity: its own, or its dead-letter sub-queue's.
type sbQueue struct{ msgs []*sbMessage }

// messagesOf returns r's message store (its dead-letter sub-queue's with dl), made on first use.
func messagesOf(r *resource, dl bool) *sbQueue {
	key := "messages"
	if dl {
		key = "deadLetters"
	}
	q, ok := r.extra[key].(*sbQueue)
	if !ok {
		q = &sbQueue{}
		r.extra[key] = q
	}
	return q
}

// entityProp reads a queue's or subscription's property, with its default.
func entityProp(r *resource, name string) string { return str(r.body, "properties", name) }

// enqueue puts a copy of m in the entity r (a queue or a topic, whose subscriptions take it through
// their rules) and returns how many queues or subscriptions took it. Callers hold the lock.
func (s *Server) enqueue(r *resource, m sbMessage, now time.Time) int {
	if strings.EqualFold(r.typ, typeTopics) {
		prefix := strings.ToLower(r.id) + "/subscriptions/"
		took := 0
		for key, sub := range s.st.res {
			if strings.EqualFold(sub.typ, typeSubscriptions) && strings.HasPrefix(key, prefix) && s.matches(sub, m.props) {
				took += s.enqueue(sub, m, now)
			}
		}
		return took
	}
	c := m
	c.props = map[string]string{}
	for k, v := range m.props {
		c.props[k] = v
	}
	c.seq, c.enqueued, c.deliveries, c.lockToken, c.lockedUntil = s.next(), now, 0, "", time.Time{}
	ttl, _ := parseISODuration(entityProp(r, "defaultMessageTimeToLive"))
	if exp := now.Add(ttl); ttl > 0 && (c.expires.IsZero() || exp.Before(c.expires)) {
		c.expires = exp
	}
	q := messagesOf(r, false)
	q.msgs = append(q.msgs, &c)
	return 1
}

// deadLetter moves m out of r: to the entity r forwards dead letters to, else to r's dead-letter
// sub-queue. Callers hold the lock and remove m from r.
func (s *Server) deadLetter(r *resource, m *sbMessage, reason string, now time.Time) {
	m.props["DeadLetterReason"] = strconv.Quote(reason)
	if m.deadLetterFrom == "" {
		m.deadLetterFrom = r.name
	}
	if to := entityProp(r, "forwardDeadLetteredMessagesTo"); to != "" {
		base := namespaceIDOf(r.id)
		for _, t := range []string{"/queues/", "/topics/"} {
			if target := s.st.get(base + t + to); target != nil {
				s.enqueue(target, *m, now)
				return
			}
		}
	}
	c := *m
	c.lockToken, c.lockedUntil, c.seq = "", time.Time{}, s.next()
	dl := messagesOf(r, true)
	dl.msgs = append(dl.msgs, &c)
}

// namespaceIDOf is the namespace id an entity id is under.
func namespaceIDOf(id string) string {
	l := strings.ToLower(id)
	for _, t := range []string{"/queues/", "/topics/"} {
		if i := strings.Index(l, t); i >= 0 {
			return id[:i]
		}
	}
	return id
}

// settleMessages applies what time did to r's messages: an expired lock is an abandon (the
// message is available again, or dead-lettered once its deliveries reach MaxDeliveryCount), an
// expired message is dropped (or dead-lettered with deadLetteringOnMessageExpiration). Callers
// hold the lock. It returns when the next lock or message expires (zero: never).
func (s *Server) settleMessages(r *resource, now time.Time) time.Time {
	q := messagesOf(r, false)
	var next time.Time
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if !m.lockedUntil.IsZero() && !now.Before(m.lockedUntil) {
			m.lockToken, m.lockedUntil = "", time.Time{}
			if s.exhausted(r, m) {
				s.deadLetter(r, m, "MaxDeliveryCountExceeded", now)
				continue
			}
		}
		if m.lockedUntil.IsZero() && !m.expires.IsZero() && !now.Before(m.expires) {
			if b, _ := boolean(r.body, "properties", "deadLetteringOnMessageExpiration"); b {
				s.deadLetter(r, m, "TTLExpiredException", now)
			}
			continue
		}
		for _, at := range []time.Time{m.lockedUntil, m.expires} {
			if !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
		kept = append(kept, m)
	}
	clear(q.msgs[len(kept):])
	q.msgs = kept
	dl := messagesOf(r, true)
	for _, m := range dl.msgs {
		if !m.lockedUntil.IsZero() && !now.Before(m.lockedUntil) {
			m.lockToken, m.lockedUntil = "", time.Time{}
		}
	}
	return next
}

// exhausted reports whether m has had MaxDeliveryCount deliveries.
func (s *Server) exhausted(r *resource, m *sbMessage) bool {
	limit, ok := number(r.body, "properties", "maxDeliveryCount")
	return ok && float64(m.deliveries) >= limit
}

// sbTarget is an entity the data plane addresses.
type sbTarget struct {
	r  *resource
	dl bool // its dead-letter sub-queue
}

// sbResolve finds the entity of path (<queue>, <topic> or <topic>/subscriptions/<sub>, each
// optionally followed by /$DeadLetterQueue) in namespace ns. Callers hold the lock.
func (s *Server) sbResolve(ns, path string) (sbTarget, *armError) {
	var nsRes *resource
	for _, r := range s.st.res {
		if strings.EqualFold(r.typ, typeNamespaces) && strings.EqualFold(r.name, ns) {
			nsRes = r
		}
	}
	if nsRes == nil {
		return sbTarget{}, errf(http.StatusNotFound, "NamespaceNotFound", "No Service Bus namespace %q.", ns)
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	var t sbTarget
	if n := len(seg); n > 1 && strings.EqualFold(seg[n-1], deadLetterQueue) {
		t.dl, seg = true, seg[:n-1]
	}
	var id string
	switch {
	case len(seg) == 1 && seg[0] != "":
		if r := s.st.get(nsRes.id + "/queues/" + seg[0]); r != nil {
			t.r = r
			return t, nil
		}
		id = nsRes.id + "/topics/" + seg[0]
	case len(seg) == 3 && strings.EqualFold(seg[1], "subscriptions"):
		id = nsRes.id + "/topics/" + seg[0] + "/subscriptions/" + seg[2]
	default:
		return sbTarget{}, errf(http.StatusBadRequest, "BadRequest", "%q is not a queue, topic or subscription path.", path)
	}
	if t.r = s.st.get(id); t.r == nil || (t.dl && strings.EqualFold(t.r.typ, typeTopics)) {
		return sbTarget{}, errf(http.StatusGone, "MessagingEntityNotFound", "The messaging entity '%s' could not be found.", path)
	}
	return t, nil
}

// handleServiceBus serves the Service Bus HTTP data plane at https://<ns>.servicebus.windows.net:
// send (POST <entity>/messages), peek-lock (POST <entity>/messages/head?timeout=N), receive and
// delete (DELETE <entity>/messages/head), complete (DELETE <entity>/messages/<id>/<lock>),
// abandon (PUT <entity>/messages/<id>/<lock>) and the entity's description with its counts (GET
// <entity>). Callers hold the lock; a receive that waits gives it up meanwhile.
func (s *Server) handleServiceBus(c *call, ns string) *reply {
	if e := s.authorize(c.r); e != nil {
		return errReply(e)
	}
	path := strings.Trim(c.r.URL.Path, "/")
	entity, rest, _ := strings.Cut(path, "/messages")
	if c.r.Method == http.MethodGet && !strings.Contains(path, "/messages") {
		return s.describeEntity(ns, path)
	}
	t, e := s.sbResolve(ns, entity)
	if e != nil {
		return errReply(e)
	}
	status := entityProp(t.r, "status")
	rest = strings.Trim(rest, "/")
	switch {
	case rest == "" && c.r.Method == http.MethodPost:
		return s.sbSend(c, t, status)
	case rest == "head" && (c.r.Method == http.MethodPost || c.r.Method == http.MethodDelete):
		if !t.dl && (status == "ReceiveDisabled" || status == "Disabled") {
			return errReply(errf(http.StatusForbidden, "MessagingEntityDisabled", "The messaging entity '%s' is %s: receiving is not allowed.", entity, status))
		}
		return s.sbReceive(c, t, c.r.Method == http.MethodDelete)
	case strings.Count(rest, "/") == 1 && (c.r.Method == http.MethodDelete || c.r.Method == http.MethodPut):
		id, lock, _ := strings.Cut(rest, "/")
		return s.sbSettle(t, id, lock, c.r.Method == http.MethodDelete)
	}
	return errReply(errf(http.StatusNotFound, "NotFound", "No route for %s %s on the Service Bus data plane.", c.r.Method, c.r.URL.Path))
}

func (s *Server) sbSend(c *call, t sbTarget, status string) *reply {
	if t.dl || strings.EqualFold(t.r.typ, typeSubscriptions) {
		return errReply(badRequest("BadRequest", "Messages are sent to a queue or a topic, not to %s.", t.r.name))
	}
	if status == "SendDisabled" || status == "Disabled" {
		return errReply(errf(http.StatusForbidden, "MessagingEntityDisabled", "The messaging entity '%s' is %s: sending is not allowed.", t.r.name, status))
	}
	var bp struct {
		MessageID  string  `json:"MessageId"`
		TimeToLive float64 `json:"TimeToLive"`
	}
	if h := c.r.Header.Get("BrokerProperties"); h != "" {
		if err := json.Unmarshal([]byte(h), &bp); err != nil {
			return errReply(badRequest("BadRequest", "BrokerProperties is not a JSON object: %v.", err))
		}
	}
	now := time.Now()
	m := sbMessage{id: bp.MessageID, contentType: c.r.Header.Get("Content-Type"), body: c.body, props: map[string]string{}}
	if m.id == "" {
		m.id = newLockToken()
	}
	if bp.TimeToLive > 0 {
		m.expires = now.Add(time.Duration(bp.TimeToLive * float64(time.Second)))
	}
	for k, v := range c.r.Header {
		if isCustomProperty(k) {
			m.props[k] = v[0]
		}
	}
	s.enqueue(t.r, m, now)
	s.wake()
	return &reply{status: http.StatusCreated}
}

// isCustomProperty tells an application property from the HTTP API's own and transport headers.
func isCustomProperty(h string) bool {
	switch strings.ToLower(h) {
	case "authorization", "brokerproperties", "content-type", "content-length", "user-agent", "accept", "accept-encoding",
		"x-ms-version", "x-ms-client-request-id", "traceparent", "connection", "host":
		return false
	}
	return true
}

// sbReceive takes the first available message, locked for the entity's lock duration (or removed,
// with remove), waiting up to the request's timeout (60 s by default, as Service Bus) for one.
func (s *Server) sbReceive(c *call, t sbTarget, remove bool) *reply {
	wait := 60 * time.Second
	if v := c.r.URL.Query().Get("timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errReply(badRequest("BadRequest", "timeout %q: whole seconds.", v))
		}
		wait = time.Duration(n) * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		now := time.Now()
		next := s.settleMessages(t.r, now)
		q := messagesOf(t.r, t.dl)
		for i, m := range q.msgs {
			if !m.lockedUntil.IsZero() {
				continue
			}
			if remove {
				q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
				m.deliveries++
				return sbMessageReply(http.StatusOK, m, "")
			}
			lock, _ := parseISODuration(entityProp(t.r, "lockDuration"))
			m.deliveries++
			m.lockToken, m.lockedUntil = newLockToken(), now.Add(lock)
			loc := "https://" + c.r.Host + "/" + strings.Trim(c.r.URL.Path, "/")
			loc = strings.TrimSuffix(loc, "/head") + "/" + m.id + "/" + m.lockToken
			return sbMessageReply(http.StatusCreated, m, loc)
		}
		if !now.Before(deadline) {
			return &reply{status: http.StatusNoContent}
		}
		until := deadline
		if !next.IsZero() && next.Before(until) {
			until = next
		}
		wake := s.sbWake
		s.mu.Unlock()
		timer := time.NewTimer(time.Until(until))
		select {
		case <-wake:
		case <-timer.C:
		case <-c.r.Context().Done():
		}
		timer.Stop()
		s.lock()
		if c.r.Context().Err() != nil {
			return &reply{status: http.StatusNoContent}
		}
		if s.st.get(t.r.id) == nil {
			return errReply(errf(http.StatusGone, "MessagingEntityNotFound", "The messaging entity '%s' was deleted.", t.r.name))
		}
	}
}

// sbSettle completes (remove) or abandons the message id locked with lock. A lock that expired or
// was never given answers 404, as Service Bus does: the message is not settled.
func (s *Server) sbSettle(t sbTarget, id, lock string, remove bool) *reply {
	now := time.Now()
	s.settleMessages(t.r, now)
	q := messagesOf(t.r, t.dl)
	for i, m := range q.msgs {
		if m.lockToken == "" || !strings.EqualFold(m.lockToken, lock) || (m.id != id && strconv.FormatInt(m.seq, 10) != id) {
			continue
		}
		m.lockToken, m.lockedUntil = "", time.Time{}
		switch {
		case remove:
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
		case !t.dl && s.exhausted(t.r, m):
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			s.deadLetter(t.r, m, "MaxDeliveryCountExceeded", now)
		}
		s.wake()
		return &reply{status: http.StatusOK}
	}
	return errReply(errf(http.StatusNotFound, "MessageLockLost", "No message %s is locked with lock token %s: the lock expired, or the message was settled.", id, lock))
}

// sbMessageReply answers a received message: its body, BrokerProperties, and each application
// property as a header.
func sbMessageReply(status int, m *sbMessage, location string) *reply {
	bp := map[string]any{
		"MessageId": m.id, "SequenceNumber": m.seq, "DeliveryCount": m.deliveries,
		"EnqueuedTimeUtc": m.enqueued.UTC().Format(http.TimeFormat), "State": "Active",
	}
	if m.lockToken != "" {
		bp["LockToken"], bp["LockedUntilUtc"] = m.lockToken, m.lockedUntil.UTC().Format(http.TimeFormat)
	}
	if m.deadLetterFrom != "" {
		bp["DeadLetterSource"] = m.deadLetterFrom
	}
	h := http.Header{}
	b, _ := json.Marshal(bp)
	h.Set("BrokerProperties", string(b))
	if m.contentType != "" {
		h.Set("Content-Type", m.contentType)
	}
	if location != "" {
		h.Set("Location", location)
	}
	for k, v := range m.props {
		h.Set(k, v)
	}
	return &reply{status: status, header: h, body: append([]byte{}, m.body...)}
}

// describeEntity answers GET <entity> as Service Bus's ATOM entity description, with what a client
// reads to know whether an entity is drained: MessageCount, CountDetails and Status.
func (s *Server) describeEntity(ns, path string) *reply {
	t, e := s.sbResolve(ns, path)
	if e != nil || t.dl {
		return &reply{status: http.StatusNotFound}
	}
	s.settleMessages(t.r, time.Now())
	active, dead := len(messagesOf(t.r, false).msgs), len(messagesOf(t.r, true).msgs)
	kind := map[string]string{typeQueues: "QueueDescription", typeTopics: "TopicDescription", typeSubscriptions: "SubscriptionDescription"}[t.r.typ]
	body := fmt.Sprintf(`<entry xmlns="http://www.w3.org/2005/Atom"><title type="text">%s</title><content type="application/xml">`+
		`<%s xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">`+
		`<MessageCount>%d</MessageCount><Status>%s</Status>`+
		`<CountDetails xmlns:d2p1="http://schemas.microsoft.com/netservices/2011/06/servicebus"><d2p1:ActiveMessageCount>%d</d2p1:ActiveMessageCount>`+
		`<d2p1:DeadLetterMessageCount>%d</d2p1:DeadLetterMessageCount><d2p1:ScheduledMessageCount>0</d2p1:ScheduledMessageCount>`+
		`<d2p1:TransferMessageCount>0</d2p1:TransferMessageCount><d2p1:TransferDeadLetterMessageCount>0</d2p1:TransferDeadLetterMessageCount></CountDetails>`+
		`</%s></content></entry>`, t.r.name, kind, active+dead, entityProp(t.r, "status"), active, dead, kind)
	h := http.Header{}
	h.Set("Content-Type", "application/atom+xml;type=entry;charset=utf-8")
	return &reply{status: http.StatusOK, header: h, body: []byte(body)}
}

// wake lets waiting receives look again. Callers hold the lock.
func (s *Server) wake() {
	close(s.sbWake)
	s.sbWake = make(chan struct{})
}

func newLockToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
