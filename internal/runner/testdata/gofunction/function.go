// Package gofunction is a Cloud Run function for the runner's tests: it answers each push by its
// data (ok: 204, accepted: 202, created-json: 200, fail: 500, sleep: past the timeout, exit: a
// crash), and prints its process id.
package gofunction

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
)

func init() {
	functions.HTTP("Handle", handle)
}

func handle(w http.ResponseWriter, r *http.Request) {
	var push struct {
		Message struct {
			Data []byte `json:"data"`
		} `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&push); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(os.Stderr, "pid %d\n", os.Getpid())
	switch string(push.Message.Data) {
	case "ok":
		w.WriteHeader(http.StatusNoContent)
	case "accepted":
		w.WriteHeader(http.StatusAccepted)
	case "sleep":
		time.Sleep(time.Minute)
	case "exit":
		os.Exit(3)
	default:
		http.Error(w, "failing "+string(push.Message.Data), http.StatusInternalServerError)
	}
}
