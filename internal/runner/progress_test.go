package runner

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func TestProgressJSONLines(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, io.Discard, false)
	p.add("orders", "running", "")
	p.update("orders", func(s *Stats) { s.Received, s.Duplicates = 3, 1 })
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var last Stats
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &last) != nil || last.Received != 3 || last.Duplicates != 1 || last.Handler != "orders" {
		t.Errorf("JSON lines:\n%s\nwant 2, the last with 3 received and 1 duplicate", out.String())
	}
}

func TestProgressTable(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, &out, true)
	p.add("orders", "running", "")
	p.add("payments", "not run", "java21 needs Java 21")
	p.draw(false)
	first := out.String()
	if !strings.Contains(first, "dead-lettered") || !strings.Contains(first, "not run: java21 needs Java 21") || strings.Contains(first, "\x1b[") {
		t.Errorf("first table:\n%s", first)
	}
	p.draw(false) // unchanged: nothing written
	if out.Len() != len(first) {
		t.Errorf("an unchanged table was redrawn")
	}
	p.update("orders", func(s *Stats) { s.Received = 7 })
	p.draw(false)
	redraw := strings.TrimPrefix(out.String(), first)
	if !strings.HasPrefix(redraw, "\x1b[3A\x1b[J") || !strings.Contains(redraw, " 7 ") {
		t.Errorf("redraw %q: want the cursor moved up over the 3 lines, then the new counts", redraw)
	}
	// A log line goes above the table, which is drawn again below it.
	before := out.Len()
	p.log("orders", "hello")
	p.draw(false)
	after := out.String()[before:]
	if !strings.HasPrefix(after, "\x1b[3A\x1b[J[orders] hello\n") || !strings.HasSuffix(after, p.table()) {
		t.Errorf("log and redraw %q: want the table cleared, the line, then the table", after)
	}
}
