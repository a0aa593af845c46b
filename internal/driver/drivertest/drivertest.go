// Package drivertest is the conformance suite every driver runs: the behaviour the provider relies on,
// checked against the driver's real cloud (or its emulator) through a Harness.
package drivertest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Harness gives the suite a driver and the powers a test needs beyond it.
type Harness interface {
	// Driver returns the driver under test, configured against a clean cloud.
	Driver() driver.Driver
	// Cloud describes the cloud the driver realises: the suite takes its components and its fixture
	// values from it.
	Cloud() *driver.Cloud
	// Code returns a valid code package for spec's runtime "nodejs22".
	Code() *driver.Code
	// Remove deletes component c of the handler recorded in st behind the driver's back.
	Remove(ctx context.Context, st driver.State, c driver.Component) error
	// Leftovers lists every resource the cloud holds (in a form useful in a failure message), so a
	// test can assert that nothing leaked; sources made by ExistingSource are not listed.
	Leftovers(ctx context.Context) ([]string, error)
	// FailCreate makes the next attempt to create component c fail with a non-retryable error.
	FailCreate(c driver.Component)
	// ExistingSource creates a queue or topic that no handler owns and returns its id.
	ExistingSource(ctx context.Context, kind spec.TriggerKind) (string, error)
	// Close releases what the harness holds.
	Close()
}

// HarnessMaker makes a fresh harness for each test.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// Handler returns a valid handler for cloud c with every default applied, as the provider passes one.
func Handler(name string, c *driver.Cloud) *spec.Handler {
	h := &spec.Handler{
		Name:  name,
		Cloud: c.Name,
		Function: spec.Function{
			Runtime: "nodejs22", SourceDir: "src",
			Environment:       map[string]string{"TABLE": "orders"},
			SecretEnvironment: map[string]string{"API_KEY": "s3cret"},
		},
		Trigger: spec.Trigger{Kind: spec.Queue},
		Tags:    map[string]string{"team": "orders"},
	}
	c.Rules.Fill(h)
	return h
}

// Changed returns h with every setting the cloud has changed to another valid value, for updates in place.
func Changed(h *spec.Handler, c *driver.Cloud) *spec.Handler {
	r := c.Rules
	w := *h
	w.Function.MemoryMB = other(r.MemoryMB, r.MemorySizes, h.Function.MemoryMB)
	w.Function.TimeoutS = other(r.TimeoutS, nil, h.Function.TimeoutS)
	if r.Supports("function.architecture") {
		w.Function.Architecture = r.Architectures[(slices.Index(r.Architectures, h.Function.Architecture)+1)%len(r.Architectures)]
	}
	if r.Supports("function.log_retention_days") {
		w.Function.LogRetentionDays = other(spec.Range{Min: r.LogRetention[0], Max: r.LogRetention[len(r.LogRetention)-1]}, r.LogRetention, h.Function.LogRetentionDays)
	}
	w.Function.Environment = map[string]string{"TABLE": "orders-v2", "MODE": "fast"}
	w.Function.SecretEnvironment = nil
	if r.Supports("function.max_concurrency") {
		w.Function.MaxConcurrency = r.MaxConcurrency.Min + 3
	}
	if r.Supports("trigger.batch_window_s") {
		w.Trigger.BatchWindowS = other(r.BatchWindowS, nil, h.Trigger.BatchWindowS)
	}
	if r.Supports("trigger.batch_size") {
		w.Trigger.BatchSize = other(r.BatchSize, nil, h.Trigger.BatchSize)
	}
	w.Trigger.VisibilityTimeoutS = other(r.VisibilityTimeoutS, nil, h.Trigger.VisibilityTimeoutS)
	w.Trigger.Paused = !h.Trigger.Paused
	w.Retry.MaxAttempts = other(r.MaxAttempts, nil, h.Retry.MaxAttempts)
	if r.Supports("retry.min_backoff_s") {
		w.Retry.MinBackoffS = other(r.MinBackoffS, nil, h.Retry.MinBackoffS)
	}
	w.DeadLetter.RetentionDays = other(r.RetentionDays, nil, h.DeadLetter.RetentionDays)
	w.Dedup.TTLS = other(r.DedupTTLS, nil, h.Dedup.TTLS)
	w.Tags = map[string]string{"team": "payments", "tier": "1"}
	return &w
}

