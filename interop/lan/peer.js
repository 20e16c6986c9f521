'use strict'
// A Scuttlebutt LAN peer for the Go interop tests: the unmodified ssb-lan
// 1.2.3 plugin (with a minimal ssb in place of secret-stack) announcing a
// multiserver 3.8.2 net+shs echo server, and dialling every address it
// discovers.
//
//   node peer.js --seed NAME --appkey BASE64 --port P --legacy-port L
//   node peer.js --seed NAME --appkey BASE64 --native HOST
//
// ssb-lan's sockets are its own (dgram-broadcast on the two ports). On
// loopback (the first form) they are mapped from 26830 and 8008 to P and L
// by common.js loadLAN, and the broadcast destination is 127.255.255.255
// instead of the host's first private subnet. With --native nothing is
// changed: the plugin's own ports and destination, and the echo server on
// HOST, for a run inside a network namespace whose only private address is
// HOST.
//
// stdout, one JSON object per line:
//   {"ev":"address","address":A}   first: the address it announces
//   {"ev":"found","address":A,"verified":bool,"format":F}
//                                  each discovery ssb-lan reports, F the
//                                  reader that made it: "ssb-lan", "legacy"
//   {"ev":"echo","address":A,"ok":bool,"error":MSG}
//                                  the shs echo with a discovered address
//                                  (once per address)
// The process exits when its stdin closes.

const net = require('net')
const pull = require('pull-stream')
const MultiServer = require('multiserver')
const Net = require('multiserver/plugins/net')
const Shs = require('multiserver/plugins/shs')
const { keysFromSeed, loadLAN, newLAN, parseArgs } = require('./common')

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function fail(msg) {
  process.stderr.write('peer: ' + msg + '\n')
  process.exit(2)
}

function oneLine(err) {
  const msg = err && err.message ? err.message : String(err)
  return msg.replace(/\s+/g, ' ').trim()
}

const args = parseArgs(process.argv.slice(2))
const native = args.native
if (!args.seed || !args.appkey || (!native && (!args.port || !args['legacy-port']))) fail('usage: peer.js --seed NAME --appkey B64 (--port P --legacy-port L | --native HOST)')
const host = native || '127.0.0.1'
const keys = keysFromSeed(args.seed)
const appKey = Buffer.from(args.appkey, 'base64')
if (appKey.length !== 32) fail('app key must be 32 bytes of base64')
const shsKeys = {
  publicKey: Buffer.from(keys.public.replace(/\.ed25519$/, ''), 'base64'),
  secretKey: Buffer.from(keys.private.replace(/\.ed25519$/, ''), 'base64'),
}
const LAN = native ? loadLAN() : loadLAN({ 26830: Number(args.port), 8008: Number(args['legacy-port']) })

// A port the kernel just handed out: multiserver's net plugin picks a
// random one itself otherwise, which can collide.
const probe = net.createServer()
probe.listen(0, host, () => {
  const port = probe.address().port
  probe.close(() => serve(port))
})

function serve(port) {
  const shs = Shs({ keys: shsKeys, appKey, auth: (pub, cb) => cb(null, true) })
  const ms = MultiServer([[Net({ host, port, scope: ['device', 'local', 'private'] }), shs]])
  ms.server(
    (stream) => pull(stream.source, stream.sink),
    (err) => process.stderr.write('peer: server: ' + oneLine(err) + '\n'),
    (err) => {
      if (err) fail('listen: ' + oneLine(err))
      const address = ms.stringify('private')
      emit({ ev: 'address', address })
      announce(ms, address)
    }
  )
}

function announce(ms, address) {
  const lan = newLAN(LAN, keys, address, appKey, true)
  if (!native) lan.getBroadcastIPs = () => ['127.255.255.255']
  // ssb-lan reports {address, verified} alone; note which of its readers
  // (readNormal: port 26830, readLegacy: port 8008) made each report, so
  // that the test tells a legacy find from a signed one that failed.
  const notify = lan.notifyDiscovery
  let format = null
  lan.notifyDiscovery = Object.assign((d) => notify(Object.assign({}, d, { format })), { listen: notify.listen, end: notify.end, abort: notify.abort })
  for (const [reader, name] of [['readNormal', 'ssb-lan'], ['readLegacy', 'legacy']]) {
    const read = lan[reader]
    lan[reader] = (buf) => {
      format = name
      try {
        read(buf)
      } finally {
        format = null
      }
    }
  }
  lan.start()
  const dialled = {}
  const read = lan.discoveredPeers()
  read(null, function next(end, peer) {
    if (end) return
    emit({ ev: 'found', address: peer.address, verified: peer.verified, format: peer.format })
    if (!dialled[peer.address]) {
      dialled[peer.address] = true
      echo(ms, peer.address)
    }
    read(null, next)
  })
}

// echo dials address over shs, sends a message and checks it comes back.
function echo(ms, address) {
  const msg = Buffer.from('hello from ssb-lan')
  ms.client(address, (err, stream) => {
    if (err) return emit({ ev: 'echo', address, ok: false, error: oneLine(err) })
    pull(
      pull.values([msg]),
      stream,
      pull.collect((err, bufs) => {
        const got = Buffer.concat(bufs || [])
        emit({ ev: 'echo', address, ok: !err && got.equals(msg), error: err ? oneLine(err) : undefined })
      })
    )
  })
}

process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
