package handler

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// The environment variables the threefactor provider sets on every handler.
const (
	EnvHandler    = "THREEFACTOR_HANDLER"
	EnvCloud      = "THREEFACTOR_CLOUD"
	EnvDedupStore = "THREEFACTOR_DEDUP_STORE"
	EnvDedupTTL   = "THREEFACTOR_DEDUP_TTL_S"
	EnvTimeout    = "THREEFACTOR_TIMEOUT_S"
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
