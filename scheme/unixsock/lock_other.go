//go:build !unix

package unixsock

func lockPath(string) (func(), error) { return func() {}, nil }
