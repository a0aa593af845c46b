package sbrest

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

type token string

func (t token) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if t == "" {
		return azcore.AccessToken{}, errors.New("no credential")
	}
	return azcore.AccessToken{Token: string(t)}, nil
}

// client is a Client of namespace "ns" whose every connection reaches h.
func client(t *testing.T, h http.HandlerFunc, tok token) *Client {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a test server on loopback
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		}}
	return &Client{Host: "ns." + Suffix, HTTP: &http.Client{Transport: tr}, Cred: tok}
}

// TestAnswersThatAreNotServiceBus: answers a client cannot read, and a credential that gives no
// token, are errors naming the entity and what was wrong; nothing is taken for a message or a count.
func TestAnswersThatAreNotServiceBus(t *testing.T) {
	ctx := context.Background()
	c := client(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("Authorization %q", r.Header.Get("Authorization"))
		}
		switch {
		case r.Method == http.MethodGet:
			_, _ = w.Write([]byte(`<entry><content><QueueDescription><MessageCount>1</MessageCount></QueueDescription></content></entry>`))
		case strings.HasSuffix(r.URL.Path, "/head"):
			w.Header().Set("BrokerProperties", "{oops")
			w.WriteHeader(http.StatusCreated)
		default:
			http.Error(w, "gone", http.StatusGone)
		}
	}, "tok")
	if _, _, err := c.Counts(ctx, "q"); err == nil || !strings.Contains(err.Error(), "no CountDetails") {
		t.Errorf("Counts of a description without counts = %v; want an error", err)
	}
	if m, err := c.PeekLock(ctx, "q", 0); err == nil || m != nil || !strings.Contains(err.Error(), "BrokerProperties") {
		t.Errorf("PeekLock with bad BrokerProperties = %v, %v; want an error", m, err)
	}
	var se *StatusError
	if err := c.Send(ctx, "q", Message{Body: []byte("x")}); !errors.As(err, &se) || se.Status != http.StatusGone || LockLost(err) {
		t.Errorf("Send answered 410 = %v; want a StatusError 410, not a lost lock", err)
	}
	if err := client(t, func(http.ResponseWriter, *http.Request) {}, "").Send(ctx, "q", Message{}); err == nil || !strings.Contains(err.Error(), "a token for Service Bus") {
		t.Errorf("Send without a token = %v; want an error saying so", err)
	}
}

func TestText(t *testing.T) {
	m := Message{Properties: map[string]string{"Ce-Id": `"e1"`, "attempt": "3", "raw": "plain"}}
	for name, want := range map[string]string{"ce-id": "e1", "ATTEMPT": "3", "raw": "plain"} {
		if got, ok := m.Text(name); !ok || got != want {
			t.Errorf("Text(%s) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := m.Text("missing"); ok {
		t.Error("Text of a missing property reported one")
	}
}
