//go:build !unix

package emulator

import (
	"os"
	"os/exec"
)

// setAttrs: no process groups nor Pdeathsig here.
func setAttrs(*exec.Cmd, bool, bool) {}

// killGroup kills the command alone.
func killGroup(p *os.Process) { _ = p.Kill() }
