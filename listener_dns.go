package multiserver

import "github.com/go-multiserver/multiserver/dnsaddr"

// DNSRecordTTL is the time to live, in seconds, of the records
// Listener.DNSRecord writes.
const DNSRecordTTL = 300

// DNSRecord returns the zone-file line of the TXT record that publishes
// the listener's address in scope at name, so that dns:name dials it:
//
//	_multiserver.example.com. 300 IN TXT "net:example.com:8008~shs:<key>;ws://example.com:8989~shs:<key>"
//
// The address is one record, so its alternatives keep their order, split
// into strings of at most 255 bytes. See package dnsaddr. The error wraps
// dnsaddr.ErrName for a bad name and dnsaddr.ErrRecord if no stack is
// advertised in scope.
func (l *Listener) DNSRecord(name string, scope Scope) (string, error) {
	return dnsaddr.ZoneLine(name, DNSRecordTTL, l.Address(scope))
}
