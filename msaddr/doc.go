// Package msaddr parses and formats multiserver addresses.
//
// A multiserver address lists ways to reach one peer. Alternatives are
// separated by ';', each alternative is a stack of sections separated by
// '~' (a transport followed by transforms), and each section is a name
// followed by ':'-separated arguments:
//
//	net:example.com:8008~shs:<base64 key>;ws://example.com:8989~shs:<base64 key>
//
// The character '!' escapes the next '!', '~', ':' or ';' so that any of
// them can appear inside an argument. Format escapes only where needed, so
// Parse and String are exact inverses: String(Parse(s)) == s for every s
// that Parse accepts and that uses no redundant escapes, and
// Parse(m.String()) equals m for every valid m.
//
// The grammar is that of the JavaScript multiserver 3.8.2 as it behaves in
// practice, made strict where the JavaScript is silently lossy:
//
//   - Section names are a lowercase ASCII letter followed by lowercase
//     letters, digits and '-'.
//   - Empty alternatives (";;", a trailing ';') and empty sections ("~~")
//     are errors, as are control characters, invalid UTF-8, a '!' before
//     any character other than '!', '~', ':' and ';', and a trailing '!'.
//   - Arguments may be empty, so "net:::1:8008" is the section net with the
//     arguments "", "", "1" and "8008": transports that take a host and a
//     port (net, onion) join all but the last argument back into the host,
//     which is how JavaScript peers write IPv6 hosts without brackets.
//   - A URL section such as "ws://host:8080/path?q" needs no escaping
//     except for '!', '~' and ';': it parses as the name "ws" with the
//     arguments "//host" and "8080/path?q", and the ws transport joins them
//     back into the URL.
//
// Parsing never does network I/O and never resolves names.
package msaddr
