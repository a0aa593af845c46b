package driver

import (
	"slices"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

func TestNeeds(t *testing.T) {
	base := []Component{Identity, Logs, DeadLetter, DedupTable, Queue, Function, Mapping}
	for _, tc := range []struct {
		kind   spec.TriggerKind
		source string
		want   []Component
	}{
		{spec.Queue, "", base},
		{spec.Queue, "arn:aws:sqs:us-east-1:123456789012:orders", base},
		{spec.Topic, "", []Component{Identity, Logs, DeadLetter, DedupTable, Topic, Queue, Subscription, Function, Mapping}},
		{spec.Topic, "arn:aws:sns:us-east-1:123456789012:orders", []Component{Identity, Logs, DeadLetter, DedupTable, Queue, Subscription, Function, Mapping}},
	} {
		h := &spec.Handler{Trigger: spec.Trigger{Kind: tc.kind, Source: tc.source}}
		if got := Needs(h); !slices.Equal(got, tc.want) {
			t.Errorf("Needs(kind %s, source %q) = %v, want %v", tc.kind, tc.source, got, tc.want)
		}
	}
}
