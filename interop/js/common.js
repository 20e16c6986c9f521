'use strict'
// Helpers shared by server.js and client.js. The Go tests compute the same
// keys and the same byte pattern (see interop/peers_test.go).

const crypto = require('crypto')

// keysFromSeed returns the chloride-style ed25519 key pair whose 32-byte seed
// is sha256(seed). Go: ed25519.NewKeyFromSeed(sha256.Sum256([]byte(seed))).
function keysFromSeed(seed) {
  const sodium = require('chloride')
  const s = crypto.createHash('sha256').update(seed, 'utf8').digest()
  return sodium.crypto_sign_seed_keypair(s)
}

// appKeyArg decodes a base64 app key and insists on 32 bytes: multiserver
// itself does not check, and a wrong length crashes at the first handshake.
function appKeyArg(b64) {
  const k = Buffer.from(b64, 'base64')
  if (k.length !== 32) throw new Error('app key must be 32 bytes of base64')
  return k
}

// pattern returns n bytes of the test payload from offset on: byte i is
// i % 251 (Go: pattern in harness_test.go).
function pattern(offset, n) {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (offset + i) % 251
  return b
}

// parseArgs turns ["--a", "x", "--b", "y"] into {a: "x", b: "y"}; positional
// arguments go to _.
function parseArgs(argv) {
  const out = { _: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a.startsWith('--')) {
      if (i + 1 >= argv.length) throw new Error('missing value for ' + a)
      out[a.slice(2)] = argv[++i]
    } else out._.push(a)
  }
  return out
}

// oneLine makes an error message fit on one line.
function oneLine(err) {
  const msg = err && err.message ? err.message : String(err)
  return msg.replace(/\s+/g, ' ').trim()
}

module.exports = { keysFromSeed, appKeyArg, pattern, parseArgs, oneLine }
