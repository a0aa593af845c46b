package handler

import (
	"context"
	"errors"
)

// ProcessBatch handles a batch in order, one message at a time, and returns
// one Result per event, in the batch's order. A failure affects only its own
// message, so that a poison message reaches the dead-letter queue without
// replaying the rest of its batch. In an ordered batch (any event with a
// Group, as from an SQS FIFO queue) the messages after a failure are not
// processed and fail too, as Lambda requires to keep the order.
func (p *Processor) ProcessBatch(ctx context.Context, evs []Event, fn Func) []Result {
	results := make([]Result, len(evs))
	stopped := false
	for i, ev := range evs {
		if stopped || ctx.Err() != nil {
			results[i] = Result{Event: ev, Outcome: NotProcessed, Err: errors.New("not processed: an earlier message of the ordered batch failed or the invocation ended")}
			p.outcomes.write(p.opts.Handler, results[i])
			continue
		}
		results[i] = p.Process(ctx, ev, fn)
		if !results[i].Outcome.Acknowledged() && ev.Group != "" {
			stopped = true
		}
	}
	return results
}

// Failures returns the results that must be reported as failures (and so be
// redelivered), in order.
func Failures(results []Result) []Result {
	var out []Result
	for _, r := range results {
		if !r.Outcome.Acknowledged() {
			out = append(out, r)
		}
	}
	return out
}
