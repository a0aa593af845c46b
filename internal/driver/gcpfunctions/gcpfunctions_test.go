package gcpfunctions_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	run "cloud.google.com/go/run/apiv2"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions/gcptest"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

func harness(t *testing.T) *gcptest.Harness {
	t.Helper()
	h, err := gcptest.New(context.Background(), t)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func handler(name string, kind spec.TriggerKind) *spec.Handler {
	h := drivertest.Handler(name, gcpfunctions.Cloud)
	h.Trigger.Kind = kind
	h.Function.SourceHash = gcptest.Code.Hash
	return h
}

func apply(t *testing.T, h *gcptest.Harness, want *spec.Handler, st driver.State) driver.State {
	t.Helper()
	st, _, err := h.D.Apply(context.Background(), want, gcptest.Code, st)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return st
}

// calls is every call the fakes and the Pub/Sub emulator saw since the last reset (the proxy sends
// IAM calls on to the fakes, which count them).
func calls(h *gcptest.Harness) map[string]int {
	all := maps.Clone(h.Fake.Calls())
	for m, n := range h.Proxy.Calls() {
		if !strings.HasPrefix(m, "/google.iam.v1.IAMPolicy/") {
			all[m] += n
		}
	}
	return all
}

func resetCalls(h *gcptest.Harness) { h.Fake.ResetCalls(); h.Proxy.ResetCalls() }

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestCallBudget: a refresh reads each component once, plus the IAM policy that holds its grants
// (12 calls for either kind); an apply with no change makes the same reads and no write.
func TestCallBudget(t *testing.T) {
	h := harness(t)
	for _, kind := range []spec.TriggerKind{spec.Queue, spec.Topic} {
		resetCalls(h)
		st := apply(t, h, handler("budget-"+string(kind), kind), nil)
		created := calls(h)
		resetCalls(h)
		if _, err := h.D.Read(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		read := calls(h)
		resetCalls(h)
		apply(t, h, handler("budget-"+string(kind), kind), st)
		noop := calls(h)
		t.Logf("%s handler: create %d calls %v; refresh %d calls %v", kind, total(created), created, total(read), read)
		if total(read) != 12 {
			t.Errorf("%s: refresh made %d calls, want 12: %v", kind, total(read), read)
		}
		if !maps.Equal(noop, read) {
			t.Errorf("%s: Apply of an unchanged handler made %v, want only the refresh's reads %v", kind, noop, read)
		}
	}
}

// TestDriftDetected: what the handler's settings cannot show (a grant, the wiring of the push
// subscription, TTL) is read back, reported as drift of its component, and put right by Apply.
func TestDriftDetected(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	want := handler("drifty", spec.Queue)
	st := apply(t, h, want, nil)
	runc, err := run.NewServicesClient(ctx, h.Fake.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = runc.Close() }()
	fn := h.Fake.Functions()[0]
	for _, tc := range []struct {
		c     driver.Component
		drift func() error
	}{
		{driver.Function, func() error { // the account may no longer invoke the function
			_, err := runc.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: fn.GetServiceConfig().GetService(), Policy: &iampb.Policy{}})
			return err
		}},
		{driver.DeadLetter, func() error { // the service agent may no longer dead-letter
			h.Fake.DropPolicy(st.Get(driver.DeadLetter))
			return nil
		}},
		{driver.Subscription, func() error { // pushes go elsewhere
			return h.Subs.ModifyPushConfig(ctx, &pubsubpb.ModifyPushConfigRequest{Subscription: st.Get(driver.Subscription),
				PushConfig: &pubsubpb.PushConfig{PushEndpoint: "http://127.0.0.1:9/elsewhere"}})
		}},
		{gcpfunctions.DeadLetterSubscription, func() error { // it reads another topic's dead letters... or expires
			_, err := h.Subs.UpdateSubscription(ctx, &pubsubpb.UpdateSubscriptionRequest{
				Subscription: &pubsubpb.Subscription{Name: st.Get(gcpfunctions.DeadLetterSubscription), AckDeadlineSeconds: 30},
				UpdateMask:   &fieldmaskpb.FieldMask{Paths: []string{"ack_deadline_seconds"}},
			})
			return err
		}},
	} {
		t.Run(string(tc.c), func(t *testing.T) {
			if err := tc.drift(); err != nil {
				t.Fatal(err)
			}
			obs, err := h.D.Read(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if tc.c == gcpfunctions.DeadLetterSubscription {
				// An ack deadline is not the handler's: a change of it is no drift.
				if slices.Contains(obs.Drifted, tc.c) {
					t.Errorf("Drifted = %v after a change the handler does not own", obs.Drifted)
				}
				return
			}
			if !slices.Contains(obs.Drifted, tc.c) {
				t.Fatalf("Drifted = %v, want %s", obs.Drifted, tc.c)
			}
			st = apply(t, h, want, st)
			if obs, err = h.D.Read(ctx, st); err != nil || len(obs.Drifted) != 0 {
				t.Errorf("after Apply: Drifted = %v, %v; want none", obs.Drifted, err)
			}
		})
	}
	if left, err := h.D.Delete(ctx, st); err != nil || len(left) != 0 {
		t.Fatalf("Delete = %v, %v", left, err)
	}
}

// TestCheck: an existing source that does not exist is refused at plan.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	h := harness(t)
	want := handler("checked", spec.Topic)
	want.Trigger.Source = "projects/" + h.Project + "/topics/nowhere"
	if ps := h.D.Check(ctx, want); len(ps) != 1 || ps[0].Warning || ps[0].Path[1] != "source" {
		t.Errorf("Check of a missing source = %v, want one error on trigger.source", ps)
	}
	src, err := h.ExistingSource(ctx, spec.Topic)
	if err != nil {
		t.Fatal(err)
	}
	want.Trigger.Source = src
	if ps := h.D.Check(ctx, want); len(ps) != 0 {
		t.Errorf("Check of an existing source = %v, want none", ps)
	}
}
