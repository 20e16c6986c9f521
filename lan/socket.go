package lan

import (
	"context"
	"net"
)

// listenUDP opens a UDP socket that shares its port with other sockets
// (SO_REUSEADDR and SO_REUSEPORT where they exist: ssb-lan binds its ports
// with SO_REUSEADDR, and several watchers may run on one machine) and may
// send to broadcast addresses (SO_BROADCAST).
func listenUDP(ctx context.Context, network, address string) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: control}
	return lc.ListenPacket(ctx, network, address)
}
