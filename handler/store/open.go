package store

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"sync"
)

// Opener opens a store from its URL (THREEFACTOR_DEDUP_STORE).
type Opener func(ctx context.Context, u *url.URL) (Store, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// Register makes a driver available under a URL scheme. Drivers call it from
// init, so a blank import (_ ".../handler/dynamodbstore") is enough.
func Register(scheme string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("store: scheme registered twice: " + scheme)
	}
	openers[scheme] = open
}

// Open opens the store that rawURL locates, e.g. dynamodb://orders-dedup?region=eu-west-1.
func Open(ctx context.Context, rawURL string) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parsing dedup store URL %q: %w", rawURL, err)
	}
	openersMu.RLock()
	open, ok := openers[u.Scheme]
	var known []string
	for s := range openers {
		known = append(known, s)
	}
	openersMu.RUnlock()
	if !ok {
		sort.Strings(known)
		return nil, fmt.Errorf("no dedup store driver for scheme %q (registered: %v); import its package, e.g. _ \"github.com/threefactor/terraform-provider-threefactor/handler/dynamodbstore\"", u.Scheme, known)
	}
	return open(ctx, u)
}

// TableResolver is a Store that writes state to the app's tables the provider grants a handler:
// given a granted table's store URL (THREEFACTOR_TABLE_<NAME>), StateTable returns the name a
// StateWrite's Table takes, or why this store cannot write there in one transaction with its dedup
// records (another region, another database).
type TableResolver interface {
	StateTable(u *url.URL) (string, error)
}
