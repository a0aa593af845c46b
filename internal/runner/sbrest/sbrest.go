// Package sbrest is a client of Service Bus's HTTP data plane
// (https://<namespace>.servicebus.windows.net), as the local runner and dead-letter replay use it:
// send, peek-lock, receive-and-delete, complete, abandon (unlock), and an entity's counts from its
// description. The Azure SDK's Service Bus client speaks AMQP, which no emulator here serves; the
// HTTP API carries the same messages with the same settlement. Application properties travel as
// HTTP headers whose values are JSON (a string quoted), so property names are compared without
// case.
package sbrest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Suffix is the DNS suffix of namespaces' hosts in Azure's public cloud.
const Suffix = "servicebus.windows.net"

// Scope is the token scope of the Service Bus data plane.
const Scope = "https://servicebus.azure.net/.default"

// Client reaches one namespace's data plane with an identity's bearer token.
type Client struct {
	// Host is the namespace's host, <namespace>.servicebus.windows.net.
	Host string
	HTTP *http.Client
	Cred azcore.TokenCredential
}

// Message is a message sent or received.
type Message struct {
	ID          string
	Body        []byte
	ContentType string
	// Properties are the application properties as the HTTP API carries them: JSON values (a
	// string is quoted). Text reads one as text.
	Properties     map[string]string
	DeliveryCount  int
	SequenceNumber int64
	// LockToken is set on a message received with PeekLock: Complete and Abandon need it.
	LockToken string
	// DeadLetterSource is the entity a message forwarded from a dead-letter sub-queue was
	// dead-lettered in.
	DeadLetterSource string
}

// Text is property name's value as text (a JSON string unquoted), found without case.
func (m *Message) Text(name string) (string, bool) {
	for k, v := range m.Properties {
		if strings.EqualFold(k, name) {
			var s string
			if json.Unmarshal([]byte(v), &s) == nil {
				return s, true
			}
			return v, true
		}
	}
	return "", false
}

// StatusError is an answer of the data plane other than the one expected.
type StatusError struct {
	Op, Entity string
	Status     int
	Body       string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Op, e.Entity, e.Status, strings.TrimSpace(e.Body))
}

// LockLost reports an error of a settlement whose lock had expired (or whose message was
// already settled): Service Bus answers 404, and the message was not settled.
func LockLost(err error) bool {
	e, ok := err.(*StatusError)
	return ok && e.Status == http.StatusNotFound
}

func (c *Client) do(ctx context.Context, op, method, entity, suffix string, body []byte, hdr http.Header, want ...int) (*http.Response, []byte, error) {
	u := "https://" + c.Host + "/" + entityPath(entity) + suffix
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	tok, err := c.Cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: a token for Service Bus: %w", op, entity, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", op, entity, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the answer: %w", op, entity, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, b, nil
		}
	}
	return nil, nil, &StatusError{Op: op, Entity: entity, Status: resp.StatusCode, Body: string(b)}
}

// entityPath escapes each segment of an entity path (queue, topic/subscriptions/sub, with
// /$DeadLetterQueue).
func entityPath(entity string) string {
	seg := strings.Split(strings.Trim(entity, "/"), "/")
	for i, s := range seg {
		seg[i] = url.PathEscape(s)
	}
	return strings.Join(seg, "/")
}

// Send sends m to a queue or topic; m.ID, when set, is its MessageId.
func (c *Client) Send(ctx context.Context, entity string, m Message) error {
	hdr := http.Header{}
	bp := map[string]any{}
	if m.ID != "" {
		bp["MessageId"] = m.ID
	}
	b, _ := json.Marshal(bp)
	hdr["BrokerProperties"] = []string{string(b)}
	if m.ContentType != "" {
		hdr["Content-Type"] = []string{m.ContentType}
	}
	for k, v := range m.Properties {
		hdr[k] = []string{v} // as given: the name's case is kept on the wire
	}
	_, _, err := c.do(ctx, "sending to", http.MethodPost, entity, "/messages", m.Body, hdr, http.StatusCreated)
	return err
}

// PeekLock receives the next message of entity and locks it, waiting up to wait (whole seconds)
// for one; nil when none came.
func (c *Client) PeekLock(ctx context.Context, entity string, wait time.Duration) (*Message, error) {
	return c.receive(ctx, "receiving from", http.MethodPost, entity, wait)
}

