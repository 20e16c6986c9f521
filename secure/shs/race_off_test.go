//go:build !race

package shs_test

const raceEnabled = false
