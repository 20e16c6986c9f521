// Package interop tests this module against the Node.js multiserver 3.8.2
// as a live peer. It has no API: its tests start the JavaScript peers in
// js/ as subprocesses on loopback and run every cell of the interop matrix
// in both directions. See README.md for how to run them and for the
// compatibility notes.
package interop
