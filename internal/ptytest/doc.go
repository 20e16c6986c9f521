// Package ptytest opens pseudo-terminals for tests that need a serial
// line without hardware (serialport, cmd/ms). Linux only; on other
// systems the package is empty.
package ptytest
