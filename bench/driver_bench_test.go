// Package bench measures the AWS driver against moto: wall time and API calls per create and per
// refresh of one handler. Run with `go test -run '^$' -bench . ./bench/` (see BENCHMARKS.md).
package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/pack"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

func setup(b *testing.B) (*moto.Server, *awslambda.Driver, *driver.Code) {
	b.Helper()
	srv := moto.Require(b)
	drv, err := awslambda.New(context.Background(), awslambda.Config{Region: "us-east-1", Endpoint: srv.URL, Credentials: moto.Credentials})
	if err != nil {
		b.Fatal(err)
	}
	pkg, err := pack.Dir("../examples/quickstart/src")
	if err != nil {
		b.Fatal(err)
	}
	return srv, drv, &driver.Code{Zip: pkg.Zip, Hash: pkg.Hash}
}

func total(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}

// BenchmarkCreate applies and deletes one handler per iteration; calls/op counts the create only.
func BenchmarkCreate(b *testing.B) {
	for _, kind := range []spec.TriggerKind{spec.Queue, spec.Topic} {
		b.Run(string(kind), func(b *testing.B) {
			srv, drv, code := setup(b)
			ctx := context.Background()
			calls := 0
			for i := range b.N {
				h := drivertest.Handler(fmt.Sprintf("bench-%d", i), awslambda.Cloud)
				h.Trigger.Kind = kind
				srv.ResetCalls()
				st, _, err := drv.Apply(ctx, h, code, nil)
				if err != nil {
					b.Fatal(err)
				}
				calls += total(srv.Calls())
				b.StopTimer()
				if _, err := drv.Delete(ctx, st); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
		})
	}
}

// BenchmarkRefresh reads one handler per iteration: the cost of `tofu plan`'s refresh.
func BenchmarkRefresh(b *testing.B) {
	for _, kind := range []spec.TriggerKind{spec.Queue, spec.Topic} {
		b.Run(string(kind), func(b *testing.B) {
			srv, drv, code := setup(b)
			ctx := context.Background()
			h := drivertest.Handler("refresh", awslambda.Cloud)
			h.Trigger.Kind = kind
			st, _, err := drv.Apply(ctx, h, code, nil)
			if err != nil {
				b.Fatal(err)
			}
			srv.ResetCalls()
			b.ResetTimer()
			for range b.N {
				if _, err := drv.Read(ctx, st); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(total(srv.Calls()))/float64(b.N), "calls/op")
		})
	}
}
