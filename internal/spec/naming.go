package spec

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// Component names derive from the handler name and a suffix after the separator "--". Handler names
// cannot contain "--" (Validate rejects it), so a name splits at its first "--" into handler and
// suffix and no two handlers' components can collide: a handler "orders-dlq" owns "orders-dlq--queue",
// never "orders--dlq".
const Separator = "--"

// ComponentName is the name of the component of handler name with suffix ("queue" gives
// "<name>--queue").
func ComponentName(name, suffix string) string { return name + Separator + suffix }

// HandlerOf returns the handler name a component name derives from.
func HandlerOf(component string) string {
	name, _, _ := strings.Cut(component, Separator)
	return name
}

// ShortHash is a stable 8-character lowercase hash of parts, for names a cloud requires to be globally
// unique: hashing the cloud's scope (account, project or subscription, and region) with the handler's
// name keeps dev and prod apart, and lets import recompute the name.
func ShortHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:5]))
}