// other returns a value other than v within r (and among sizes, when set): the size above, or the
// value below v (emulators cap some limits below the cloud's: lower stays within both), else above;
// v itself where the cloud allows no other.
func other(r spec.Range, sizes []int64, v int64) int64 {
	if sizes != nil {
		i := slices.Index(sizes, v)
		if i+1 < len(sizes) && r.Contains(sizes[i+1]) {
			return sizes[i+1]
		}
		return sizes[max(i-1, 0)]
	}
	switch {
	case v-1 > 0 && r.Contains(v-1):
		return v - 1
	case r.Contains(v + 1):
		return v + 1
	}
	return v // the cloud allows one value only
}

// RunConformanceTests runs the suite.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	// One harness tells what the cloud has and what the harness can do.
	probe, err := newHarness(context.Background(), t)
	if err != nil {
		t.Fatal(err)
	}
	cloud := probe.Cloud()
	_, canLose := probe.(ResponseLoser)
	probe.Close()

	t.Run("CreateReadDelete", func(t *testing.T) { withHarness(t, newHarness, testCreateReadDelete) })
	t.Run("UpdateInPlace", func(t *testing.T) { withHarness(t, newHarness, testUpdateInPlace) })
	t.Run("TriggerKindSwap", func(t *testing.T) { withHarness(t, newHarness, testTriggerKindSwap) })
	t.Run("Drift", func(t *testing.T) { withHarness(t, newHarness, testDrift) })
	t.Run("FailedCreateLeavesState", func(t *testing.T) { withHarness(t, newHarness, testFailedCreate) })
	t.Run("DeleteTwice", func(t *testing.T) { withHarness(t, newHarness, testDeleteTwice) })
	t.Run("Locate", func(t *testing.T) { withHarness(t, newHarness, testLocate) })
	t.Run("ExistingSource", func(t *testing.T) { withHarness(t, newHarness, testExistingSource) })
	if canLose { // else the driver's own tests cover what its harness can
		t.Run("LostCreateResponse", func(t *testing.T) { testLostCreateResponse(t, newHarness, cloud) })
	}
	if cloud.Rules.Topics != nil {
		runPartsTests(t, newHarness)
	}
}

// ResponseLoser is a harness that can make the next create of a component take effect and lose
// its response, as a dropped connection does; LostCreateResponse runs on harnesses that are one.
type ResponseLoser interface {
	LoseCreateResponse(c driver.Component)
}

func withHarness(t *testing.T, newHarness HarnessMaker, f func(context.Context, *testing.T, Harness)) {
	ctx := context.Background()
	h, err := newHarness(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	f(ctx, t, h)
}

// wantComponents is what a handler of a kind with no existing source is made of on h's cloud.
func wantComponents(h Harness, kind spec.TriggerKind) []driver.Component {
	cs := slices.Clone(h.Cloud().Needs(&spec.Handler{Trigger: spec.Trigger{Kind: kind}}))
	slices.Sort(cs)
	return cs
}

func components(h Harness, st driver.State) []driver.Component {
	var cs []driver.Component
	for _, c := range h.Cloud().Order() {
		if st.Has(c) {
			cs = append(cs, c)
		}
	}
	slices.Sort(cs)
	return cs
}

func apply(ctx context.Context, t *testing.T, h Harness, want *spec.Handler, st driver.State) (driver.State, driver.Outputs) {
	t.Helper()
	st, out, err := h.Driver().Apply(ctx, want, h.Code(), st)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return st, out
}

func read(ctx context.Context, t *testing.T, h Harness, st driver.State) *driver.Observed {
	t.Helper()
	obs, err := h.Driver().Read(ctx, st)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return obs
}

// checkObserved compares what Read saw with what was applied, less what the cloud cannot know.
func checkObserved(t *testing.T, obs *driver.Observed, want *spec.Handler) {
	t.Helper()
	w := *want
	w.Function.SourceDir, w.Function.SourceZip = "", ""
	env := maps.Clone(w.Function.Environment)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, w.Function.SecretEnvironment)
	w.Function.Environment, w.Function.SecretEnvironment = env, nil
	got := obs.Handler
	if got.Function.Environment == nil {
		got.Function.Environment = map[string]string{}
	}
	got.Function.SecretEnvironment = nil
	if diff := cmp.Diff(w, got); diff != "" {
		t.Errorf("Read returned a handler different from the one applied (-want +got):\n%s", diff)
	}
	if len(obs.Missing) != 0 {
		t.Errorf("Read: Missing = %v, want none", obs.Missing)
	}
	if len(obs.Drifted) != 0 {
		t.Errorf("Read after Apply: Drifted = %v, want none", obs.Drifted)
	}
}

