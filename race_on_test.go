//go:build race

package multiserver_test

const raceEnabled = true
