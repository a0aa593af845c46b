package handler

import (
	"encoding/json"
	"io"
	"sync"
)

// OutcomeLine is one line of the outcome log: what happened to one
// delivery, as JSON on a line of its own. Local runners (threefactor run)
// read it from the function's standard error to count duplicates and stale
// events, which a batch response cannot tell; on a cloud it lands in the
// function's logs, where a metric filter can count it too.
type OutcomeLine struct {
	// Threefactor is always "outcome": it tells these lines from the
	// handler's own logs.
	Threefactor string `json:"threefactor"`
	Handler     string `json:"handler,omitempty"`
	// Source and ID are the event's identity; MessageID the platform's id
	// of this delivery.
	Source    string `json:"source"`
	ID        string `json:"id"`
	MessageID string `json:"message_id,omitempty"`
	// Outcome is Outcome.String(): applied, duplicate, stale, failed, ...
	Outcome string `json:"outcome"`
	// Acknowledged reports whether the delivery is done (not redelivered).
	Acknowledged bool   `json:"acknowledged"`
	ReceiveCount int    `json:"receive_count,omitempty"`
	Error        string `json:"error,omitempty"`
}

// OutcomeMarker is the value of OutcomeLine.Threefactor.
const OutcomeMarker = "outcome"

// outcomeLog writes OutcomeLines, one Write per line so that concurrent
// deliveries never interleave.
type outcomeLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *outcomeLog) write(handler string, r Result) {
	if l == nil || l.w == nil {
		return
	}
	line := OutcomeLine{
		Threefactor: OutcomeMarker, Handler: handler, Source: r.Event.Source, ID: r.Event.ID,
		MessageID: r.Event.MessageID, Outcome: r.Outcome.String(), Acknowledged: r.Outcome.Acknowledged(),
		ReceiveCount: r.Event.ReceiveCount,
	}
	if r.Err != nil {
		line.Error = r.Err.Error()
	}
	b, err := json.Marshal(line)
	if err != nil {
		return // only strings and numbers: cannot fail
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(append(b, '\n')) // a log that cannot be written must not fail the event
}