func checkNoLeftovers(ctx context.Context, t *testing.T, h Harness) {
	t.Helper()
	left, err := h.Leftovers(ctx)
	if err != nil {
		t.Fatalf("Leftovers: %v", err)
	}
	if len(left) != 0 {
		t.Errorf("resources left in the cloud: %v", left)
	}
}

func testCreateReadDelete(ctx context.Context, t *testing.T, h Harness) {
	for _, kind := range []spec.TriggerKind{spec.Queue, spec.Topic} {
		want := Handler("crd-"+string(kind), h.Cloud())
		want.Trigger.Kind = kind
		want.Function.SourceHash = h.Code().Hash
		st, out := apply(ctx, t, h, want, nil)
		if got := components(h, st); !slices.Equal(got, wantComponents(h, kind)) {
			t.Errorf("%s: Apply state has components %v, want %v", kind, got, wantComponents(h, kind))
		}
		for name, v := range map[string]string{"FunctionID": out.FunctionID, "TriggerSourceID": out.TriggerSourceID,
			"PublishTarget": out.PublishTarget, "DeadLetterID": out.DeadLetterID, "DedupTableID": out.DedupTableID, "IdentityID": out.IdentityID} {
			if v == "" {
				t.Errorf("%s: Apply: Outputs.%s is empty", kind, name)
			}
		}
		obs := read(ctx, t, h, st)
		checkObserved(t, obs, want)
		if obs.Outputs != out {
			t.Errorf("%s: Read outputs = %+v, want Apply's %+v", kind, obs.Outputs, out)
		}
		if left, err := h.Driver().Delete(ctx, st); err != nil || len(left) != 0 {
			t.Fatalf("%s: Delete = %v, %v; want nothing left", kind, left, err)
		}
		obs = read(ctx, t, h, st)
		slices.Sort(obs.Missing)
		if !slices.Equal(obs.Missing, wantComponents(h, kind)) {
			t.Errorf("%s: Read after Delete: Missing = %v, want %v", kind, obs.Missing, wantComponents(h, kind))
		}
		checkNoLeftovers(ctx, t, h)
	}
}

func testUpdateInPlace(ctx context.Context, t *testing.T, h Harness) {
	want := Handler("update", h.Cloud())
	want.Function.SourceHash = h.Code().Hash
	st, out := apply(ctx, t, h, want, nil)

	want = Changed(want, h.Cloud())
	st2, out2 := apply(ctx, t, h, want, st)
	if out2 != out {
		t.Errorf("Apply of in-place changes changed outputs: got %+v, want %+v", out2, out)
	}
	for _, c := range h.Cloud().Order() {
		if st2.Get(c) != st.Get(c) {
			t.Errorf("Apply of in-place changes replaced %s: %q, was %q", c, st2.Get(c), st.Get(c))
		}
	}
	checkObserved(t, read(ctx, t, h, st2), want)
	if _, err := h.Driver().Delete(ctx, st2); err != nil {
		t.Fatal(err)
	}
	checkNoLeftovers(ctx, t, h)
}

func testTriggerKindSwap(ctx context.Context, t *testing.T, h Harness) {
	want := Handler("swap", h.Cloud())
	want.Function.SourceHash = h.Code().Hash
	st, _ := apply(ctx, t, h, want, nil)

	want.Trigger.Kind = spec.Topic
	st2, _ := apply(ctx, t, h, want, st)
	if got := components(h, st2); !slices.Equal(got, wantComponents(h, spec.Topic)) {
		t.Errorf("after swap to topic: components %v, want %v", got, wantComponents(h, spec.Topic))
	}
	for _, c := range []driver.Component{driver.Function, driver.DedupTable, driver.DeadLetter, driver.Identity} {
		if st2.Get(c) != st.Get(c) {
			t.Errorf("swap to topic replaced %s: %q, was %q", c, st2.Get(c), st.Get(c))
		}
	}
	checkObserved(t, read(ctx, t, h, st2), want)

	want.Trigger.Kind = spec.Queue
	st3, _ := apply(ctx, t, h, want, st2)
	if got := components(h, st3); !slices.Equal(got, wantComponents(h, spec.Queue)) {
		t.Errorf("after swap back to queue: components %v, want %v", got, wantComponents(h, spec.Queue))
	}
	checkObserved(t, read(ctx, t, h, st3), want)
	if _, err := h.Driver().Delete(ctx, st3); err != nil {
		t.Fatal(err)
	}
	checkNoLeftovers(ctx, t, h)
}