// ReceiveAndDelete receives the next message of entity and removes it, waiting up to wait; nil
// when none came.
func (c *Client) ReceiveAndDelete(ctx context.Context, entity string, wait time.Duration) (*Message, error) {
	return c.receive(ctx, "receiving (and deleting) from", http.MethodDelete, entity, wait)
}

func (c *Client) receive(ctx context.Context, op, method, entity string, wait time.Duration) (*Message, error) {
	suffix := "/messages/head?timeout=" + strconv.Itoa(int(wait/time.Second))
	resp, body, err := c.do(ctx, op, method, entity, suffix, nil, nil, http.StatusCreated, http.StatusOK, http.StatusNoContent)
	if err != nil || resp.StatusCode == http.StatusNoContent {
		return nil, err
	}
	var bp struct {
		MessageID        string `json:"MessageId"`
		LockToken        string `json:"LockToken"`
		SequenceNumber   int64  `json:"SequenceNumber"`
		DeliveryCount    int    `json:"DeliveryCount"`
		DeadLetterSource string `json:"DeadLetterSource"`
	}
	if err := json.Unmarshal([]byte(resp.Header.Get("BrokerProperties")), &bp); err != nil {
		return nil, fmt.Errorf("%s %s: BrokerProperties %q: %w", op, entity, resp.Header.Get("BrokerProperties"), err)
	}
	m := &Message{ID: bp.MessageID, Body: body, ContentType: resp.Header.Get("Content-Type"), Properties: map[string]string{},
		DeliveryCount: bp.DeliveryCount, SequenceNumber: bp.SequenceNumber, LockToken: bp.LockToken, DeadLetterSource: bp.DeadLetterSource}
	for k, v := range resp.Header {
		if !standardHeader(k) {
			m.Properties[k] = v[0]
		}
	}
	return m, nil
}

// standardHeader tells the HTTP API's and transport's headers from application properties.
func standardHeader(k string) bool {
	switch strings.ToLower(k) {
	case "brokerproperties", "content-type", "content-length", "location", "date", "server", "transfer-encoding",
		"strict-transport-security", "x-ms-request-id", "connection", "keep-alive":
		return true
	}
	return false
}

// Complete deletes a locked message: it is done.
func (c *Client) Complete(ctx context.Context, entity string, m *Message) error {
	_, _, err := c.do(ctx, "completing "+m.ID+" in", http.MethodDelete, entity, "/messages/"+url.PathEscape(m.ID)+"/"+url.PathEscape(m.LockToken), nil, nil, http.StatusOK)
	return err
}

// Abandon unlocks a locked message: it is available again, its delivery counted (and
// dead-lettered once its deliveries reach the entity's MaxDeliveryCount).
func (c *Client) Abandon(ctx context.Context, entity string, m *Message) error {
	_, _, err := c.do(ctx, "abandoning "+m.ID+" in", http.MethodPut, entity, "/messages/"+url.PathEscape(m.ID)+"/"+url.PathEscape(m.LockToken), nil, nil, http.StatusOK)
	return err
}

// Counts are an entity's active messages (locked ones included) and those in its dead-letter
// sub-queue, from its description.
func (c *Client) Counts(ctx context.Context, entity string) (active, deadLettered int64, err error) {
	_, body, err := c.do(ctx, "describing", http.MethodGet, entity, "?api-version=2021-05", nil, nil, http.StatusOK)
	if err != nil {
		return 0, 0, err
	}
	var e struct {
		Content struct {
			Description struct {
				Counts struct {
					Active *int64 `xml:"ActiveMessageCount"`
					Dead   *int64 `xml:"DeadLetterMessageCount"`
				} `xml:"CountDetails"`
			} `xml:",any"`
		} `xml:"content"`
	}
	n := &e.Content.Description.Counts
	if err := xml.Unmarshal(body, &e); err != nil || n.Active == nil || n.Dead == nil {
		return 0, 0, fmt.Errorf("describing %s: no CountDetails in %q (%v)", entity, body, err)
	}
	return *n.Active, *n.Dead, nil
}
