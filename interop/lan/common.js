'use strict'
// Helpers shared by vectors.js and peer.js.

const crypto = require('crypto')
const path = require('path')

// keysFromSeed returns the ssb-keys key pair whose 32-byte ed25519 seed is
// sha256(name). Go: ed25519.NewKeyFromSeed(sha256.Sum256([]byte(name))).
function keysFromSeed(name) {
  const ssbKeys = require('ssb-keys')
  const seed = crypto.createHash('sha256').update(name, 'utf8').digest()
  return ssbKeys.generate('ed25519', seed)
}

// loadLAN returns the ssb-lan plugin class, unmodified, with its two
// broadcast ports (26830 and the legacy 8008, constants in its source)
// mapped to the given ports: the plugin opens its sockets through
// dgram-broadcast, which is wrapped here before ssb-lan is loaded, so that
// tests can run on free ports next to other tests.
function loadLAN(ports) {
  const lanDir = path.dirname(require.resolve('ssb-lan/package.json'))
  const bpath = require.resolve('dgram-broadcast', { paths: [lanDir] })
  const real = require(bpath)
  require.cache[bpath].exports = function (port, loopback, destinations) {
    const p = ports && ports[port] !== undefined ? ports[port] : port
    return real(p, loopback, destinations)
  }
  return require('ssb-lan')
}

// newLAN makes the plugin the way secret-stack does (new LAN(ssb, config))
// with a minimal ssb: its id and keys, getAddress answering address for the
// private and local scopes (as secret-stack does for a listener in those
// scopes), and a close hook.
function newLAN(LAN, keys, address, appKey, legacy) {
  const ssb = {
    id: keys.id,
    keys,
    getAddress(scope) {
      return scope === 'private' || scope === 'local' ? address : undefined
    },
    close: { hook() {} },
  }
  return new LAN(ssb, { caps: { shs: appKey.toString('base64') }, lan: { legacy } })
}

// parseArgs turns ["--a", "x", "--b", "y"] into {a: "x", b: "y"}.
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

module.exports = { keysFromSeed, loadLAN, newLAN, parseArgs }