func testDrift(ctx context.Context, t *testing.T, h Harness) {
	want := Handler("drift", h.Cloud())
	want.Trigger.Kind = spec.Topic
	want.Function.SourceHash = h.Code().Hash
	st, _ := apply(ctx, t, h, want, nil)
	for _, c := range wantComponents(h, spec.Topic) {
		t.Run(string(c), func(t *testing.T) {
			if err := h.Remove(ctx, st, c); err != nil {
				t.Fatalf("Remove(%s): %v", c, err)
			}
			obs := read(ctx, t, h, st)
			if !slices.Contains(obs.Missing, c) {
				t.Fatalf("Read after removing %s: Missing = %v, want it listed", c, obs.Missing)
			}
			if obs.State.Has(c) {
				t.Errorf("Read after removing %s: state still records it", c)
			}
			st2, _ := apply(ctx, t, h, want, obs.State)
			if got := components(h, st2); !slices.Equal(got, wantComponents(h, spec.Topic)) {
				t.Errorf("Apply after removing %s: components %v, want %v", c, got, wantComponents(h, spec.Topic))
			}
			for _, other := range wantComponents(h, spec.Topic) {
				// Removing the function or the queue takes the mapping and subscription with it on some clouds.
				if other != c && obs.State.Has(other) && st2.Get(other) != st.Get(other) {
					t.Errorf("Apply after removing %s replaced %s too", c, other)
				}
			}
			checkObserved(t, read(ctx, t, h, st2), want)
			st = st2
		})
	}
	if _, err := h.Driver().Delete(ctx, st); err != nil {
		t.Fatal(err)
	}
	checkNoLeftovers(ctx, t, h)
}

func testFailedCreate(ctx context.Context, t *testing.T, h Harness) {
	for _, c := range wantComponents(h, spec.Topic) {
		t.Run(string(c), func(t *testing.T) {
			want := Handler("fail", h.Cloud())
			want.Trigger.Kind = spec.Topic
			want.Function.SourceHash = h.Code().Hash
			h.FailCreate(c)
			st, _, err := h.Driver().Apply(ctx, want, h.Code(), nil)
			if err == nil {
				t.Fatalf("Apply with %s failing: no error", c)
			}
			var de *driver.Error
			if !errors.As(err, &de) || de.Component != c {
				t.Errorf("Apply with %s failing: error %v does not name component %s", c, err, c)
			}
			if st.Has(c) {
				t.Errorf("Apply with %s failing: state records it: %v", c, st)
			}
			if left, err := h.Driver().Delete(ctx, st); err != nil || len(left) != 0 {
				t.Fatalf("Delete of the partial state = %v, %v", left, err)
			}
			checkNoLeftovers(ctx, t, h)
		})
	}
}

func testDeleteTwice(ctx context.Context, t *testing.T, h Harness) {
	want := Handler("twice", h.Cloud())
	want.Function.SourceHash = h.Code().Hash
	st, _ := apply(ctx, t, h, want, nil)
	for i := range 2 {
		if left, err := h.Driver().Delete(ctx, st); err != nil || len(left) != 0 {
			t.Fatalf("Delete #%d = %v, %v; want nothing left", i+1, left, err)
		}
	}
	checkNoLeftovers(ctx, t, h)
}

