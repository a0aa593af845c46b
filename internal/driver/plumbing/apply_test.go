package plumbing

import (
	"errors"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

func TestApply(t *testing.T) {
	owned := OwnedKeys{driver.Queue: {"queue_source"}}
	st := driver.State{"queue": "q", "queue_source": "src", "function": "f"}
	see := func(driver.State) (string, []driver.Component, error) {
		return "seen", []driver.Component{driver.Queue}, nil
	}
	got, err := Apply(st, owned, "none", see, func(l *Ledger, cur string) error {
		if cur != "seen" || l.Get("queue") != "" || l.Get("queue_source") != "" || l.Get("function") != "f" {
			t.Errorf("apply got %q with queue %q, source %q, function %q; want what see found, the gone queue forgotten with its key",
				cur, l.Get("queue"), l.Get("queue_source"), l.Get("function"))
		}
		l.Set("queue", "q2")
		return errors.New("later step failed")
	})
	if err == nil || got["queue"] != "q2" || got["function"] != "f" {
		t.Errorf("Apply = %v, %v; want the error with the queue it made recorded", got, err)
	}

	failed := errors.New("read failed")
	got, err = Apply(st, owned, "none", func(driver.State) (string, []driver.Component, error) { return "", nil, failed },
		func(*Ledger, string) error { t.Error("apply ran after its reads failed"); return nil })
	if !errors.Is(err, failed) || got["queue"] != "q" {
		t.Errorf("Apply with failing reads = %v, %v; want st unchanged and the error", got, err)
	}

	got, err = Apply(nil, owned, "none", func(driver.State) (string, []driver.Component, error) {
		t.Error("a state recording nothing was read")
		return "", nil, nil
	}, func(l *Ledger, cur string) error {
		if cur != "none" {
			t.Errorf("apply of a new handler got %q, want none", cur)
		}
		l.Set("function", "f")
		return nil
	})
	if err != nil || got["function"] != "f" {
		t.Errorf("Apply of a new handler = %v, %v", got, err)
	}
}

func TestObserve(t *testing.T) {
	owned := OwnedKeys{driver.Queue: {"queue_source"}}
	st := driver.State{"queue": "q", "queue_source": "src", "function": "f"}
	obs, err := Observe(st, owned, func(driver.State) (string, []driver.Component, error) {
		return "seen", []driver.Component{driver.Queue}, nil
	},
		func(left driver.State, s string) spec.Handler {
			if s != "seen" || left.Has(driver.Queue) || left["queue_source"] != "" {
				t.Errorf("handler got %q and %v; want what see found, the gone queue forgotten with its key", s, left)
			}
			return spec.Handler{Name: "h"}
		},
		func(_ driver.State, _ string, h *spec.Handler) []driver.Component {
			if h.Name != "h" {
				t.Errorf("drifted got handler %q, want the one rebuilt", h.Name)
			}
			return []driver.Component{driver.Function}
		},
		func(left driver.State) driver.Outputs { return driver.Outputs{FunctionID: left.Get(driver.Function)} })
	if err != nil || obs.Handler.Name != "h" || obs.State.Has(driver.Queue) || obs.Outputs.FunctionID != "f" ||
		len(obs.Missing) != 1 || len(obs.Drifted) != 1 || st["queue"] != "q" {
		t.Errorf("Observe = %+v, %v (input state now %v)", obs, err, st)
	}
	failed := errors.New("read failed")
	if _, err := Observe(st, owned, func(driver.State) (string, []driver.Component, error) { return "", nil, failed }, nil, nil, nil); !errors.Is(err, failed) {
		t.Errorf("Observe with failing reads: error %v", err)
	}
}
