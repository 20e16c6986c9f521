// Package lan announces and finds Scuttlebutt peers on the local network,
// in the two formats Scuttlebutt apps use:
//
//   - Legacy: a UDP datagram to port 8008 holding the multiserver address
//     itself, for example "net:192.168.1.5:8008~shs:<key>". Anyone on the
//     network can send one, so a Watcher marks it unverified and, by
//     default, accepts it only from the host it names.
//   - Signed (ssb-lan 1.2.3): a UDP datagram to port 26830 holding the
//     JSON {"address": ...} in a secretbox under the network (app) key,
//     with ssb-keys' fixed nonce, followed by the Ed25519 signature of the
//     key inside the address over JSON.stringify({address}, null, 2). The
//     box only hides the address from other networks; the signature proves
//     who announced. spec.md has both byte for byte.
//
// An Announcer sends a listener's local-network address (ListenerAddress:
// never a unix socket, serial line, noauth or loopback stack) every 2 s to
// the broadcast address of every private IPv4 subnet and to ff02::1 on
// every IPv6 link. A Watcher reads both ports, checks each datagram
// (signature, scope of the address, source, size, rate per source) and
// reports each peer once.
//
// Datagrams are at most MaxDatagramSize bytes; longer addresses are
// refused when announcing and dropped when watching (go-ssb drops
// anything over 128 bytes; ssb-lan has no bound).
package lan