func testLocate(ctx context.Context, t *testing.T, h Harness) {
	for _, kind := range []spec.TriggerKind{spec.Queue, spec.Topic} {
		want := Handler("loc-"+string(kind), h.Cloud())
		want.Trigger.Kind = kind
		want.Function.SourceHash = h.Code().Hash
		st, _ := apply(ctx, t, h, want, nil)
		got, err := h.Driver().Locate(ctx, want.Name)
		if err != nil {
			t.Fatalf("%s: Locate: %v", kind, err)
		}
		for _, c := range h.Cloud().Order() {
			if got.Get(c) != st.Get(c) {
				t.Errorf("%s: Locate: %s = %q, want %q", kind, c, got.Get(c), st.Get(c))
			}
		}
		checkObserved(t, read(ctx, t, h, got), want)
		if _, err := h.Driver().Delete(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	// What an apply killed before the function leaves: Locate finds it, and applying that converges.
	want := Handler("loc-killed", h.Cloud())
	want.Function.SourceHash = h.Code().Hash
	h.FailCreate(driver.Function)
	partial, _, err := h.Driver().Apply(ctx, want, h.Code(), nil)
	if err == nil || partial.Has(driver.Function) || !partial.Has(driver.Identity) {
		t.Fatalf("Apply with the function failing = %v, %v; want an error and a state without it", partial, err)
	}
	got, err := h.Driver().Locate(ctx, want.Name)
	if err != nil {
		t.Fatalf("Locate of a handler without its function: %v", err)
	}
	for _, c := range h.Cloud().Order() {
		if got.Get(c) != partial.Get(c) {
			t.Errorf("Locate of a handler without its function: %s = %q, want %q", c, got.Get(c), partial.Get(c))
		}
	}
	st, _ := apply(ctx, t, h, want, got)
	checkObserved(t, read(ctx, t, h, st), want)
	if _, err := h.Driver().Delete(ctx, st); err != nil {
		t.Fatal(err)
	}

	if _, err := h.Driver().Locate(ctx, "nobody"); driver.CodeOf(err) != driver.NotFound {
		t.Errorf("Locate of a missing handler: error %v, want code NotFound", err)
	}
	checkNoLeftovers(ctx, t, h)
}

// testLostCreateResponse: a create that took effect but whose response was lost is retried, and
// the retry takes what the first attempt made instead of failing and leaving it behind.
func testLostCreateResponse(t *testing.T, newHarness HarnessMaker, cloud *driver.Cloud) {
	for _, c := range cloud.Needs(&spec.Handler{Trigger: spec.Trigger{Kind: spec.Topic}}) {
		t.Run(string(c), func(t *testing.T) {
			withHarness(t, newHarness, func(ctx context.Context, t *testing.T, h Harness) {
				want := Handler("lost", h.Cloud())
				want.Trigger.Kind = spec.Topic
				want.Function.SourceHash = h.Code().Hash
				loser, ok := h.(ResponseLoser)
				if !ok {
					t.Fatalf("the harness lost its ResponseLoser: %T", h)
				}
				loser.LoseCreateResponse(c)
				st, _, err := h.Driver().Apply(ctx, want, h.Code(), nil)
				if err != nil {
					t.Errorf("Apply with the response to creating %s lost: %v", c, err)
				}
				for _, need := range h.Cloud().Needs(want) {
					if !st.Has(need) {
						t.Errorf("state lacks %s: %v", need, st)
					}
				}
				if left, err := h.Driver().Delete(ctx, st); err != nil || len(left) != 0 {
					t.Fatalf("Delete = %v, %v", left, err)
				}
				checkNoLeftovers(ctx, t, h)
			})
		})
	}
}

func testExistingSource(ctx context.Context, t *testing.T, h Harness) {
	for _, kind := range []spec.TriggerKind{spec.Queue, spec.Topic} {
		source, err := h.ExistingSource(ctx, kind)
		if err != nil {
			t.Fatalf("ExistingSource(%s): %v", kind, err)
		}
		want := Handler("adopt-"+string(kind), h.Cloud())
		want.Trigger.Kind = kind
		want.Trigger.Source = source
		want.Function.SourceHash = h.Code().Hash
		st, out := apply(ctx, t, h, want, nil)
		if out.TriggerSourceID != source {
			t.Errorf("%s: TriggerSourceID = %q, want the existing source %q", kind, out.TriggerSourceID, source)
		}
		if kind == spec.Topic && st.Has(driver.Topic) {
			t.Errorf("topic: state records the existing topic as a component it owns")
		}
		checkObserved(t, read(ctx, t, h, st), want)
		if _, err := h.Driver().Delete(ctx, st); err != nil {
			t.Fatal(err)
		}
		checkNoLeftovers(ctx, t, h)
	}
}
