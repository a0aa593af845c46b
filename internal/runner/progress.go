package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"
)

// Stats are one handler's counts since the run started. Received counts deliveries (a
// redelivered message again); Succeeded and Failed are deliveries acknowledged (deleted) and
// failed (left to become visible again); Applied, Duplicates and Stale come from the handler
// library's outcome log (handler.OutcomeLine), so they stay 0 for code that does not write it;
// DeadLettered is the growth of the dead-letter queue.
type Stats struct {
	Handler      string `json:"handler"`
	Received     int64  `json:"received"`
	Succeeded    int64  `json:"succeeded"`
	Failed       int64  `json:"failed"`
	DeadLettered int64  `json:"dead_lettered"`
	Applied      int64  `json:"applied"`
	Duplicates   int64  `json:"duplicates"`
	Stale        int64  `json:"stale"`
	// State is running, not run (with the reason in Note), drained or stopped.
	State string `json:"state"`
	Note  string `json:"note,omitempty"`
}

// progress keeps every handler's Stats and shows them: a table redrawn in place on a terminal,
// JSON lines (one per change of a handler's counts) otherwise.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	logW    io.Writer
	tty     bool
	order   []string
	stats   map[string]*Stats
	drawn   int // lines of the last table
	changed bool
}

func newProgress(w, log io.Writer, tty bool) *progress {
	return &progress{w: w, logW: log, tty: tty, stats: map[string]*Stats{}}
}

// log writes a line of the runner's or a handler's output. On a terminal it goes above the table:
// the table is cleared, the line written, and the table drawn again below it.
func (p *progress) log(name, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn > 0 {
		_, _ = fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
		p.changed = true
	}
	_, _ = fmt.Fprintf(p.logW, "[%s] %s\n", name, line)
}

func (p *progress) add(name, state, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.order = append(p.order, name)
	p.stats[name] = &Stats{Handler: name, State: state, Note: note}
	p.emit(name)
}

// update changes name's counts with f and shows them.
func (p *progress) update(name string, f func(*Stats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p.stats[name])
	p.emit(name)
}

// emit writes a JSON line, or marks the table for the next redraw. Called with mu held.
func (p *progress) emit(name string) {
	if p.tty {
		p.changed = true
		return
	}
	b, _ := json.Marshal(p.stats[name])
	_, _ = fmt.Fprintf(p.w, "%s\n", b)
}

// draw redraws the table when it changed (or when forced).
func (p *progress) draw(force bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty || (!p.changed && !force) {
		return
	}
	p.changed = false
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.drawn) // up and clear: redraw in place
	}
	t := p.table()
	b.WriteString(t)
	p.drawn = strings.Count(t, "\n")
	_, _ = io.WriteString(p.w, b.String())
}

// table is the counts as aligned text, with a header.
func (p *progress) table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "handler\treceived\tsucceeded\tfailed\tdead-lettered\tapplied\tduplicates\tstale\tstate\t")
	for _, n := range p.order {
		s := p.stats[n]
		state := s.State
		if s.Note != "" {
			state += ": " + s.Note
		}
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", n, s.Received, s.Succeeded, s.Failed, s.DeadLettered, s.Applied, s.Duplicates, s.Stale, state)
	}
	_ = tw.Flush()
	return b.String()
}

// snapshot returns a copy of every handler's counts, in order.
func (p *progress) snapshot() []Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Stats, 0, len(p.order))
	for _, n := range p.order {
		out = append(out, *p.stats[n])
	}
	return out
}

// outputOf returns what takes each line a process of handler name writes: an outcome of the
// handler library is counted, anything else is shown through log.
func (p *progress) outputOf(name string, log func(string)) func(string) {
	return func(l string) {
		if strings.TrimSpace(l) == "" {
			return
		}
		if !outcomeLine.MatchString(l) {
			log(l)
			return
		}
		var o struct {
			Outcome, Source, ID, Error string
			Acknowledged               bool
		}
		if json.Unmarshal([]byte(l), &o) != nil {
			log(l)
			return
		}
		if !o.Acknowledged { // why an event failed: the one thing a user must see
			log(fmt.Sprintf("event %s %s: %s: %s", o.Source, o.ID, o.Outcome, o.Error))
		}
		p.update(name, func(s *Stats) {
			switch o.Outcome {
			case "applied":
				s.Applied++
			case "duplicate":
				s.Duplicates++
			case "stale":
				s.Stale++
			}
		})
	}
}

// outcomeLine tells the library's outcome log (handler.OutcomeLine) from other output.
var outcomeLine = regexp.MustCompile(`^\{.*"threefactor":"outcome"`)
