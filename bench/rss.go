package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// hwmSampler follows the VmHWM (peak resident set) line of a running
// process's /proc/PID/status. The peak from wait4's rusage is not used on
// Linux: a child started from the bench inherits the bench's own peak at
// exec, and the bench holds the whole library.
type hwmSampler struct {
	done chan struct{}
	peak chan int64
}

// sampleHWM reads pid's VmHWM every interval until stop is called.
func sampleHWM(pid int, interval time.Duration) *hwmSampler {
	s := &hwmSampler{done: make(chan struct{}), peak: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if v, err := readHWM(pid); err == nil {
				peak = max(peak, v)
			}
			select {
			case <-s.done:
				s.peak <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the highest VmHWM seen in bytes, or 0
// when /proc could not be read (not Linux).
func (s *hwmSampler) stop() int64 {
	close(s.done)
	return <-s.peak
}

// readHWM returns the VmHWM of pid in bytes.
func readHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
