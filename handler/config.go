package handler

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/handler/store"
)

// The environment variables the threefactor provider sets on every handler.
const (
	EnvHandler    = "THREEFACTOR_HANDLER"
	EnvCloud      = "THREEFACTOR_CLOUD"
	EnvDedupStore = "THREEFACTOR_DEDUP_STORE"
	EnvDedupTTL   = "THREEFACTOR_DEDUP_TTL_S"
	EnvTimeout    = "THREEFACTOR_TIMEOUT_S"
	// EnvTablePrefix starts THREEFACTOR_TABLE_<NAME>: the store URL of the table granted to the
	// handler under name (function.tables), which ResolveTable reads.
	EnvTablePrefix = "THREEFACTOR_TABLE_"
	// EnvOutcomeLog = "stderr" writes an OutcomeLine per delivery to
	// standard error; local runners set it (the provider does not).
	EnvOutcomeLog = "THREEFACTOR_OUTCOME_LOG"
)

// Defaults for a function started without the provider's variables.
const (
	DefaultTTL     = 24 * time.Hour
	DefaultTimeout = 60 * time.Second
	// DefaultMargin is Options.Margin's default: with DynamoDB writes
	// taking well under a second, it allows worker clocks about 4 s apart.
	DefaultMargin = 5 * time.Second
)

// Config is what the provider injects into the function's environment.
type Config struct {
	Handler string
	Cloud   string
	// DedupStore locates the dedup store, e.g. dynamodb://<table>?region=<region>
	// or firestore://projects/<project>/databases/<database>/documents/dedup.
	DedupStore string
	// TTL is how long a dedup record counts after it is written.
	TTL time.Duration
	// Timeout is the function's timeout: a claim lapses after it (or
	// earlier, at the invocation's deadline).
	Timeout time.Duration
	// OutcomeLog: write an OutcomeLine per delivery to standard error.
	OutcomeLog bool
}

// ConfigFromEnv reads Config from the environment.
func ConfigFromEnv() (Config, error) {
	c := Config{
		Handler:    os.Getenv(EnvHandler),
		Cloud:      os.Getenv(EnvCloud),
		DedupStore: os.Getenv(EnvDedupStore),
		TTL:        DefaultTTL,
		Timeout:    DefaultTimeout,
	}
	if c.DedupStore == "" {
		return c, fmt.Errorf("%s is not set: deploy the function with threefactor_eventhandler, or set it (e.g. mem:// in tests)", EnvDedupStore)
	}
	var err error
	if c.TTL, err = seconds(EnvDedupTTL, DefaultTTL); err != nil {
		return c, err
	}
	if c.Timeout, err = seconds(EnvTimeout, DefaultTimeout); err != nil {
		return c, err
	}
	switch v := os.Getenv(EnvOutcomeLog); v {
	case "":
	case "stderr":
		c.OutcomeLog = true
	default:
		return c, fmt.Errorf("%s=%q: the only value is stderr (or unset, for no outcome log)", EnvOutcomeLog, v)
	}
	return c, nil
}

func seconds(name string, def time.Duration) (time.Duration, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive number of seconds", name, s)
	}
	return time.Duration(n) * time.Second, nil
}

// ResolveTable returns the name under which store s writes state to the table the provider granted
// the handler as name (function.tables = { <name> = ... }), from THREEFACTOR_TABLE_<NAME>.
func ResolveTable(s store.Store, name string) (string, error) {
	env := EnvTablePrefix + strings.ToUpper(name)
	raw := os.Getenv(env)
	if raw == "" {
		return "", fmt.Errorf("%s is not set: grant the table to the handler with function.tables = { %s = { table_id = ..., access = \"read_write\" } }", env, name)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s=%q: %w", env, raw, err)
	}
	r, ok := s.(store.TableResolver)
	if !ok {
		return "", fmt.Errorf("%s: the dedup store (%T) cannot write to granted tables", env, s)
	}
	t, err := r.StateTable(u)
	if err != nil {
		return "", fmt.Errorf("%s: %w", env, err)
	}
	return t, nil
}
