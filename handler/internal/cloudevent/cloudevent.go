// Package cloudevent maps CloudEvents attributes to handler.Event, in binary
// mode (transport attributes) and structured mode (a JSON body), for every
// transport adapter (awssqs, pubsubpush): one set of identity rules.
package cloudevent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/handler"
)

// Binary reads CloudEvents binary-mode attributes (ce-<name>, or
// ce_<name> where a transport forbids hyphens; any case) into ev: its
// identity when both ce-id and ce-source are set, reporting true; Malformed
// when ce-specversion is set without them. The other attributes go to
// ev.Attributes, and so do the ce- ones of a message that is no CloudEvent.
func Binary(ev *handler.Event, attrs map[string]string) bool {
	ce := map[string]string{}
	for name, v := range attrs {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "ce-") || strings.HasPrefix(lower, "ce_") {
			ce[lower[3:]] = v
		} else {
			ev.Attributes[name] = v
		}
	}
	if ce["specversion"] != "" && (ce["id"] == "" || ce["source"] == "") {
		ev.Malformed = fmt.Errorf("binary-mode CloudEvent (ce-specversion %q) without ce-source or ce-id", ce["specversion"])
		return false
	}
	if ce["id"] == "" || ce["source"] == "" {
		for k, v := range ce {
			ev.Attributes["ce-"+k] = v
		}
		return false
	}
	ev.Source, ev.ID, ev.Type, ev.Subject, ev.Sequence = ce["source"], ce["id"], ce["type"], ce["subject"], ce["sequence"]
	return true
}

// Structured reads a CloudEvents JSON body (structured mode) in ev.Data:
// its identity, attributes and data, reporting true; Malformed when a body
// with specversion lacks source or id, or carries data_base64 that is not
// base64 or with data. A body without specversion is no CloudEvent.
func Structured(ev *handler.Event) bool {
	body := ev.Data
	if len(body) == 0 || body[0] != '{' {
		return false
	}
	var ce struct {
		SpecVersion string          `json:"specversion"`
		ID          string          `json:"id"`
		Source      string          `json:"source"`
		Type        string          `json:"type"`
		Subject     string          `json:"subject"`
		Sequence    json.RawMessage `json:"sequence"`
		Data        json.RawMessage `json:"data"`
		DataBase64  string          `json:"data_base64"`
	}
	if json.Unmarshal(body, &ce) != nil || ce.SpecVersion == "" {
		return false
	}
	if ce.ID == "" || ce.Source == "" {
		ev.Malformed = errors.New("structured CloudEvent without source or id (both are required)")
		return false
	}
	ev.Source, ev.ID, ev.Type, ev.Subject = ce.Source, ce.ID, ce.Type, ce.Subject
	// The sequence is a string attribute; tolerate producers that send a number.
	var seq string
	if json.Unmarshal(ce.Sequence, &seq) != nil {
		seq = string(ce.Sequence)
	}
	ev.Sequence = seq
	switch {
	case ce.DataBase64 != "" && len(ce.Data) > 0:
		ev.Malformed = errors.New("structured CloudEvent with both data and data_base64")
	case ce.DataBase64 != "":
		b, err := base64.StdEncoding.DecodeString(ce.DataBase64)
		if err != nil {
			ev.Malformed = fmt.Errorf("structured CloudEvent: data_base64 is not base64: %w", err)
		}
		ev.Data = b
	default:
		ev.Data = []byte(ce.Data)
	}
	return true
}
