'use strict'
// Writes the known-answer vectors of package lan (lan/testdata/vectors.json)
// from the JavaScript code itself: the datagrams are the bytes ssb-lan
// 1.2.3's writeNormal and writeLegacy hand to their sockets, and the
// intermediate values come from ssb-keys 8.5.0 (secretBox, signObj).
//
//   cd interop/lan && npm ci && node vectors.js > ../../lan/testdata/vectors.json

const crypto = require('crypto')
const ssbKeys = require('ssb-keys')
const { keysFromSeed, loadLAN, newLAN } = require('./common')

const LAN = loadLAN()
const KEY = 'lan-vector'

const appKeys = {
  main: Buffer.from('1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=', 'base64'),
  test: crypto.createHash('sha256').update('TEST').digest(),
}

// Addresses whose JSON forms exercise JSON.stringify: characters Go's
// encoding/json escapes and JavaScript does not (<, >, &, U+2028, U+2029),
// characters both escape (", \), non-ASCII text and a multi-alternative
// address.
const keys = keysFromSeed(KEY)
const pub = keys.public.replace(/\.ed25519$/, '')
const addresses = [
  'net:192.168.1.5:8008~shs:' + pub,
  'net:10.0.0.7:8008~shs:' + pub + ';ws://10.0.0.7:8989~shs:' + pub,
  'net:fd00::5:8008~shs:' + pub,
  'ws://192.168.1.5:8989/a?b=<c>&d=\'e\'~shs:' + pub,
  'ws://192.168.1.5:8989/q"uo\\te/\u2028\u2029/\u00e9\u4e2d\ud83d\ude00~shs:' + pub,
]

const vectors = []
for (const [appName, appKey] of Object.entries(appKeys)) {
  for (const address of addresses) {
    const lan = newLAN(LAN, keys, address, appKey, true)
    let normal, legacy
    lan.normalBroadcast = { write(b) { normal = b } }
    lan.legacyBroadcast = { write(b) { legacy = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8') } }
    lan.writeNormal()
    lan.writeLegacy()
    const box = ssbKeys.secretBox({ address }, appKey)
    const signed = ssbKeys.signObj(keys, { address })
    const sig = Buffer.from(signed.signature.replace(/\.sig\.ed25519$/, ''), 'base64')
    if (!Buffer.concat([box, sig]).equals(normal)) throw new Error('ssb-lan datagram differs from secretBox || sig')
    vectors.push({
      seed: KEY,
      app_key: appName,
      address,
      box_plaintext: JSON.stringify({ address }),
      signed_json: JSON.stringify({ address }, null, 2),
      box: box.toString('hex'),
      sig: sig.toString('hex'),
      datagram: normal.toString('hex'),
      legacy: legacy.toString('hex'),
    })
  }
}
process.stdout.write(JSON.stringify({
  generator: 'interop/lan/vectors.js with ssb-lan ' + require('ssb-lan/package.json').version +
    ', ssb-keys ' + require('ssb-keys/package.json').version + ', node ' + process.version,
  app_keys: Object.fromEntries(Object.entries(appKeys).map(([k, v]) => [k, v.toString('base64')])),
  vectors,
}, null, 2) + '\n')
