//go:build !unix

package multiserver_test

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
