// Package procstat reads and sets what the soak tests of this module need
// from the process: its resident set size and its file descriptor limit.
package procstat
